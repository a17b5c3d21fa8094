"""The Esplora HTTP API of electrs (Blockstream/electrs and mempool/electrs, `src/rest.rs`).

Used at `ELECTRS_URL` for blocks (`/blocks/tip/height`, `/block-height/:h` → text hash,
`/block/:hash/header` → 160 hex characters, `/block/:hash/raw` → binary block) and transactions
(`/mempool/txids`, `/tx/:txid` → 200 for confirmed transactions too, 404 only when unknown,
`/tx/:txid/status` → `{confirmed, block_height, block_hash, block_time}`). The mempool backend serves
the same transaction routes under `/api/v1` (when its BACKEND is not `esplora`), so
`core.upstreams.mempool` reuses this client for them.

The network: the hash at height 0 is the genesis block of the chain electrs indexes (mainnet on
port 3000, testnet on 3001, regtest on 3002 by default, `src/config.rs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.http import HttpOptions, UpstreamError
from core.upstreams import GENESIS_HASHES, Upstream
from core.upstreams.bitcoind import MAX_BLOCK_BYTES, is_block_hash

TEXT_LIMIT = 65_536
TXIDS_LIMIT = 64 * 2**20  # ~900,000 txids
TX_LIMIT = 8 * 2**20


@dataclass(frozen=True)
class TxStatus:
    """Where a transaction stands: unconfirmed (in the mempool) or in a block."""

    confirmed: bool
    block_height: int | None = None
    block_time: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> TxStatus:
        if not isinstance(data, dict) or not isinstance(data.get("confirmed"), bool):
            raise ValueError("not a transaction status")
        height, when = data.get("block_height"), data.get("block_time")
        return cls(
            confirmed=data["confirmed"],
            block_height=height if isinstance(height, int) else None,
            block_time=when if isinstance(when, int) else None,
        )


class EsploraClient(Upstream):
    """An Esplora API: electrs at ELECTRS_URL, or the mempool backend's `/api/v1`."""

    service = "esplora"

    def _text(self, path: str) -> str:
        _, body = self.request("GET", path, limit=TEXT_LIMIT)
        try:
            return body.decode("ascii").strip()
        except UnicodeDecodeError:
            raise self.error(path, "the answer is not text") from None

    def _json(self, path: str, limit: int = TX_LIMIT, ok_statuses: tuple[int, ...] = (200,)) -> Any:
        response, body = self.request("GET", path, limit=limit, ok_statuses=ok_statuses)
        if response.status_code != 200:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise self.error(path, "the answer is not JSON") from None

    def tip_height(self) -> int:
        text = self._text("/blocks/tip/height")
        if not text.isdigit():
            raise self.error("/blocks/tip/height", f"not a block height: {text[:40]!r}")
        return int(text)

    def block_hash(self, height: int) -> str:
        path = f"/block-height/{height}"
        text = self._text(path)
        if not is_block_hash(text):
            raise self.error(path, "not a block hash")
        return text

    def header(self, block_hash: str) -> bytes:
        """The 80-byte header."""
        try:
            header = bytes.fromhex(self._text(f"/block/{block_hash}/header"))
        except ValueError:
            header = b""
        if len(header) != 80:
            raise self.error(f"/block/{block_hash}/header", "not an 80-byte hex header")
        return header

    def raw_block(self, block_hash: str) -> bytes:
        _, body = self.request("GET", f"/block/{block_hash}/raw", limit=MAX_BLOCK_BYTES)
        return body

    def network(self) -> str:
        """The chain of the genesis block (`main`, `test`, `testnet4`, `signet`, `regtest`), or
        `unknown` when block 0 is no known genesis block."""
        return GENESIS_HASHES.get(self.block_hash(0), "unknown")

    def mempool_txids(self) -> list[str]:
        txids = self._json("/mempool/txids", limit=TXIDS_LIMIT)
        if not isinstance(txids, list):
            raise self.error("/mempool/txids", "not a list")
        return [txid.lower() for txid in txids if isinstance(txid, str) and len(txid) == 64]

    def tx(self, txid: str) -> dict[str, Any] | None:
        """The transaction (mempool or confirmed); None when the server does not know it."""
        found = self._json(f"/tx/{txid}", ok_statuses=(200, 404))
        if found is not None and not isinstance(found, dict):
            raise self.error(f"/tx/{txid}", "not a transaction object")
        return found

    def tx_status(self, txid: str) -> TxStatus | None:
        """Confirmed (with its block) or not; None when the server does not know it."""
        found = self._json(f"/tx/{txid}/status", ok_statuses=(200, 404))
        if found is None:
            return None
        try:
            return TxStatus.from_json(found)
        except ValueError as exc:
            raise self.error(f"/tx/{txid}/status", str(exc)) from None


def esplora_from_settings(http: HttpOptions | None = None) -> EsploraClient:
    """The client for ELECTRS_URL."""
    from django.conf import settings

    return EsploraClient(settings.ELECTRS_URL, http, service="electrs")


__all__ = ["EsploraClient", "TxStatus", "UpstreamError", "esplora_from_settings"]
