// The day page's price cloud: every price point of the day as a dense heatmap against time (the
// histogram of /api/prices/{date}/cloud, embedded in the page), the day's price as a line and each
// block's median as a dot, drawn on a canvas with nothing loaded from elsewhere. "Save PNG"
// downloads the canvas.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("price-cloud-data").textContent);
  const canvas = document.getElementById("price-cloud");
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  const plot = { left: 96, right: W - 24, top: 64, bottom: H - 56 };
  const plotW = plot.right - plot.left, plotH = plot.bottom - plot.top;
  const span = data.seconds_per_bin * data.time_bins;
  const FONT = "14px system-ui, -apple-system, 'Segoe UI', sans-serif";

  const x = (unix) => plot.left + ((unix - data.start_unix) / span) * plotW;
  const y = (price) => plot.bottom - ((price - data.price_low) / (data.price_high - data.price_low)) * plotH;
  const usd = (value) => "$" + Math.round(value).toLocaleString("en-US");

  // Orange on black, brighter and yellower where more points fall (log scale, as dots pile up).
  function colour(share) {
    const t = Math.sqrt(share);
    const r = Math.round(120 + 135 * Math.min(1, t * 1.6));
    const g = Math.round(40 + 200 * t);
    const b = Math.round(10 + 120 * Math.max(0, t - 0.6));
    return `rgb(${r},${g},${b})`;
  }

  function heatmap() {
    let top = 0;
    for (const row of data.counts) for (const count of row) if (count > top) top = count;
    const cellW = plotW / data.time_bins, cellH = plotH / data.price_bins;
    const scale = Math.log1p(top) || 1;
    data.counts.forEach((row, i) => {
      row.forEach((count, j) => {
        if (!count) return;
        ctx.fillStyle = colour(Math.log1p(count) / scale);
        ctx.fillRect(plot.left + i * cellW, plot.bottom - (j + 1) * cellH, Math.ceil(cellW), Math.ceil(cellH));
      });
    });
  }

  function axes() {
    ctx.font = FONT;
    ctx.fillStyle = "#aaa";
    ctx.strokeStyle = "#333";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let k = 0; k <= 4; k++) {
      const price = data.price_low + ((data.price_high - data.price_low) * k) / 4;
      ctx.beginPath();
      ctx.moveTo(plot.left, Math.round(y(price)) + 0.5);
      ctx.lineTo(plot.right, Math.round(y(price)) + 0.5);
      ctx.stroke();
      ctx.fillText(usd(price), plot.left - 8, y(price));
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const hours = span / 3600;
    const step = hours > 12 ? 3 : 1;
    for (let h = 0; h <= hours; h += step) {
      const unix = data.start_unix + h * 3600;
      const label = new Date(unix * 1000).toISOString().slice(11, 16);
      ctx.fillText(label + " UTC", x(unix), plot.bottom + 10);
    }
  }

  function frame() {
    ctx.strokeStyle = "#666";
    ctx.lineWidth = 1;
    ctx.strokeRect(plot.left + 0.5, plot.top + 0.5, plotW, plotH);
  }

  function priceLine() {
    ctx.save();
    ctx.strokeStyle = "#19c3e6";
    ctx.lineWidth = 2;
    ctx.setLineDash([10, 6]);
    ctx.beginPath();
    ctx.moveTo(plot.left, y(data.price));
    ctx.lineTo(plot.right, y(data.price));
    ctx.stroke();
    ctx.restore();
  }

  // Small see-through rings, so that the cloud under them stays visible.
  function medians() {
    ctx.save();
    ctx.strokeStyle = "rgba(235,235,235,0.75)";
    ctx.lineWidth = 1.2;
    for (const [unix, price] of data.medians) {
      if (price <= data.price_low || price >= data.price_high) continue;
      ctx.beginPath();
      ctx.arc(x(unix), y(price), 2.5, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.restore();
  }

  function titles() {
    ctx.font = "bold 18px system-ui, -apple-system, 'Segoe UI', sans-serif";
    ctx.textBaseline = "alphabetic";
    ctx.textAlign = "left";
    ctx.fillStyle = "#e8e8e8";
    ctx.fillText(`${data.date} · blocks ${data.blocks[0]}–${data.blocks[1]}`, plot.left, 38);
    ctx.textAlign = "right";
    ctx.fillStyle = "#19c3e6";
    const validity = data.is_valid ? "" : " (invalid)";
    ctx.fillText(`UTXOracle price ${usd(data.price)}${validity}`, plot.right, 38);
    ctx.font = FONT;
    ctx.fillStyle = "#888";
    ctx.textAlign = "left";
    ctx.fillText(`${data.point_count.toLocaleString("en-US")} price points`, plot.left, H - 14);
    ctx.textAlign = "right";
    ctx.fillText("on-chain data from this node · oracle", plot.right, H - 14);
  }

  ctx.fillStyle = "#0b0b0b";
  ctx.fillRect(0, 0, W, H);
  axes();
  heatmap();
  frame();
  priceLine();
  medians();
  titles();
  canvas.dataset.drawn = String(data.point_count);

  document.getElementById("price-cloud-save").addEventListener("click", () => {
    canvas.toBlob((blob) => {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `utxoracle-cloud-${data.date}.png`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    }, "image/png");
  });
})();
