"""Bitcoin Core: JSON-RPC (`BITCOIN_RPC_URL`) and, when the node has `-rest=1`, its REST interface.

Follows bitcoin/bitcoin `src/httprpc.cpp` (authentication, HTTP statuses), `src/rpc/request.cpp`
(legacy JSON-RPC 1.0 replies), `src/rpc/blockchain.cpp` (getblockchaininfo) and `src/rest.cpp` with
`doc/REST-interface.md`:

- Authentication: the cookie file `<datadir>/.cookie` (`__cookie__:<hex>`, rewritten at every node
  start, so it is read again after a 401), else rpcuser/rpcpassword. Without either, the cookie of
  `BITCOIN_DATADIR` (default `~/.bitcoin`) is used when it exists. A 401 has an empty body (the
  node waits 250 ms first); a 403 with an empty body is an `-rpcwhitelist` denial, not a bad
  password.
- A single call in legacy mode (`"jsonrpc": "1.0"`) that fails answers a JSON error body with HTTP
  500, 404 (unknown method) or 400 (invalid request): the message is kept. A batch (a JSON array)
  always answers 200 with one reply per element, in any order.
- REST needs no authentication: `/rest/block/<hash>.bin` is the raw block (no hex, no JSON),
  `/rest/chaininfo.json` says whether REST is on at all (404 otherwise). Blocks come through REST
  when it answers, through `getblock <hash> 0` otherwise.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.http import HttpOptions, UpstreamError
from core.upstreams import Upstream

MAX_BLOCK_BYTES = 4_000_000  # consensus limit on a serialized block (weight / 1)
RPC_BODY_LIMIT = 2 * MAX_BLOCK_BYTES + 65_536  # a block's hex plus the JSON envelope
REPLY_LIMIT = 1_048_576
ANY_STATUS = tuple(range(100, 600))
DEFAULT_DATADIR = Path("~/.bitcoin")
# Where each network keeps its cookie inside the data directory (`src/common/args.cpp`).
NETWORK_SUBDIRS = {"main": "", "test": "testnet3", "testnet4": "testnet4", "signet": "signet"}
NETWORK_SUBDIRS["regtest"] = "regtest"


class RpcError(UpstreamError):
    """Bitcoin Core answered a call with an error object: `code` and `message` are Core's."""

    def __init__(self, service: str, url: str, method: str, code: Any, message: Any) -> None:
        self.code = code
        self.message = str(message)[:300]
        error = "RPC error" if code is None else f"RPC error {code}"
        super().__init__(service, url, f"{method}: {error}: {self.message}")


class AuthError(UpstreamError):
    """The node refused the credentials, or none could be found."""


@dataclass(frozen=True)
class ChainInfo:
    """What `getblockchaininfo` says of the node's chain."""

    chain: str
    blocks: int
    headers: int
    initial_block_download: bool
    pruned: bool
    prune_height: int | None

    @classmethod
    def from_reply(cls, reply: Any) -> ChainInfo:
        if not isinstance(reply, dict) or not isinstance(reply.get("chain"), str):
            raise ValueError("getblockchaininfo: no chain in the answer")
        blocks = reply.get("blocks")
        if not isinstance(blocks, int) or isinstance(blocks, bool):
            raise ValueError("getblockchaininfo: no block count in the answer")
        headers = reply.get("headers")
        prune_height = reply.get("pruneheight")
        return cls(
            chain=reply["chain"],
            blocks=blocks,
            headers=headers if isinstance(headers, int) else blocks,
            initial_block_download=reply.get("initialblockdownload") is True,
            pruned=reply.get("pruned") is True,
            prune_height=prune_height if isinstance(prune_height, int) else None,
        )


