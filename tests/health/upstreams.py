"""Stand-ins for electrs, the mempool backend and Bitcoin Core: real HTTP servers on 127.0.0.1
whose behaviour a test switches by name ("ok", "hang", "500", "garbage", ...)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from core.upstreams import GENESIS_HASHES
from tests.support import Hit, StubServer, json_response, text_response

RPC_USER, RPC_PASSWORD = "oracle-rpc", "rpc-Secret-42"
GENESIS = {chain: block for block, chain in GENESIS_HASHES.items()}


def _electrs(mode: str, hit: Hit):
    if hit.path == "/block-height/0" and mode in ("ok", "testnet"):
        return text_response(GENESIS["main" if mode == "ok" else "test"])
    if hit.path != "/blocks/tip/height":
        return text_response("not found", 404)
    return {
        "ok": text_response("871234"),
        "testnet": text_response("2871234"),
        "500": text_response("internal error", 500),
        "garbage": text_response("<html>surprise</html>"),
    }.get(mode)


def _mempool(mode: str, hit: Hit):
    if hit.path != "/api/v1/prices":
        return text_response("not found", 404)
    return {
        "ok": json_response({"time": 1732600000, "USD": 95012, "EUR": 90000}),
        "500": text_response("internal error", 500),
        "garbage": text_response("this is { not json"),
        "no_usd": json_response({"time": 1732600000, "USD": "95012"}),
        "no_price": json_response({"time": 0, "USD": -1, "EUR": -1}),
    }.get(mode)


def _chain_info(chain: str = "main", syncing: bool = False) -> dict:
    return {
        "chain": chain,
        "blocks": 871234,
        "headers": 871234 + (5000 if syncing else 0),
        "initialblockdownload": syncing,
        "pruned": False,
    }


def _rpc(mode: str, hit: Hit):
    request = json.loads(hit.body or b"{}")
    if request.get("method") == "getblockchaininfo" and mode in ("ok", "testnet", "syncing"):
        info = _chain_info("test" if mode == "testnet" else "main", mode == "syncing")
        return json_response({"result": info, "error": None, "id": request.get("id")})
    return {
        "loading": json_response(
            {"result": None, "error": {"code": -28, "message": "Loading block index..."}}, 500
        ),
        "401": (401, {}, b""),
        "garbage": text_response("nope"),
    }.get(mode)


@dataclass
class Upstreams:
    """The three stub services; `modes` says how each answers; `delay` slows every answer."""

    modes: dict[str, str] = field(
        default_factory=lambda: {"electrs": "ok", "mempool": "ok", "rpc": "ok"}
    )
    delay: float = 0.0
    servers: dict[str, StubServer] = field(default_factory=dict)

    def start(self) -> Upstreams:
        for name, answer in (("electrs", _electrs), ("mempool", _mempool), ("rpc", _rpc)):
            self.servers[name] = StubServer(self._handler(name, answer)).start()
        return self

    def _handler(self, name: str, answer):
        def handle(hit: Hit):
            if self.delay:
                time.sleep(self.delay)
            return answer(self.modes[name], hit)

        return handle

    def url(self, name: str) -> str:
        return self.servers[name].url

    def hits(self, name: str) -> int:
        """Requests that probed the service (electrs's genesis lookup for the network check is
        made once and not counted)."""
        return len([hit for hit in self.servers[name].hits if hit.path != "/block-height/0"])

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
