// The dashboard's whale panel: the latest alerts through the shared feed client (alerts/feed.js).
(function () {
  "use strict";
  const script = document.currentScript;
  const empty = document.getElementById("whales-empty");
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
    },
    onUpdate(frame) {
      table.update(frame);
    },
  });
})();