class BitcoindClient(Upstream):
    """Bitcoin Core's JSON-RPC (and REST, when enabled)."""

    service = "bitcoind"

    def __init__(
        self,
        url: str,
        *,
        cookie_file: str | Path | None = None,
        user: str | None = None,
        password: str | None = None,
        datadir: str | Path | None = None,
        http: HttpOptions | None = None,
        use_rest: bool | None = None,
    ) -> None:
        super().__init__(url, http)
        self.cookie_file = Path(cookie_file).expanduser() if cookie_file else None
        self.user = user
        self._password = password
        self.datadir = Path(datadir).expanduser() if datadir else DEFAULT_DATADIR.expanduser()
        self.use_rest = use_rest  # None: find out on the first block
        self._cookie_authorization: str | None = None  # read again when the node refuses it

    # --- credentials -----------------------------------------------------------------------

    def cookie_path(self) -> Path | None:
        """The cookie file in use: the configured one, else the data directory's when neither a
        password nor a cookie file is configured."""
        if self.cookie_file is not None:
            return self.cookie_file
        if self.user is not None and self._password is not None:
            return None
        return self.datadir / ".cookie"

    def _authorization(self) -> str:
        """Basic credentials: the password, else the cookie (read once, again after a 401)."""
        cookie = self.cookie_path()
        if cookie is None:  # cookie_path() gives no path only when a password is configured
            return _basic(f"{self.user}:{self._password}")
        if self._cookie_authorization is None:
            try:
                credentials = cookie.read_text().strip()
            except OSError as exc:
                raise AuthError(self.service, self.base_url, _cookie_problem(cookie, exc)) from None
            self._cookie_authorization = _basic(credentials)
        return self._cookie_authorization

    # --- JSON-RPC --------------------------------------------------------------------------

    def _post(self, payload: Any, limit: int = REPLY_LIMIT) -> bytes:
        data = json.dumps(payload)
        for attempt in (1, 2):
            headers = {"Authorization": self._authorization(), "Content-Type": "application/json"}
            response, body = self.request(
                "POST", "", limit=limit, ok_statuses=(200, 400, 401, 403, 404, 500),
                data=data, headers=headers,
            )  # fmt: skip
            status = response.status_code
            if status == 401 and attempt == 1 and self.cookie_path() is not None:
                self._cookie_authorization = None
                continue  # the node rewrote its cookie at a restart: read it again
            if status == 401:
                raise AuthError(
                    self.service,
                    self.base_url,
                    "RPC authentication failed (HTTP 401): check the cookie or password",
                )
            if status == 403:
                raise AuthError(
                    self.service,
                    self.base_url,
                    "RPC method not allowed by -rpcwhitelist (HTTP 403)",
                )
            if status != 200 and not body.lstrip().startswith(b"{"):
                raise self.error("", f"HTTP {status}")
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    def _decode(self, body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError:
            raise self.error("", "RPC answer is not JSON") from None

    def _result(self, reply: Any, method: str) -> Any:
        if not isinstance(reply, dict) or "result" not in reply:
            raise self.error("", f"{method}: malformed RPC reply")
        error = reply.get("error")
        if error:
            if isinstance(error, dict):
                code, message = error.get("code"), error.get("message")
                raise RpcError(self.service, self.base_url, method, code, message)
            raise RpcError(self.service, self.base_url, method, None, error)
        return reply["result"]

    def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call; Core's error becomes RpcError."""
        payload = {"jsonrpc": "1.0", "id": 0, "method": method, "params": list(params)}
        return self._result(self._decode(self._post(payload)), method)

    def batch(self, method: str, params: Sequence[Sequence[Any]]) -> list[Any]:
        """The same method with many parameter lists in one JSON-RPC batch (results in order).

        The first failing element raises its RpcError with `index` set to its position.
        """
        if not params:
            return []
        payload = [
            {"jsonrpc": "1.0", "id": i, "method": method, "params": list(p)}
            for i, p in enumerate(params)
        ]
        replies = self._decode(self._post(payload))
        if not isinstance(replies, list) or len(replies) != len(payload):
            if isinstance(replies, dict):  # a batch refused as a whole
                self._result(replies, method)
            raise self.error("", f"{method}: malformed RPC batch reply")
        by_id = {reply.get("id"): reply for reply in replies if isinstance(reply, dict)}
        results = []
        for i in range(len(payload)):
            try:
                results.append(self._result(by_id.get(i), method))
            except UpstreamError as exc:
                exc.index = i  # type: ignore[attr-defined]
                raise
        return results

    # --- what the service asks ---------------------------------------------------------------

    def chain_info(self) -> ChainInfo:
        """The node's chain, height, initial block download and pruning."""
        try:
            return ChainInfo.from_reply(self.call("getblockchaininfo"))
        except ValueError as exc:
            raise self.error("", str(exc)) from None

    def block_count(self) -> int:
        count = self.call("getblockcount")
        if not isinstance(count, int) or isinstance(count, bool):
            raise self.error("", "getblockcount: not an integer")
        return count

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        hashes = self.batch("getblockhash", [[h] for h in heights])
        for value in hashes:
            if not is_block_hash(value):
                raise self.error("", "getblockhash: not a block hash")
        return hashes

    def header_times(self, hashes: Sequence[str]) -> list[int]:
        headers = self.batch("getblockheader", [[h, True] for h in hashes])
        times = []
        for header in headers:
            if not isinstance(header, dict) or not isinstance(header.get("time"), int):
                raise self.error("", "getblockheader: no time in the header")
            times.append(header["time"])
        return times

    def raw_block(self, block_hash: str) -> bytes:
        """The serialized block: through REST when the node serves it, else `getblock hash 0`."""
        if self.use_rest is not False:
            raw = self._rest_block(block_hash)
            if raw is not None:
                return raw
        body = self._post(
            {"jsonrpc": "1.0", "id": 0, "method": "getblock", "params": [block_hash, 0]},
            limit=RPC_BODY_LIMIT,
        )
        hex_text = _fast_hex_result(body)
        if hex_text is None:
            result = self._result(self._decode(body), "getblock")
            if not isinstance(result, str):
                raise self.error("", "getblock: result is not a hex string")
            hex_text = memoryview(result.encode("ascii", "replace"))
        try:
            return binascii.unhexlify(hex_text)
        except (binascii.Error, ValueError):
            raise self.error("", "getblock: result is not valid hex") from None

    def _rest_block(self, block_hash: str) -> bytes | None:
        """The block through REST; None when REST is off (RPC is then used from now on) or does
        not serve this block (RPC then says why: unknown, pruned)."""
        response, body = self.request(
            "GET", f"/rest/block/{block_hash}.bin", limit=MAX_BLOCK_BYTES, ok_statuses=ANY_STATUS
        )
        content_type = response.headers.get("Content-Type", "")
        if response.status_code == 200 and content_type.startswith("application/octet-stream"):
            self.use_rest = True
            return body
        if self.use_rest is None:
            self.use_rest = self.rest_enabled()
        return None

    def rest_enabled(self) -> bool:
        """Whether the node answers its REST interface (`-rest=1`)."""
        response, body = self.request("GET", "/rest/chaininfo.json", ok_statuses=ANY_STATUS)
        return response.status_code == 200 and body.lstrip().startswith(b"{")


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def _cookie_problem(cookie: Path, exc: OSError) -> str:
    """Why a cookie cannot be used, naming a cookie of another network when there is one."""
    reason = f"cannot read the RPC cookie file {cookie} ({exc.strerror})"
    others = [
        name
        for name, sub in NETWORK_SUBDIRS.items()
        if sub and (cookie.parent / sub / ".cookie").is_file()
    ]
    if others:
        reason += f"; there is one for {', '.join(others)} only: is the node on another network?"
    return reason


def _fast_hex_result(body: bytes) -> memoryview | None:
    """The hex of a plain `{"result":"<hex>","error":null,...}` reply without decoding the JSON
    (a block's hex is megabytes long); None when the reply has any other shape."""
    prefix = b'{"result":"'
    if not body.startswith(prefix):
        return None
    end = body.find(b'"', len(prefix))
    if end < 0 or not body[end:].replace(b" ", b"").startswith(b'","error":null'):
        return None
    return memoryview(body)[len(prefix) : end]


def is_block_hash(value: Any) -> bool:
    """64 lower-case hex digits."""
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def bitcoind_from_settings(http: HttpOptions | None = None) -> BitcoindClient:
    """The client configured by BITCOIN_RPC_URL, the cookie or user/password, BITCOIN_DATADIR."""
    from django.conf import settings

    return BitcoindClient(
        settings.BITCOIN_RPC_URL,
        cookie_file=settings.BITCOIN_RPC_COOKIE_FILE,
        user=settings.BITCOIN_RPC_USER,
        password=settings.BITCOIN_RPC_PASSWORD,
        datadir=settings.BITCOIN_DATADIR,
        http=http or HttpOptions(),
    )
