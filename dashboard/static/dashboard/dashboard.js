// The dashboard's whale panel: the latest alerts through the shared feed client (alerts/feed.js),
// which also brings today's provisional price (`prices: true`) to the Today card as blocks arrive.
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
    filters: () => ({ prices: true }),
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
    onPrice(frame) {
      const card = document.getElementById("today-card");
      if (frame.type !== "price_today" || !card || frame.data.date !== card.dataset.date) return;
      const price = card.querySelector(".today-price");
      if (!price) {
        location.reload(); // the day's price is shown for the first time: render the card anew
        return;
      }
      const data = frame.data;
      const blocks = data.block_count + (data.block_count === 1 ? " block" : " blocks");
      price.textContent = Math.round(data.price).toLocaleString("en-US");
      card.querySelector(".today-blocks").textContent = blocks + " to " + data.last_block_time.slice(11, 16) + " UTC";
      const change = card.querySelector(".today-change");
      if (change && card.dataset.yesterday) {
        const percent = (data.price / Number(card.dataset.yesterday) - 1) * 100;
        change.textContent = (percent > 0 ? "+" : "") + percent.toFixed(2) + " %";
      }
    },
  });
})();
