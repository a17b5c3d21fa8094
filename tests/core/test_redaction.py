"""One redaction for every text logged, stored or shown (`core.redaction.redact`), applied to
every log line whoever logs it, tracebacks included."""

from __future__ import annotations

import logging

import structlog

from core.redaction import redact

URL = "http://rpcuser:url-secret-55@127.0.0.1:8332/wallet"


def test_redact_drops_url_credentials_and_masks_configured_secrets(settings) -> None:
    settings.BITCOIN_RPC_PASSWORD = "rpc-pass-77"
    settings.REDIS_URL = "redis://:redis-pass-88@127.0.0.1:6379/0"
    settings.MEMPOOL_WS_URL = "ws://wsuser:ws-pass-99@127.0.0.1:8999/api/v1/ws"
    text = "failed: rpc-pass-77 at 127.0.0.1:8999, then redis-pass-88 and ws-pass-99; " + URL
    assert redact(text) == (
        "failed: *** at 127.0.0.1:8999, then *** and ***; http://127.0.0.1:8332/wallet"
    )
    settings.BITCOIN_RPC_PASSWORD = "p"  # too short to search for: the text stays readable
    assert redact("mempool_backend: /api/v1/prices") == "mempool_backend: /api/v1/prices"


def test_every_log_line_is_redacted_whoever_logs_it(settings, json_logs) -> None:
    settings.ORACLE_ADMIN_PASSWORD = "admin-pass-66"
    structlog.get_logger("tests").warning("ours", url=URL, nested={"items": [URL, 3]})
    logging.getLogger("websockets.client").warning("connecting to %s", URL)  # a library's
    try:
        raise ConnectionError(f"{URL} refused admin-pass-66")
    except ConnectionError:
        structlog.get_logger("tests").exception("crashed")
    text = "\n".join(map(str, json_logs.lines))
    assert "url-secret-55" not in text and "rpcuser" not in text and "admin-pass-66" not in text
    ours, library, crashed = json_logs.lines
    assert ours["url"] == "http://127.0.0.1:8332/wallet"
    assert ours["nested"] == {"items": ["http://127.0.0.1:8332/wallet", 3]}
    assert library["event"] == "connecting to http://127.0.0.1:8332/wallet"
    assert "ConnectionError: http://127.0.0.1:8332/wallet refused ***" in crashed["exception"]


def test_notification_urls_and_their_tokens_are_masked(settings) -> None:
    settings.NOTIFY_URLS = (
        "tgram://123456789:AAHdBotTokenVeryLong0123/-1001234",
        "json://hookuser:hook-pw-42@127.0.0.1:8081/notify",
    )
    text = (
        "posting to tgram://123456789:AAHdBotTokenVeryLong0123/-1001234 failed;"
        " bot AAHdBotTokenVeryLong0123; json://hookuser:hook-pw-42@127.0.0.1:8081/notify;"
        " hook-pw-42 again; notify_sent stays readable"
    )
    shown = redact(text)
    assert "AAHdBotTokenVeryLong0123" not in shown and "hook-pw-42" not in shown
    assert "-1001234" not in shown and "127.0.0.1:8081/notify" not in shown
    assert shown.endswith("notify_sent stays readable")
