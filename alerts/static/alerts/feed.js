// The whale feed client shared by the live page and the operator dashboard: one WebSocket to
// /ws/alerts/ (the staff session authenticates it), the page's filters as a `subscribe` message
// asking for batches (a burst arrives as one `whale_alerts` frame), paging through a long replay
// (`replay` with `more`), and after any disconnect a resume from the last alert id passed.
(function () {
  "use strict";

  // A USD value at our own on-chain price (the backend had no exchange price) is marked "≈".
  const approx = (data) => (data.usd_source === "onchain" ? "≈" : "");

  // The text of each column a page may show, from an alert's id and data.
  const COLUMNS = {
    id: (id) => id,
    first_seen: (id, data) => data.first_seen.replace("T", " ").slice(0, 19),
    time: (id, data) => data.first_seen.slice(11, 19),
    txid: (id, data) => data.txid,
    btc: (id, data) => data.btc_value.toLocaleString(undefined, { maximumFractionDigits: 8 }),
    btc_short: (id, data) => data.btc_value.toLocaleString(undefined, { maximumFractionDigits: 1 }),
    usd: (id, data) =>
      data.usd_value === null
        ? null
        : approx(data) + "$" + Math.round(data.usd_value).toLocaleString() + (approx(data) ? " (on-chain)" : ""),
    usd_short: (id, data) =>
      data.usd_value === null
        ? null
        : approx(data) + "$" + data.usd_value.toLocaleString(undefined, { notation: "compact", maximumFractionDigits: 1 }),
    fee_rate: (id, data) => data.fee_rate + " sat/vB",
    rbf: (id, data) => (data.rbf ? "yes" : "no"),
    expected: (id, data) => data.expected_confirmation,
    status: (id, data) =>
      data.status +
      (data.replaced_by ? " by " + data.replaced_by.slice(0, 12) + "…" : "") +
      (data.block_height ? " in block " + data.block_height : ""),
    status_short: (id, data) => data.status,
  };

  // The rows of a table body: newest alert first, at most `maxRows`, each cell classed by column.
  class AlertTable {
    constructor(tbody, columns, maxRows) {
      this.tbody = tbody;
      this.columns = columns;
      this.maxRows = maxRows;
    }

    get size() {
      return this.tbody.rows.length;
    }

    render(row, id, data) {
      row.replaceChildren();
      row.dataset.id = id;
      row.dataset.txid = data.txid;
      for (const column of this.columns) {
        const text = COLUMNS[column](id, data);
        const cell = row.insertCell();
        cell.textContent = text === null || text === undefined ? "–" : text;
        cell.className = column;
      }
    }

    add(frame) {
      const row = this.tbody.insertRow(0);
      row.className = "fresh";
      this.render(row, frame.id, frame.data);
      while (this.tbody.rows.length > this.maxRows) this.tbody.deleteRow(-1);
    }

    update(frame) {
      const row = this.tbody.querySelector('tr[data-id="' + frame.id + '"]');
      if (row) this.render(row, frame.id, frame.data);
    }

    clear() {
      this.tbody.replaceChildren();
    }
  }

  // Connect and stay connected. `options`: path (of the WebSocket), recent (alerts replayed when
  // the page opens or the filters change), filters() (the subscribe fields), status (an element
  // whose data-state and text follow the connection), onAlert(frame), onUpdate(frame), and
  // onPrice(frame) for the price messages of a subscription with `prices: true`.
  function connect(options) {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + options.path;
    let socket = null;
    let lastId = null; // newest alert id received: the resume point
    let newest = 0; // newest alert id the server has mentioned
    let delay = 1000;

    function setStatus(state, text) {
      options.status.dataset.state = state;
      options.status.textContent = text;
    }

    function subscribe(sinceId) {
      const message = Object.assign({ type: "subscribe" }, options.filters(), {
        since_id: Math.max(0, sinceId),
        batch: true,
      });
      socket.send(JSON.stringify(message));
    }

    // One alert or status change, alone or out of a `whale_alerts` batch.
    function handle(frame) {
      if (frame.type === "whale_alert") {
        if (lastId !== null && frame.id <= lastId) return;
        lastId = frame.id;
        newest = Math.max(newest, frame.id);
        options.onAlert(frame);
      } else if (frame.type === "whale_update") {
        options.onUpdate(frame);
      }
    }

    function open() {
      setStatus("connecting", "connecting…");
      socket = new WebSocket(url);
      socket.onmessage = (event) => {
        const frame = JSON.parse(event.data);
        if (frame.type === "welcome") {
          delay = 1000;
          newest = Math.max(newest, frame.last_alert_id);
          setStatus("live", "live");
          subscribe(lastId === null ? newest - options.recent : lastId);
        } else if (frame.type === "subscribed") {
          // The filters in force from here on (data-filters on the status element).
          options.status.dataset.filters = JSON.stringify(frame.filters);
        } else if (frame.type === "whale_alerts") {
          frame.alerts.forEach(handle);
        } else if (frame.type === "whale_alert" || frame.type === "whale_update") {
          handle(frame);
        } else if (frame.type === "replay") {
          // The server replays a bounded page; with `more`, ask for the next one.
          lastId = Math.max(lastId === null ? 0 : lastId, frame.last_id);
          newest = Math.max(newest, frame.last_id);
          if (frame.more) subscribe(frame.last_id);
        } else if (frame.type === "price_today" || frame.type === "price_day") {
          if (options.onPrice) options.onPrice(frame);
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
        if (event.code === 4403) {
          setStatus("stopped", "not allowed: this login may not view whale alerts");
          return;
        }
        setStatus("reconnecting", "reconnecting…");
        setTimeout(open, delay * (0.5 + Math.random() / 2));
        delay = Math.min(delay * 2, 30000);
      };
    }

    open();
    return {
      // Start over with the current filters: the recent alerts again, then live ones.
      resubscribe() {
        lastId = null;
        if (socket && socket.readyState === WebSocket.OPEN) {
          lastId = Math.max(0, newest - options.recent);
          subscribe(lastId);
        }
      },
    };
  }

  window.WhaleFeed = { AlertTable, connect };
})();
