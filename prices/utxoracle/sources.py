"""Where the oracle gets blocks: Esplora HTTP (electrs) or Bitcoin Core JSON-RPC, behind one interface.

A `BlockSource` answers four questions: the tip height, the hash at a height, a header's time
(`block_refs` answers the last two for many heights at once) and the raw block. Every failure, be
it an unreachable service, an HTTP or RPC error, bad credentials or malformed data, raises one
`BlockSourceError` naming the source, the height and the reason (never credentials); nothing
partial is returned. All calls go through the shared HTTP client (`core.http`).

Sources are safe to hand to worker processes: the HTTP session is created lazily per process and
is not pickled.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
import structlog

from core.http import UpstreamError, fetch, http_session
from core.redaction import redact_url
from prices.utxoracle.parser import block_hash, header_time

log = structlog.get_logger(__name__)

MAX_BLOCK_BYTES = 4_000_000  # consensus limit on a serialized block (weight / 1)
RPC_BODY_LIMIT = 2 * MAX_BLOCK_BYTES + 65_536  # hex plus the JSON envelope
ESPLORA_THREADS = 8
T = TypeVar("T")


class BlockSourceError(Exception):
    """A block source failed; the message names the source, the height and the reason."""

    def __init__(self, source: str, height: int | None, reason: str) -> None:
        self.source = source
        self.height = height
        self.reason = reason
        where = "at the chain tip" if height is None else f"at height {height}"
        super().__init__(f"block source {source} failed {where}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, int | None, str]]:
        return type(self), (self.source, self.height, self.reason)


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block's height, hash (hex) and header time (unix seconds)."""

    height: int
    hash: str
    time: int


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Timeouts and retries of a source's HTTP session (None: the project's settings)."""

    connect_timeout: float | None = None
    read_timeout: float | None = None
    retries: int | None = None


class BlockSource(ABC):
    """Tip height, hash at height, header time and raw block of one upstream."""

    name: str

    def __init__(self, http: HttpOptions | None = None) -> None:
        self.http = http or HttpOptions()
        self._session: requests.Session | None = None
        self._session_pid = 0

    def session(self) -> requests.Session:
        """This process's HTTP session (a fresh one after a fork)."""
        if self._session is None or self._session_pid != os.getpid():
            self._session = http_session(
                connect_timeout=self.http.connect_timeout,
                read_timeout=self.http.read_timeout,
                retries=self.http.retries,
            )
            self._session_pid = os.getpid()
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_session"] = None
        return state

    @abstractmethod
    def tip_height(self) -> int:
        """The height of the best block."""

    @abstractmethod
    def block_refs(self, heights: Sequence[int]) -> list[BlockRef]:
        """Hash and header time of each height, in the order given."""

    @abstractmethod
    def raw_block(self, ref: BlockRef) -> bytes:
        """The serialized block."""

    def block_ref(self, height: int) -> BlockRef:
        """Hash and header time of one height."""
        return self.block_refs([height])[0]

    def _error(self, height: int | None, reason: str) -> BlockSourceError:
        return BlockSourceError(self.name, height, reason)


