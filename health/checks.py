"""The checks that ship with the health app: the Django database, electrs, the mempool backend,
the channel layer (Redis) and Bitcoin Core, each upstream asked through its one client. Other apps
register their own checks (see `health.base`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DjangoDatabaseError

from core.http import HttpOptions
from core.upstreams import UpstreamError, network_name
from core.upstreams.bitcoind import bitcoind_from_settings
from core.upstreams.esplora import EsploraClient
from core.upstreams.mempool import MempoolClient
from health.base import Check, CheckError, first_line, register, upstream_check_error

T = TypeVar("T")


class AppDatabaseCheck(Check):
    """The Django database answers `SELECT 1` on a fresh connection."""

    name = "app_database"
    critical = True
    component_type = "datastore"

    def probe(self) -> None:
        connection = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DjangoDatabaseError as exc:
            name = type(exc).__name__
            raise CheckError(f"{name}: {first_line(exc)}", f"database error ({name})") from None
        finally:
            connection.close()


class UpstreamCheck(Check):
    """A check of an upstream service through its client (`core.upstreams`), with no retries."""

    def http(self) -> HttpOptions:
        # Twice the check's timeout: the check gives up first (its own "no answer within"),
        # while its thread still ends soon after.
        seconds = 2 * self.timeout_seconds
        return HttpOptions(connect_timeout=seconds, read_timeout=seconds, retries=0)

    def ask(self, call: Callable[[], T]) -> T:
        """Make a client call; its failure becomes the check's (a timeout stays a timeout)."""
        try:
            return call()
        except UpstreamError as exc:
            raise upstream_check_error(exc) from None


def _not_mainnet(service: str, chain: str) -> CheckError:
    return CheckError(
        f"{service}: serves {network_name(chain)}, not mainnet (prices need mainnet blocks)"
    )


class ElectrsCheck(UpstreamCheck):
    """electrs answers its tip height, and its block 0 is mainnet's genesis block (asked until
    proven once for the configured URL)."""

    name = "electrs"
    proven_url: str | None = None

    def enabled(self) -> bool:
        return settings.ELECTRS_CONFIGURED

    def probe(self) -> None:
        client = EsploraClient(settings.ELECTRS_URL, self.http(), service=self.name)
        self.ask(client.tip_height)
        if self.proven_url != settings.ELECTRS_URL:
            network = self.ask(client.network)
            if network != "main":
                raise _not_mainnet(self.name, network)
            self.proven_url = settings.ELECTRS_URL


class MempoolBackendCheck(UpstreamCheck):
    """The mempool backend answers its exchange price, and has one."""

    name = "mempool_backend"

    def probe(self) -> None:
        client = MempoolClient(settings.MEMPOOL_URL, self.http(), service=self.name)
        if self.ask(client.usd_price) is None:
            raise CheckError(
                f"{self.name}: /api/v1/prices: no exchange price (USD: -1): the backend's fiat"
                " prices are off or its price feeds unreachable",
                "no exchange price",
            )


class ChannelLayerCheck(Check):
    """Redis, the channel layer between web processes, answers PING (when REDIS_URL is set)."""

    name = "channel_layer"
    component_type = "datastore"

    def enabled(self) -> bool:
        return bool(settings.REDIS_URL)

    async def probe(self) -> None:
        import redis.asyncio  # only installations with REDIS_URL pay for it

        # run() cancels the ping at the timeout; the client then closes its connection.
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        try:
            await client.ping()
        except redis.asyncio.RedisError as exc:
            name = type(exc).__name__
            raise CheckError(
                f"channel_layer: {name}: {first_line(exc)}", f"redis error ({name})"
            ) from None
        finally:
            await client.aclose()


class BitcoinRpcCheck(UpstreamCheck):
    """Bitcoin Core answers `getblockchaininfo` on mainnet and is not in initial block download
    (when the RPC is configured or a price source)."""

    name = "bitcoin_rpc"

    def enabled(self) -> bool:
        return settings.BITCOIN_RPC_CONFIGURED

    def probe(self) -> None:
        client = bitcoind_from_settings(self.http())
        client.service = self.name
        info = self.ask(client.chain_info)
        if info.chain != "main":
            raise _not_mainnet(self.name, info.chain)
        if info.initial_block_download:
            raise CheckError(
                f"{self.name}: still in initial block download (block {info.blocks:,} of"
                f" {info.headers:,})"
            )


def register_builtin_checks() -> None:
    """Register the checks that ship with the health app (called once at start)."""
    for check in (
        AppDatabaseCheck(),
        ElectrsCheck(),
        MempoolBackendCheck(),
        ChannelLayerCheck(),
        BitcoinRpcCheck(),
    ):
        register(check)
