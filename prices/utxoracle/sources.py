"""Where the oracle gets blocks: Bitcoin Core or Esplora (electrs), behind one interface.

A `BlockSource` answers four questions: the tip height, the hash at a height, a header's time
(`block_refs` answers the last two for many heights at once) and the raw block. It talks to its
node through the one client of that service (`core.upstreams.bitcoind`, `core.upstreams.esplora`).
Every failure, be it an unreachable service, an HTTP or RPC error, bad credentials or malformed
data, raises one `BlockSourceError` naming the source, the height and the reason (never
credentials); nothing partial is returned.

Before a source is used it must prove it serves mainnet blocks (`check_ready`): Core by
`getblockchaininfo` (and it must not be in initial block download), Esplora by the genesis hash at
height 0. A source on another network is refused with `WrongSource`, naming the network it found;
a pruned node that no longer keeps the blocks of a day is refused the same way
(`check_keeps`). The network, once proven, is remembered.

Sources are safe to hand to worker processes: the clients create their HTTP session lazily per
process and never pickle it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from core.http import HttpOptions, UpstreamError
from core.upstreams import network_name
from core.upstreams.bitcoind import BitcoindClient, bitcoind_from_settings
from core.upstreams.esplora import EsploraClient
from prices.utxoracle.parser import block_hash, header_time

log = structlog.get_logger(__name__)

ESPLORA_THREADS = 8
MAINNET = "main"
T = TypeVar("T")

__all__ = [
    "BitcoindSource",
    "BlockRef",
    "BlockSource",
    "BlockSourceError",
    "EsploraSource",
    "FallbackSource",
    "HttpOptions",
    "WrongSource",
    "block_source_from_settings",
]


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


class WrongSource(BlockSourceError):
    """The source answers, but cannot give a right price: another network, a node still in
    initial block download, or pruned below the blocks asked for."""


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block's height, hash (hex) and header time (unix seconds)."""

    height: int
    hash: str
    time: int


class BlockSource(ABC):
    """Tip height, hash at height, header time and raw block of one upstream."""

    name: str

    @abstractmethod
    def tip_height(self) -> int:
        """The height of the best block."""

    @abstractmethod
    def block_refs(self, heights: Sequence[int]) -> list[BlockRef]:
        """Hash and header time of each height, in the order given."""

    @abstractmethod
    def raw_block(self, ref: BlockRef) -> bytes:
        """The serialized block."""

    @abstractmethod
    def check_ready(self) -> None:
        """Raise WrongSource unless the source serves mainnet and is in sync."""

    def check_keeps(self, height: int) -> None:  # noqa: B027 - most sources keep every block
        """Raise WrongSource when the source no longer keeps the block at `height` (pruned)."""

    def block_ref(self, height: int) -> BlockRef:
        """Hash and header time of one height."""
        return self.block_refs([height])[0]

    def _error(self, height: int | None, reason: str) -> BlockSourceError:
        return BlockSourceError(self.name, height, reason)

    @contextmanager
    def _failures(self, height: int | list[int] | None) -> Iterator[None]:
        """Turn the client's errors into this source's error at `height` (for a batch of heights:
        the height of the element that failed)."""
        try:
            yield
        except UpstreamError as exc:
            at = height[getattr(exc, "index", 0)] if isinstance(height, list) else height
            reason = exc.reason if exc.path == "/" else f"{exc.path}: {exc.reason}"
            raise self._error(at, reason) from None


