"""Read and validate the service's configuration from environment variables, in one place.

Every variable of the configuration contract is parsed here with its default. A bad value raises
`ConfigError` whose message names the variable and the expected form; `oracle.settings` turns it
into a one-line start-up failure.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

PRICE_SOURCES = ("esplora", "bitcoind")
LOG_FORMATS = ("json", "console")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRET_KEY_FILE = "secret_key"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration variable has a value the service cannot use."""

    def __init__(self, name: str, expected: str, value: str | None = None) -> None:
        got = "" if value is None else f" (got {value!r})"
        super().__init__(f"{name} must be {expected}{got}")
        self.name = name


@dataclass(frozen=True)
class Config:
    """The validated configuration; field names are the variable names in lower case."""

    django_secret_key: str
    django_debug: bool
    django_allowed_hosts: tuple[str, ...]
    django_csrf_trusted_origins: tuple[str, ...]
    oracle_data_dir: Path
    database_url: str
    redis_url: str | None
    duckdb_path: Path
    electrs_url: str
    mempool_url: str
    mempool_ws_url: str
    bitcoin_rpc_url: str
    bitcoin_rpc_configured: bool
    bitcoin_rpc_cookie_file: Path | None
    bitcoin_rpc_user: str | None
    bitcoin_rpc_password: str | None
    price_source: tuple[str, ...]
    log_format: str
    log_level: str
    http_connect_timeout: float
    http_read_timeout: float
    http_retries: int
    health_check_timeout: float
    health_cache_seconds: float
    health_sample_seconds: float
    health_gap_days: int
    health_retention_days: int
    health_disabled_checks: tuple[str, ...]
    price_window_days: int
    price_update_seconds: float
    price_min_usd: float
    price_max_usd: float
    price_min_outputs: int
    price_max_deviation: float
    price_freshness_grace_seconds: float
    whale_min_btc: float
    whale_min_usd: float | None
    oracle_admin_user: str | None
    oracle_admin_password: str | None


class _Env:
    """Typed accessors over an environment mapping; each raises ConfigError on a bad value."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return default if value is None else value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(name, "a boolean (true/false, 1/0, yes/no, on/off)", value)

    def number(
        self,
        name: str,
        default: float | None,
        *,
        minimum: float = 0.0,
        allow_zero: bool = False,
        cast: Callable[[str], float] = float,
    ) -> float | None:
        value = self.raw(name)
        if value is None:
            return default
        kind = "an integer" if cast is int else "a number"
        bound = f">= {minimum:g}" if allow_zero else f"> {minimum:g}"
        expected = f"{kind} {bound}"
        try:
            parsed = cast(value)
        except ValueError:
            raise ConfigError(name, expected, value) from None
        if parsed != parsed or parsed in (float("inf"), float("-inf")):
            raise ConfigError(name, expected, value)
        if parsed < minimum or (parsed == minimum and not allow_zero):
            raise ConfigError(name, expected, value)
        return parsed

    def integer(self, name: str, default: int, *, minimum: int = 1) -> int:
        return int(self.number(name, default, minimum=minimum, allow_zero=True, cast=int))

    def url(self, name: str, default: str, schemes: tuple[str, ...]) -> str:
        value = self.text(name, default)
        assert value is not None
        expected = f"a URL starting with {' or '.join(s + '://' for s in schemes)} and a host"
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ConfigError(name, expected, _redact(value)) from None
        if parts.scheme not in schemes or not parts.hostname:
            raise ConfigError(name, expected, _redact(value))
        return value.rstrip("/")

    def choice(self, name: str, default: str, choices: tuple[str, ...], *, upper=False) -> str:
        value = self.text(name, default)
        assert value is not None
        value = value.upper() if upper else value.lower()
        if value not in choices:
            raise ConfigError(name, f"one of {', '.join(choices)}", value)
        return value

    def csv(self, name: str, default: str) -> tuple[str, ...]:
        value = self.text(name, default) or ""
        return tuple(item.strip() for item in value.split(",") if item.strip())


def _redact(url: str) -> str:
    """Hide a password in a URL before it appears in an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def _database_url(env: _Env, data_dir: Path) -> str:
    default = f"sqlite:///{data_dir / 'oracle.sqlite3'}"
    value = env.text("DATABASE_URL", default)
    assert value is not None
    expected = "a database URL: sqlite:///PATH or postgres://USER@HOST:PORT/NAME"
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ConfigError("DATABASE_URL", expected, _redact(value))
    try:
        dj_database_url.parse(value)
    except ValueError:
        raise ConfigError("DATABASE_URL", expected, _redact(value)) from None
    return value


def _price_sources(env: _Env) -> tuple[str, ...]:
    sources = env.csv("PRICE_SOURCE", "esplora")
    expected = "a comma-separated list of esplora, bitcoind (tried in that order)"
    if (
        not sources
        or any(s not in PRICE_SOURCES for s in sources)
        or len(set(sources)) != len(sources)
    ):
        raise ConfigError("PRICE_SOURCE", expected, env.raw("PRICE_SOURCE"))
    return sources


def _check_names(env: _Env) -> tuple[str, ...]:
    names = env.csv("HEALTH_DISABLED_CHECKS", "")
    if any(not re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names):
        raise ConfigError(
            "HEALTH_DISABLED_CHECKS",
            "a comma-separated list of check names such as mempool_feed,bitcoin_rpc",
            env.raw("HEALTH_DISABLED_CHECKS"),
        )
    return names


