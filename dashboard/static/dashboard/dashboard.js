// The dashboard's whale panel: the latest alerts through the shared feed client (alerts/feed.js).
(function () {
  "use strict";
  const script = document.currentScript;
  const empty = document.getElementById("whales-empty");
  const summary = document.getElementById("whales-24h"); // counted until the page was rendered
  const after = Number(summary.dataset.after);
  let count = Number(summary.dataset.count);
  let btc = Number(summary.dataset.btc);
  const table = new WhaleFeed.AlertTable(
    document.querySelector("#whales tbody"),
    ["time", "btc_short", "usd_short", "status_short"],
    10
  );
  WhaleFeed.connect({
    path: script.dataset.url,
    recent: 10,
    filters: () => ({}),
    status: document.getElementById("whales-status"),
    onAlert(frame) {
      table.add(frame);
      empty.hidden = true;
      if (frame.id > after) {
        count += 1;
        btc += frame.data.btc_value;
        summary.querySelector(".count").textContent = count;
        summary.querySelector(".btc").textContent = btc.toLocaleString(undefined, { maximumFractionDigits: 0 });
      }
    },
    onUpdate(frame) {
      table.update(frame);
    },
  });
})();
