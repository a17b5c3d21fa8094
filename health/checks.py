"""The checks that ship with the health app: the Django database, electrs, the mempool backend,
the channel layer (Redis) and Bitcoin Core. Other apps register their own checks (see
`health.base`)."""

from __future__ import annotations

import json

import redis
import redis.asyncio
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DjangoDatabaseError

from core.http import UpstreamError, fetch, http_session
from health.base import (
    Check,
    CheckError,
    first_line,
    is_number,
    register,
    upstream_check_error,
)

PROBE_BODY_LIMIT = 64 * 1024


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
            raise CheckError(f"{type(exc).__name__}: {first_line(exc)}") from None
        finally:
            connection.close()


class HttpCheck(Check):
    """A check that GETs one URL of an upstream HTTP service."""

    def get(self, url: str) -> bytes:
        seconds = self.timeout_seconds
        with http_session(connect_timeout=seconds, read_timeout=seconds, retries=0) as session:
            try:
                return fetch(session, self.name, "GET", url, limit=PROBE_BODY_LIMIT)[1]
            except UpstreamError as exc:
                raise upstream_check_error(exc) from None


class ElectrsCheck(HttpCheck):
    """electrs answers its tip height as an integer."""

    name = "electrs"

    def probe(self) -> None:
        body = self.get(f"{settings.ELECTRS_URL}/blocks/tip/height").strip()
        if not body.isdigit():
            raise CheckError(
                f"electrs: /blocks/tip/height: expected a block height, got {len(body)} bytes "
                "of something else"
            )


class MempoolBackendCheck(HttpCheck):
    """The mempool backend answers its price list with a numeric USD price."""

    name = "mempool_backend"

    def probe(self) -> None:
        body = self.get(f"{settings.MEMPOOL_URL}/api/v1/prices")
        where = "mempool_backend: /api/v1/prices"
        try:
            prices = json.loads(body)
        except ValueError:
            raise CheckError(f"{where}: the answer is not JSON") from None
        usd = prices.get("USD") if isinstance(prices, dict) else None
        if not is_number(usd):
            raise CheckError(f"{where}: the answer has no numeric USD price")


class ChannelLayerCheck(Check):
    """Redis, the channel layer between web processes, answers PING (when REDIS_URL is set)."""

    name = "channel_layer"
    component_type = "datastore"

    def enabled(self) -> bool:
        return bool(settings.REDIS_URL)

    async def probe(self) -> None:
        # run() cancels the ping at the timeout; the client then closes its connection.
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        try:
            await client.ping()
        except redis.RedisError as exc:
            raise CheckError(f"channel_layer: {type(exc).__name__}: {first_line(exc)}") from None
        finally:
            await client.aclose()


class BitcoinRpcCheck(Check):
    """Bitcoin Core answers `getblockcount` (when BITCOIN_RPC_URL is configured)."""

    name = "bitcoin_rpc"

    def enabled(self) -> bool:
        return settings.BITCOIN_RPC_CONFIGURED

    def probe(self) -> None:
        seconds = self.timeout_seconds
        request = {"jsonrpc": "1.0", "id": "health", "method": "getblockcount", "params": []}
        with http_session(connect_timeout=seconds, read_timeout=seconds, retries=0) as session:
            try:
                response, body = fetch(
                    session,
                    self.name,
                    "POST",
                    settings.BITCOIN_RPC_URL,
                    json=request,
                    auth=rpc_credentials(),
                    ok_statuses=(200, 500),
                    limit=PROBE_BODY_LIMIT,
                )
            except UpstreamError as exc:
                if exc.reason in ("HTTP 401", "HTTP 403"):
                    raise CheckError(f"{exc} (check the RPC credentials)") from None
                raise upstream_check_error(exc) from None
        try:
            reply = json.loads(body)
        except ValueError:
            raise CheckError(f"bitcoin_rpc: HTTP {response.status_code}, not JSON") from None
        reply = reply if isinstance(reply, dict) else {}
        failure = reply.get("error")
        if isinstance(failure, dict):
            code, message = failure.get("code"), str(failure.get("message"))[:200]
            raise CheckError(f"bitcoin_rpc: getblockcount: RPC error {code}: {message}")
        if response.status_code != 200 or not isinstance(reply.get("result"), int):
            raise CheckError("bitcoin_rpc: getblockcount: no block count in the answer")


def rpc_credentials() -> tuple[str, str] | None:
    """(user, password) from the cookie file, else from BITCOIN_RPC_USER/PASSWORD, else None."""
    cookie = settings.BITCOIN_RPC_COOKIE_FILE
    if cookie is not None:
        try:
            user, _, password = cookie.read_text().strip().partition(":")
        except OSError as exc:
            raise CheckError(
                f"bitcoin_rpc: cannot read BITCOIN_RPC_COOKIE_FILE ({type(exc).__name__})"
            ) from None
        return user, password
    if settings.BITCOIN_RPC_USER and settings.BITCOIN_RPC_PASSWORD:
        return settings.BITCOIN_RPC_USER, settings.BITCOIN_RPC_PASSWORD
    return None


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