def _secret_key(env: _Env, debug: bool, data_dir: Path) -> str:
    """The explicit key; in debug a fixed development key; otherwise one generated once on disk.

    Production never runs with a key known to anyone else: without DJANGO_SECRET_KEY a random key
    is created in ORACLE_DATA_DIR/secret_key (mode 0600) and reused by every process of the host.
    """
    key = env.raw("DJANGO_SECRET_KEY")
    if key is not None:
        if len(key) < 32:
            raise ConfigError("DJANGO_SECRET_KEY", "at least 32 characters long")
        return key
    if debug:
        return "django-insecure-development-key-only-used-with-DJANGO_DEBUG-on"
    path = data_dir / SECRET_KEY_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            stored = path.read_text().strip()
        else:
            stored = secrets.token_urlsafe(50)
            with os.fdopen(fd, "w") as handle:
                handle.write(stored + "\n")
    except OSError as exc:
        raise ConfigError(
            "DJANGO_SECRET_KEY",
            f"set, because no key can be kept in {path} ({exc.strerror})",
        ) from None
    if len(stored) < 32:
        raise ConfigError("DJANGO_SECRET_KEY", f"set, because {path} holds no usable key")
    return stored


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Parse the environment into a Config, raising ConfigError on the first bad value."""
    env = _Env(os.environ if environ is None else environ)
    debug = env.boolean("DJANGO_DEBUG", False)
    data_dir = Path(env.text("ORACLE_DATA_DIR", "data") or "data").expanduser().resolve()
    duckdb_path = Path(env.text("DUCKDB_PATH") or data_dir / "prices.duckdb").expanduser()
    redis_url = env.raw("REDIS_URL")
    if redis_url is not None:
        redis_url = env.url("REDIS_URL", redis_url, ("redis", "rediss", "unix"))
    cookie = env.raw("BITCOIN_RPC_COOKIE_FILE")
    whale_min_usd = env.number("WHALE_MIN_USD", None)
    price_min_usd = env.number("PRICE_MIN_USD", 10_000.0)
    price_max_usd = env.number("PRICE_MAX_USD", 500_000.0)
    if price_max_usd <= price_min_usd:
        raise ConfigError("PRICE_MAX_USD", f"greater than PRICE_MIN_USD ({price_min_usd:g})")
    sources = _price_sources(env)
    return Config(
        django_secret_key=_secret_key(env, debug, data_dir),
        django_debug=debug,
        django_allowed_hosts=env.csv("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"),
        django_csrf_trusted_origins=env.csv("DJANGO_CSRF_TRUSTED_ORIGINS", ""),
        oracle_data_dir=data_dir,
        database_url=_database_url(env, data_dir),
        redis_url=redis_url,
        duckdb_path=duckdb_path,
        electrs_url=env.url("ELECTRS_URL", "http://localhost:3001", ("http", "https")),
        mempool_url=env.url("MEMPOOL_URL", "http://localhost:8999", ("http", "https")),
        mempool_ws_url=env.url("MEMPOOL_WS_URL", "ws://localhost:8999/api/v1/ws", ("ws", "wss")),
        bitcoin_rpc_url=env.url("BITCOIN_RPC_URL", "http://127.0.0.1:8332", ("http", "https")),
        bitcoin_rpc_configured=env.raw("BITCOIN_RPC_URL") is not None or "bitcoind" in sources,
        bitcoin_rpc_cookie_file=Path(cookie).expanduser() if cookie else None,
        bitcoin_rpc_user=env.raw("BITCOIN_RPC_USER"),
        bitcoin_rpc_password=env.raw("BITCOIN_RPC_PASSWORD"),
        price_source=sources,
        log_format=env.choice("LOG_FORMAT", "console" if debug else "json", LOG_FORMATS),
        log_level=env.choice("LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
        http_connect_timeout=env.number("HTTP_CONNECT_TIMEOUT", 3.0),
        http_read_timeout=env.number("HTTP_READ_TIMEOUT", 30.0),
        http_retries=env.integer("HTTP_RETRIES", 2, minimum=0),
        health_check_timeout=env.number("HEALTH_CHECK_TIMEOUT", 2.0),
        health_cache_seconds=env.number("HEALTH_CACHE_SECONDS", 5.0, allow_zero=True),
        health_sample_seconds=env.number("HEALTH_SAMPLE_SECONDS", 60.0),
        health_gap_days=env.integer("HEALTH_GAP_DAYS", 7),
        health_retention_days=env.integer("HEALTH_RETENTION_DAYS", 30),
        health_disabled_checks=_check_names(env),
        price_window_days=env.integer("PRICE_WINDOW_DAYS", 7),
        price_update_seconds=env.number("PRICE_UPDATE_SECONDS", 600.0),
        price_min_usd=price_min_usd,
        price_max_usd=price_max_usd,
        price_min_outputs=env.integer("PRICE_MIN_OUTPUTS", 1000, minimum=0),
        price_max_deviation=env.number("PRICE_MAX_DEVIATION", 0.2),
        price_freshness_grace_seconds=env.number(
            "PRICE_FRESHNESS_GRACE_SECONDS", 3600.0, allow_zero=True
        ),
        whale_min_btc=env.number("WHALE_MIN_BTC", 100.0),
        whale_min_usd=whale_min_usd,
        oracle_admin_user=env.raw("ORACLE_ADMIN_USER"),
        oracle_admin_password=env.raw("ORACLE_ADMIN_PASSWORD"),
    )
