"""An in-memory channel layer whose first receive fails, as a Redis read timeout does."""

from channels.layers import InMemoryChannelLayer


class FirstReceiveFailsLayer(InMemoryChannelLayer):
    failed = False

    async def receive(self, channel):
        if not FirstReceiveFailsLayer.failed:
            FirstReceiveFailsLayer.failed = True
            raise TimeoutError("Timeout reading from 127.0.0.1:6379")
        return await super().receive(channel)
