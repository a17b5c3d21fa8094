// The live whale feed: one WebSocket to /ws/alerts/ (the staff session authenticates it),
// filters as a `subscribe` message, and after any disconnect a resume from the last id seen.
(function () {
  "use strict";
  const script = document.currentScript;
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + script.dataset.url;
  const RECENT = 25; // alerts replayed when the page opens or the filters change
  const MAX_ROWS = 500;
  const status = document.getElementById("live-status");
  const tbody = document.querySelector("#alerts tbody");
  const count = document.getElementById("live-count");
  const lastIdText = document.getElementById("live-last-id");
  const form = document.getElementById("filters");
  let socket = null;
  let lastId = null; // newest alert id received: the resume point
  let newest = 0; // newest alert id the server has mentioned
  let delay = 1000;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function filters() {
    const value = (id) => document.getElementById(id).value;
    const message = { type: "subscribe", rbf_only: document.getElementById("rbf-only").checked };
    if (value("min-btc") !== "") message.min_btc = Number(value("min-btc"));
    if (value("min-usd") !== "") message.min_usd = Number(value("min-usd"));
    return message;
  }

  function subscribe(sinceId) {
    socket.send(JSON.stringify(Object.assign(filters(), { since_id: Math.max(0, sinceId) })));
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text === null || text === undefined ? "–" : text;
    if (className) td.className = className;
    return td;
  }

  function render(row, id, data) {
    row.replaceChildren();
    row.dataset.id = id;
    row.dataset.txid = data.txid;
    cell(row, id);
    cell(row, data.first_seen.replace("T", " ").slice(0, 19));
    cell(row, data.txid, "txid");
    cell(row, data.btc_value.toLocaleString(undefined, { maximumFractionDigits: 8 }));
    cell(row, data.usd_value === null ? null : "$" + Math.round(data.usd_value).toLocaleString());
    cell(row, data.fee_rate + " sat/vB");
    cell(row, data.rbf ? "yes" : "no");
    cell(row, data.expected_confirmation);
    cell(row, data.status + (data.replaced_by ? " by " + data.replaced_by.slice(0, 12) + "…" : ""), "status");
  }

  function onAlert(frame) {
    if (lastId !== null && frame.id <= lastId) return;
    lastId = frame.id;
    newest = Math.max(newest, frame.id);
    lastIdText.textContent = lastId;
    const row = tbody.insertRow(0);
    row.className = "fresh";
    render(row, frame.id, frame.data);
    while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
    count.textContent = tbody.rows.length;
  }

  function onUpdate(frame) {
    const row = tbody.querySelector('tr[data-id="' + frame.id + '"]');
    if (row) render(row, frame.id, frame.data);
  }

  function connect() {
    setStatus("connecting", "connecting…");
    socket = new WebSocket(url);
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "welcome") {
        delay = 1000;
        newest = Math.max(newest, frame.last_alert_id);
        setStatus("live", "live");
        subscribe(lastId === null ? newest - RECENT : lastId);
      } else if (frame.type === "whale_alert") {
        onAlert(frame);
      } else if (frame.type === "whale_update") {
        onUpdate(frame);
      } else if (frame.type === "heartbeat") {
        newest = Math.max(newest, frame.last_id);
      } else if (frame.type === "error") {
        setStatus("live", "live (server said: " + frame.message + ")");
      }
    };
    socket.onclose = (event) => {
      if (event.code === 4401) {
        setStatus("stopped", "not authorised: log in again");
        return;
      }
      setStatus("reconnecting", "reconnecting…");
      setTimeout(connect, delay * (0.5 + Math.random() / 2));
      delay = Math.min(delay * 2, 30000);
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    tbody.replaceChildren();
    count.textContent = 0;
    lastId = null;
    if (socket && socket.readyState === WebSocket.OPEN) {
      lastId = Math.max(0, newest - RECENT);
      subscribe(lastId);
    }
  });

  connect();
})();
