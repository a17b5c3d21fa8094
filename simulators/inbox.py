"""`python -m simulators.inbox`: a notification inbox for the demo — an HTTP endpoint on loopback
that takes what apprise's `json://` scheme posts (a JSON object with `title`, `message` and `type`,
see apprise's `plugins/custom_json.py`) and appends each one, with the time it arrived, as one JSON
line to a file. `NOTIFY_URLS=json://127.0.0.1:PORT/` points the service at it.
"""

from __future__ import annotations

import argparse
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from simulators.chain import stop_on_signals

MAX_BODY_BYTES = 64 * 1024


class Inbox(ThreadingHTTPServer):
    """Appends every notification posted to it to `path` (one JSON object per line)."""

    daemon_threads = True

    def __init__(self, path: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.path = path
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"json://{host}:{port}/"

    def keep(self, body: bytes) -> bool:
        """Append one notification; False when the body is not a JSON object."""
        try:
            note = json.loads(body)
        except ValueError:
            return False
        if not isinstance(note, dict):
            return False
        line = {"received_at": datetime.now(UTC).isoformat(timespec="seconds"), **note}
        with self.lock, self.path.open("a") as inbox:
            inbox.write(json.dumps(line) + "\n")
        return True


class _Handler(BaseHTTPRequestHandler):
    server: Inbox

    def do_POST(self) -> None:
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            length = 0
        body = self.rfile.read(min(length, MAX_BODY_BYTES + 1))
        kept = len(body) <= MAX_BODY_BYTES and self.server.keep(body)
        self.send_response(200 if kept else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the inbox file is the record."""


def main(argv: list[str] | None = None) -> None:
    """Command line: keep notifications until SIGINT or SIGTERM."""
    stop_on_signals()
    parser = argparse.ArgumentParser(prog="python -m simulators.inbox", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--file", type=Path, required=True, help="where notifications go")
    args = parser.parse_args(argv)
    inbox = Inbox(args.file, port=args.port)
    print(f"notification inbox at {inbox.url}, writing {args.file}", flush=True)
    try:
        inbox.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        inbox.server_close()


if __name__ == "__main__":
    main()
