// The live page: every column of the whale feed (feed.js), with BTC/USD/RBF filters.
(function () {
  "use strict";
  const script = document.currentScript;
  const count = document.getElementById("live-count");
  const lastIdText = document.getElementById("live-last-id");
  const form = document.getElementById("filters");
  const table = new WhaleFeed.AlertTable(
    document.querySelector("#alerts tbody"),
    ["id", "first_seen", "txid", "btc", "usd", "fee_rate", "rbf", "expected", "status"],
    500
  );

  function filters() {
    const value = (id) => document.getElementById(id).value;
    const message = { rbf_only: document.getElementById("rbf-only").checked };
    if (value("min-btc") !== "") message.min_btc = Number(value("min-btc"));
    if (value("min-usd") !== "") message.min_usd = Number(value("min-usd"));
    return message;
  }

  const feed = WhaleFeed.connect({
    path: script.dataset.url,
    recent: 25,
    filters: filters,
    status: document.getElementById("live-status"),
    onAlert(frame) {
      table.add(frame);
      lastIdText.textContent = frame.id;
      count.textContent = table.size;
    },
    onUpdate(frame) {
      table.update(frame);
    },
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    table.clear();
    count.textContent = 0;
    feed.resubscribe();
  });
})();
