"""The demo's notification inbox: what apprise's json:// scheme posts, one JSON line each."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import apprise
import pytest
import requests

from simulators.inbox import Inbox


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[Inbox]:
    server = Inbox(tmp_path / "notifications.jsonl")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_notification_sent_through_json_scheme_is_kept(inbox: Inbox) -> None:
    sender = apprise.Apprise()
    assert sender.add(inbox.url)
    assert sender.notify(title="Whale: 1,234.00 BTC", body="txid abc")
    [line] = inbox.path.read_text().splitlines()
    note = json.loads(line)
    assert (note["title"], note["message"]) == ("Whale: 1,234.00 BTC", "txid abc")
    assert note["received_at"].endswith("+00:00")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"x" * (64 * 1024 + 1)])
def test_anything_else_is_refused_and_not_kept(inbox: Inbox, body: bytes) -> None:
    host, port = inbox.server_address[:2]
    answer = requests.post(f"http://{host}:{port}/", data=body, timeout=10)
    assert answer.status_code == 400
    assert not inbox.path.exists()