def _parallel(function: Callable[[int], T], items: Sequence[int], threads: int) -> list[T]:
    """Map in a few threads (keeping the caller's context, e.g. its correlation ID)."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        futures = [pool.submit(copy_context().run, function, item) for item in items]
        return [future.result() for future in futures]


class EsploraSource(BlockSource):
    """The Esplora HTTP API of electrs (`ELECTRS_URL`)."""

    name = "esplora"

    def __init__(self, base_url: str, http: HttpOptions | None = None) -> None:
        super().__init__(http)
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"EsploraSource({redact_url(self.base_url)!r})"

    def _get(self, path: str, height: int | None, limit: int = 65_536) -> bytes:
        try:
            _, body = fetch(self.session(), self.name, "GET", self.base_url + path, limit=limit)
        except UpstreamError as exc:
            raise self._error(height, f"{exc.path}: {exc.reason}") from None
        return body

    def _text(self, path: str, height: int | None) -> str:
        try:
            return self._get(path, height).decode("ascii").strip()
        except UnicodeDecodeError:
            raise self._error(height, f"{path}: answer is not text") from None

    def tip_height(self) -> int:
        text = self._text("/blocks/tip/height", None)
        if not text.isdigit():
            raise self._error(None, f"/blocks/tip/height: not a height: {text[:40]!r}")
        return int(text)

    def block_refs(self, heights: Sequence[int]) -> list[BlockRef]:
        return _parallel(self._block_ref, list(heights), ESPLORA_THREADS)

    def _block_ref(self, height: int) -> BlockRef:
        block_id = self._text(f"/block-height/{height}", height)
        if not _is_hash(block_id):
            raise self._error(height, f"/block-height/{height}: not a block hash")
        header_hex = self._text(f"/block/{block_id}/header", height)
        try:
            header = bytes.fromhex(header_hex)
            if len(header) != 80:
                raise ValueError
            if block_hash(header) != block_id:
                raise self._error(height, "header does not hash to the block hash")
        except ValueError:
            raise self._error(height, "/block/…/header: not an 80-byte hex header") from None
        return BlockRef(height, block_id, header_time(header))

    def raw_block(self, ref: BlockRef) -> bytes:
        return self._get(f"/block/{ref.hash}/raw", ref.height, limit=MAX_BLOCK_BYTES)


class BitcoindSource(BlockSource):
    """Bitcoin Core JSON-RPC (`BITCOIN_RPC_URL`), authenticated by cookie file or user/password."""

    name = "bitcoind"

    def __init__(
        self,
        url: str,
        *,
        cookie_file: str | Path | None = None,
        user: str | None = None,
        password: str | None = None,
        http: HttpOptions | None = None,
    ) -> None:
        super().__init__(http)
        self.url = url
        self.cookie_file = Path(cookie_file) if cookie_file else None
        self._user = user
        self._password = password

    def __repr__(self) -> str:
        return f"BitcoindSource({redact_url(self.url)!r})"

    def _authorization(self, height: int | None) -> str:
        if self.cookie_file is not None:
            try:
                credentials = self.cookie_file.read_text().strip()
            except OSError as exc:
                reason = f"cannot read the RPC cookie file {self.cookie_file} ({exc.strerror})"
                raise self._error(height, reason) from None
        elif self._user is not None and self._password is not None:
            credentials = f"{self._user}:{self._password}"
        else:
            raise self._error(height, "no RPC credentials (cookie file or user and password)")
        return "Basic " + base64.b64encode(credentials.encode()).decode()

    def _post(self, payload: Any, height: int | None, limit: int = 1_048_576) -> bytes:
        headers = {"Authorization": self._authorization(height)}
        try:
            response, body = fetch(
                self.session(),
                self.name,
                "POST",
                self.url,
                limit=limit,
                ok_statuses=(200, 404, 500),
                data=json.dumps(payload),
                headers={**headers, "Content-Type": "application/json"},
            )
        except UpstreamError as exc:
            if exc.reason == "HTTP 401" or exc.reason == "HTTP 403":
                reason = f"RPC authentication failed ({exc.reason}): check the cookie or password"
                raise self._error(height, reason) from None
            raise self._error(height, exc.reason) from None
        if response.status_code != 200 and not body.startswith(b"{"):
            raise self._error(height, f"HTTP {response.status_code}")
        return body

    def _decode(self, body: bytes, height: int | None) -> Any:
        try:
            return json.loads(body)
        except ValueError:
            raise self._error(height, "RPC answer is not JSON") from None

    def _result(self, reply: Any, method: str, height: int | None) -> Any:
        if not isinstance(reply, dict) or "result" not in reply:
            raise self._error(height, f"{method}: malformed RPC reply")
        error = reply.get("error")
        if error:
            if isinstance(error, dict):
                raise self._error(
                    height, f"{method}: RPC error {error.get('code')}: {error.get('message')}"
                )
            raise self._error(height, f"{method}: RPC error {error}")
        return reply["result"]

    def call(self, method: str, params: list[Any], height: int | None = None) -> Any:
        """One JSON-RPC call."""
        payload = {"jsonrpc": "1.0", "id": 0, "method": method, "params": params}
        return self._result(self._decode(self._post(payload, height), height), method, height)

    def batch(self, method: str, params: Sequence[list[Any]], heights: Sequence[int]) -> list[Any]:
        """The same method with many parameter lists in one JSON-RPC batch (results in order)."""
        payload = [
            {"jsonrpc": "1.0", "id": i, "method": method, "params": p} for i, p in enumerate(params)
        ]
        replies = self._decode(self._post(payload, heights[0]), heights[0])
        if not isinstance(replies, list) or len(replies) != len(payload):
            if isinstance(replies, dict):  # a batch refused as a whole
                self._result(replies, method, heights[0])
            raise self._error(heights[0], f"{method}: malformed RPC batch reply")
        by_id = {reply.get("id"): reply for reply in replies if isinstance(reply, dict)}
        return [self._result(by_id.get(i), method, heights[i]) for i in range(len(payload))]

    def tip_height(self) -> int:
        count = self.call("getblockcount", [])
        if not isinstance(count, int):
            raise self._error(None, "getblockcount: not an integer")
        return count

    def block_refs(self, heights: Sequence[int]) -> list[BlockRef]:
        heights = list(heights)
        if not heights:
            return []
        hashes = self.batch("getblockhash", [[h] for h in heights], heights)
        for height, value in zip(heights, hashes, strict=True):
            if not isinstance(value, str) or not _is_hash(value):
                raise self._error(height, "getblockhash: not a block hash")
        headers = self.batch("getblockheader", [[h, True] for h in hashes], heights)
        refs = []
        for height, value, header in zip(heights, hashes, headers, strict=True):
            if not isinstance(header, dict) or not isinstance(header.get("time"), int):
                raise self._error(height, "getblockheader: no time in the header")
            refs.append(BlockRef(height, value, header["time"]))
        return refs

    def raw_block(self, ref: BlockRef) -> bytes:
        payload = {"jsonrpc": "1.0", "id": 0, "method": "getblock", "params": [ref.hash, 0]}
        body = self._post(payload, ref.height, limit=RPC_BODY_LIMIT)
        hex_text = _fast_hex_result(body)
        if hex_text is None:
            result = self._result(self._decode(body, ref.height), "getblock", ref.height)
            if not isinstance(result, str):
                raise self._error(ref.height, "getblock: result is not a hex string")
            hex_text = memoryview(result.encode("ascii", "replace"))
        try:
            return binascii.unhexlify(hex_text)
        except (binascii.Error, ValueError):
            raise self._error(ref.height, "getblock: result is not valid hex") from None


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


class FallbackSource(BlockSource):
    """Ordered alternatives. `prices.utxoracle.engine` runs a whole computation on the first source that
    succeeds; used directly, each call goes to the first source that answers it."""

    def __init__(self, sources: Sequence[BlockSource]) -> None:
        super().__init__()
        if not sources:
            raise ValueError("a fallback needs at least one source")
        self.sources = list(sources)
        self.name = ",".join(source.name for source in self.sources)

    def _first(self, call: Callable[[BlockSource], T], height: int | None) -> T:
        failures = []
        for source in self.sources:
            try:
                return call(source)
            except BlockSourceError as exc:
                log.warning("block_source_failed", source=source.name, error=str(exc))
                failures.append(exc)
        raise combined_error(self.name, failures, height)

    def tip_height(self) -> int:
        return self._first(lambda s: s.tip_height(), None)

    def block_refs(self, heights: Sequence[int]) -> list[BlockRef]:
        return self._first(lambda s: s.block_refs(heights), heights[0] if heights else None)

    def raw_block(self, ref: BlockRef) -> bytes:
        return self._first(lambda s: s.raw_block(ref), ref.height)


def combined_error(
    name: str, failures: Sequence[BlockSourceError], height: int | None
) -> BlockSourceError:
    """One error for a fallback list whose every source failed."""
    reasons = "; ".join(str(exc) for exc in failures)
    return BlockSourceError(
        name, failures[-1].height if failures else height, f"all sources failed: {reasons}"
    )


def _is_hash(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def block_source_from_settings(names: Sequence[str] | None = None) -> BlockSource:
    """The source(s) named (default: settings.PRICE_SOURCE), a FallbackSource for several."""
    from django.conf import settings

    chosen = list(names) if names else list(getattr(settings, "PRICE_SOURCE", ("esplora",)))
    http = HttpOptions(
        getattr(settings, "HTTP_CONNECT_TIMEOUT", None),
        getattr(settings, "HTTP_READ_TIMEOUT", None),
        getattr(settings, "HTTP_RETRIES", None),
    )
    sources: list[BlockSource] = []
    for name in chosen:
        if name == "esplora":
            sources.append(
                EsploraSource(getattr(settings, "ELECTRS_URL", "http://localhost:3001"), http)
            )
        elif name == "bitcoind":
            sources.append(
                BitcoindSource(
                    getattr(settings, "BITCOIN_RPC_URL", "http://127.0.0.1:8332"),
                    cookie_file=getattr(settings, "BITCOIN_RPC_COOKIE_FILE", None),
                    user=getattr(settings, "BITCOIN_RPC_USER", None),
                    password=getattr(settings, "BITCOIN_RPC_PASSWORD", None),
                    http=http,
                )
            )
        else:
            raise ValueError(f"unknown block source {name!r} (expected esplora or bitcoind)")
    return sources[0] if len(sources) == 1 else FallbackSource(sources)
