"""Fixtures of the alerts tests: a fresh channel layer and a listener on the alert group."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from channels.layers import channel_layers, get_channel_layer

from alerts.events import GROUP


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    """A new channel layer object per test: each test runs its own event loop."""
    channel_layers.backends.clear()


class GroupListener:
    """Collects the frames published to the alert group."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.frames: list[dict] = []
        self._task: asyncio.Task | None = None

    async def start(self) -> GroupListener:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(GROUP, self.channel)
        self._task = asyncio.create_task(self._listen())
        return self

    async def _listen(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            self.frames.append(json.loads(message["frame"]))

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.layer.group_discard(GROUP, self.channel)

    def of_type(self, kind: str) -> list[dict]:
        return [frame for frame in self.frames if frame["type"] == kind]


@pytest.fixture
async def published() -> AsyncIterator[GroupListener]:
    listener = await GroupListener().start()
    yield listener
    await listener.stop()
