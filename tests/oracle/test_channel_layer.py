"""The channel layer: in-memory by default, Redis when REDIS_URL is set."""

from __future__ import annotations

import json
import subprocess

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from tests.support import PYTHON, ROOT, service_env


def backend_for(**env: str) -> dict:
    code = (
        "from django.conf import settings; import json; print(json.dumps(settings.CHANNEL_LAYERS))"
    )
    result = subprocess.run(
        [PYTHON, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=service_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)["default"]


def test_in_memory_without_redis_url() -> None:
    assert backend_for(REDIS_URL="")["BACKEND"] == "channels.layers.InMemoryChannelLayer"


def test_channels_redis_with_redis_url() -> None:
    layer = backend_for(REDIS_URL="redis://127.0.0.1:6379/3")
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert layer["CONFIG"]["hosts"] == ["redis://127.0.0.1:6379/3"]


@pytest.mark.channel_layer
async def test_group_messages_reach_every_member() -> None:
    layer = get_channel_layer()
    expected = "redis" if settings.REDIS_URL else "InMemory"
    assert expected.lower() in type(layer).__module__.lower() + type(layer).__name__.lower()
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("oracle-test", first)
    await layer.group_add("oracle-test", second)
    await layer.group_send("oracle-test", {"type": "test.message", "n": 1})
    assert (await layer.receive(first))["n"] == 1
    assert (await layer.receive(second))["n"] == 1
    await layer.group_discard("oracle-test", first)
    await layer.group_discard("oracle-test", second)