def _parallel(function: Callable[[int], T], items: Sequence[int], threads: int) -> list[T]:
    """Map in a few threads (keeping the caller's context, e.g. its correlation ID)."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        futures = [pool.submit(copy_context().run, function, item) for item in items]
        return [future.result() for future in futures]


def _wrong_network(source: str, chain: str) -> WrongSource:
    return WrongSource(
        source,
        None,
        f"it serves {network_name(chain)}, not mainnet: the on-chain price is only meaningful on"
        " mainnet blocks (point the service at a mainnet node)",
    )


class EsploraSource(BlockSource):
    """The Esplora HTTP API of electrs (`ELECTRS_URL`)."""

    name = "esplora"

    def __init__(self, client: EsploraClient) -> None:
        self.client = client
        self.network: str | None = None

    def __repr__(self) -> str:
        return f"EsploraSource({self.client!r})"

    def check_ready(self) -> None:
        if self.network is None:
            with self._failures(None):
                network = self.client.network()
            if network != MAINNET:
                raise _wrong_network(self.name, network)
            self.network = network

    def tip_height(self) -> int:
        with self._failures(None):
            return self.client.tip_height()

    def block_refs(self, heights: Sequence[int]) -> list[BlockRef]:
        return _parallel(self._block_ref, list(heights), ESPLORA_THREADS)

    def _block_ref(self, height: int) -> BlockRef:
        with self._failures(height):
            block_id = self.client.block_hash(height)
            header = self.client.header(block_id)
        if block_hash(header) != block_id:
            raise self._error(height, "header does not hash to the block hash")
        return BlockRef(height, block_id, header_time(header))

    def raw_block(self, ref: BlockRef) -> bytes:
        with self._failures(ref.height):
            return self.client.raw_block(ref.hash)


class BitcoindSource(BlockSource):
    """Bitcoin Core (`BITCOIN_RPC_URL`): JSON-RPC, and REST for blocks when the node serves it."""

    name = "bitcoind"

    def __init__(self, client: BitcoindClient) -> None:
        self.client = client
        self.network: str | None = None
        self.prune_height: int | None = None

    def __repr__(self) -> str:
        return f"BitcoindSource({self.client!r})"

    def call(self, method: str, params: list[Any], height: int | None = None) -> Any:
        """One JSON-RPC call."""
        with self._failures(height):
            return self.client.call(method, *params)

    def check_ready(self) -> None:
        with self._failures(None):
            info = self.client.chain_info()
        if info.chain != MAINNET:
            raise _wrong_network(self.name, info.chain)
        self.network = info.chain
        if info.initial_block_download:
            raise WrongSource(
                self.name,
                None,
                f"the node is still in initial block download (block {info.blocks:,} of"
                f" {info.headers:,}): prices need a synced node",
            )
        self.prune_height = info.prune_height if info.pruned else None

    def check_keeps(self, height: int) -> None:
        if self.prune_height is not None and height < self.prune_height:
            raise WrongSource(
                self.name,
                height,
                f"the node is pruned and keeps blocks from height {self.prune_height:,} only",
            )

    def tip_height(self) -> int:
        with self._failures(None):
            return self.client.block_count()

    def block_refs(self, heights: Sequence[int]) -> list[BlockRef]:
        heights = list(heights)
        if not heights:
            return []
        with self._failures(heights):
            hashes = self.client.block_hashes(heights)
            times = self.client.header_times(hashes)
        return [BlockRef(h, x, t) for h, x, t in zip(heights, hashes, times, strict=True)]

    def raw_block(self, ref: BlockRef) -> bytes:
        with self._failures(ref.height):
            return self.client.raw_block(ref.hash)


class FallbackSource(BlockSource):
    """Ordered alternatives. `prices.utxoracle.engine` runs a whole computation on the first
    source that succeeds; used directly, each call goes to the first source that answers it."""

    def __init__(self, sources: Sequence[BlockSource]) -> None:
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

    def check_ready(self) -> None:
        self._first(lambda s: s.check_ready(), None)

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
    kind = WrongSource if failures and all(isinstance(f, WrongSource) for f in failures) else None
    return (kind or BlockSourceError)(
        name, failures[-1].height if failures else height, f"all sources failed: {reasons}"
    )


# PRICE_SOURCE=auto: Bitcoin Core when it answers (every node stack has it), Esplora otherwise.
AUTO_ORDER = ("bitcoind", "esplora")


def block_source_from_settings(
    names: Sequence[str] | None = None, http: HttpOptions | None = None
) -> BlockSource:
    """The source(s) named (default: settings.PRICE_SOURCE), a FallbackSource for several;
    `http` overrides the timeouts and retries of the settings."""
    from django.conf import settings

    chosen = list(names) if names else list(settings.PRICE_SOURCE)
    if chosen == ["auto"]:
        chosen = list(AUTO_ORDER)
    http = http or HttpOptions(
        settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_READ_TIMEOUT, settings.HTTP_RETRIES
    )
    sources: list[BlockSource] = []
    for name in chosen:
        if name == "esplora":
            sources.append(EsploraSource(EsploraClient(settings.ELECTRS_URL, http, service=name)))
        elif name == "bitcoind":
            sources.append(BitcoindSource(bitcoind_from_settings(http)))
        else:
            raise ValueError(f"unknown block source {name!r} (expected esplora or bitcoind)")
    return sources[0] if len(sources) == 1 else FallbackSource(sources)
