"""Finding 11: a `ws://user:password@host` MEMPOOL_WS_URL was logged and shown in the admin on
every reconnect, through the websockets library's error messages. Whatever way a connection
fails, the credential is neither logged nor stored in the feed status the admin shows."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from alerts.detector import Thresholds
from alerts.feed import FeedConfig, MempoolFeed
from alerts.feed_status import store_stats
from alerts.models import FeedStatus
from tests.support import StubServer, free_port, text_response

pytestmark = pytest.mark.django_db(transaction=True)
USER, PASSWORD = "wsuser", "ws-secret-pw-77"


def refused() -> str:
    return f"127.0.0.1:{free_port()}"


@pytest.fixture(params=["refused", "http-401", "not-websocket"])
def backend(request):
    """Where the feed connects: nothing listening, or an HTTP server refusing the upgrade."""
    if request.param == "refused":
        yield refused()
        return
    status = 401 if request.param == "http-401" else 200
    stub = StubServer(lambda hit: text_response(f"no socket for {hit.path}", status)).start()
    yield f"127.0.0.1:{stub.port}"
    stub.stop()


async def test_a_credential_in_the_websocket_url_is_never_logged_or_stored(
    backend: str, settings, json_logs
) -> None:
    settings.MEMPOOL_WS_URL = f"ws://{USER}:{PASSWORD}@{backend}/api/v1/ws"
    config = FeedConfig(
        ws_url=settings.MEMPOOL_WS_URL,
        http_url=f"http://{refused()}",
        thresholds=Thresholds(100.0),
        open_timeout=10,
    )
    feed = MempoolFeed(config)
    try:
        heard = await asyncio.wait_for(feed._connection(asyncio.Event()), 60)
    finally:
        feed.executor.shutdown(wait=False, cancel_futures=True)
    assert not heard
    await database_sync_to_async(store_stats)(feed.stats)
    stored = await database_sync_to_async(FeedStatus.objects.get)()
    assert stored.last_error  # the reason is kept …
    logged = "\n".join(map(str, json_logs.lines))
    assert json_logs.events("feed_disconnected")
    for shown in (stored.last_error, logged):  # … without the credential
        assert PASSWORD not in shown and f"{USER}:" not in shown and f"{USER}@" not in shown
