"""Read and validate the service's configuration from environment variables, in one place.

Each variable is declared once, in `VARIABLES`: its name, default, parser and one-line meaning.
From that list come the validated `Config` (`load_config`), the Django settings of the same names
(`oracle.settings` takes `Config.settings()` whole), the README's configuration table and
`.env.example` (both written by `scripts/config_docs.py`; a test fails when they drift). Adding a
variable is adding one `Variable(...)` entry.

Variables are parsed in the order declared, so a default or a check may use a variable declared
before it (`DATABASE_URL` defaults to a file in `ORACLE_DATA_DIR`). A bad value raises
`ConfigError`, whose message names the variable and the expected form; `oracle.settings` turns it
into a one-line start-up failure.

A `.env` file of `NAME=value` lines in the working directory (or the file `ORACLE_ENV_FILE` names)
is read first; a variable set in the real environment wins over the file. The parser is ours, not
python-dotenv: it is thirty lines, adds no dependency, and accepts only the plain `NAME=value`
syntax that systemd's `EnvironmentFile=` and Procfile runners read too, so one file serves all three.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url

from core.redaction import redact_url

PRICE_SOURCES = ("esplora", "bitcoind")
LOG_FORMATS = ("json", "console")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
NOTIFY_EVENTS = ("whale", "health", "price_day")
SECRET_KEY_FILE = "secret_key"
ENV_FILE = ".env"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_ENV_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


class ConfigError(ValueError):
    """A configuration variable has a value the service cannot use."""

    def __init__(self, name: str, expected: str, value: str | None = None) -> None:
        got = "" if value is None else f" (got {value!r})"
        super().__init__(f"{name} must be {expected}{got}")
        self.name = name


@dataclass
class Loading:
    """What a parser or a computed default may look at: the variables parsed so far."""

    values: dict[str, Any]
    explicit: set[str]  # names given a non-blank value by the environment or the .env file
    stderr_is_tty: bool

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


# parse(name, text, loading) -> value; text is the stripped value, or the default when the
# variable is unset or blank (None when there is no default).
Parser = Callable[[str, str | None, Loading], Any]
Default = str | Callable[[Loading], str] | None


@dataclass(frozen=True)
class Variable:
    """One environment variable of the configuration contract."""

    name: str
    default: Default  # the text used when unset; computed from earlier variables; None: unset
    parse: Parser
    meaning: str  # one line, for the README table and .env.example
    shown_default: str | None = None  # how the docs describe a default computed at start-up
    setting: str | None = ""  # Django setting name: "" for the variable's own, None for none
    to_setting: Callable[[Any], Any] = field(default=lambda value: value)
    in_env_file: bool = True  # False: only the real environment can set it

    @property
    def setting_name(self) -> str | None:
        return self.name if self.setting == "" else self.setting


@dataclass(frozen=True)
class Derived:
    """A setting computed from the variables, not read from the environment."""

    setting: str
    compute: Callable[[Loading], Any]


# -- parsers -------------------------------------------------------------------------------------


def text() -> Parser:
    return lambda name, value, loading: value


def boolean() -> Parser:
    def parse(name: str, value: str | None, loading: Loading) -> bool:
        lowered = (value or "").lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(name, "a boolean (true/false, 1/0, yes/no, on/off)", value)

    return parse


def number(
    *, minimum: float = 0.0, allow_zero: bool = False, cast: Callable[[str], float] = float
) -> Parser:
    kind = "an integer" if cast is int else "a number"
    bound = f">= {minimum:g}" if allow_zero else f"> {minimum:g}"
    expected = f"{kind} {bound}"

    def parse(name: str, value: str | None, loading: Loading) -> float | None:
        if value is None:
            return None
        try:
            parsed = cast(value)
        except ValueError:
            raise ConfigError(name, expected, value) from None
        if parsed != parsed or parsed in (float("inf"), float("-inf")):
            raise ConfigError(name, expected, value)
        if parsed < minimum or (parsed == minimum and not allow_zero):
            raise ConfigError(name, expected, value)
        return parsed

    return parse


def integer(*, minimum: int = 1) -> Parser:
    return number(minimum=minimum, allow_zero=True, cast=int)


def url(*schemes: str) -> Parser:
    expected = f"a URL starting with {' or '.join(s + '://' for s in schemes)} and a host"

    def parse(name: str, value: str | None, loading: Loading) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ConfigError(name, expected, _redact(value)) from None
        if parts.scheme not in schemes or not parts.hostname:
            raise ConfigError(name, expected, _redact(value))
        return value.rstrip("/")

    return parse


def choice(*choices: str, upper: bool = False) -> Parser:
    def parse(name: str, value: str | None, loading: Loading) -> str:
        value = (value or "").upper() if upper else (value or "").lower()
        if value not in choices:
            raise ConfigError(name, f"one of {', '.join(choices)}", value)
        return value

    return parse


def csv(
    item: Callable[[str], bool] = lambda item: True, expected: str = "", *, required: bool = False
) -> Parser:
    """A comma-separated list; each item must pass `item`, none may repeat when `required`."""

    def parse(name: str, value: str | None, loading: Loading) -> tuple[str, ...]:
        items = tuple(part.strip() for part in (value or "").split(",") if part.strip())
        bad = any(not item(part) for part in items)
        if bad or (required and (not items or len(set(items)) != len(items))):
            raise ConfigError(name, expected, value)
        return items

    return parse


def path(*, resolve: bool = False) -> Parser:
    def parse(name: str, value: str | None, loading: Loading) -> Path | None:
        if value is None:
            return None
        chosen = Path(value).expanduser()
        return chosen.resolve() if resolve else chosen

    return parse


def greater_than(other: str, parser: Parser) -> Parser:
    """`parser`, then the value must exceed the variable `other` (declared before)."""

    def parse(name: str, value: str | None, loading: Loading) -> Any:
        parsed = parser(name, value, loading)
        if parsed <= loading[other]:
            raise ConfigError(name, f"greater than {other} ({loading[other]:g})")
        return parsed

    return parse


def _redact(value: str) -> str:
    """A URL as an error message may show it: credentials dropped (unparseable: as it is, since
    it then carries no recognisable password)."""
    shown = redact_url(value)
    return value if shown == "<unparseable URL>" else shown


def _price_sources(name: str, value: str | None, loading: Loading) -> tuple[str, ...]:
    expected = "auto, or a comma-separated list of bitcoind, esplora (tried in that order)"
    sources = csv(lambda s: s in PRICE_SOURCES, expected, required=True)
    if (value or "").strip().lower() == "auto":
        return ("auto",)
    return sources(name, value, loading)


def _database_url(name: str, value: str | None, loading: Loading) -> str:
    assert value is not None
    expected = "a database URL: sqlite:///PATH or postgres://USER@HOST:PORT/NAME"
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ConfigError(name, expected, _redact(value))
    try:
        dj_database_url.parse(value)
    except ValueError:
        raise ConfigError(name, expected, _redact(value)) from None
    return value


def _secret_key(name: str, value: str | None, loading: Loading) -> str:
    """The explicit key; in debug a fixed development key; otherwise one generated once on disk.

    Production never runs with a key known to anyone else: without DJANGO_SECRET_KEY a random key
    is created in ORACLE_DATA_DIR/secret_key (mode 0600) and reused by every process of the host.
    """
    if value is not None:
        if len(value) < 32:
            raise ConfigError(name, "at least 32 characters long")
        return value
    if loading["DJANGO_DEBUG"]:
        return "django-insecure-development-key-only-used-with-DJANGO_DEBUG-on"
    data_dir: Path = loading["ORACLE_DATA_DIR"]
    key_path = data_dir / SECRET_KEY_FILE
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not key_path.exists():
            _publish_new_key(key_path)
        stored = key_path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            name, f"set, because no key can be kept in {key_path} ({exc.strerror})"
        ) from None
    if len(stored) < 32:
        raise ConfigError(name, f"set, because {key_path} holds no usable key")
    return stored


def _publish_new_key(key_path: Path) -> None:
    """Write a new random key beside `key_path` and link it there unless a key is already there.

    The link appears whole or not at all, so processes starting together on a fresh data
    directory never read a half-written key, and the first one's key is the one all of them use.
    """
    with tempfile.NamedTemporaryFile(
        "w", dir=key_path.parent, prefix=f".{key_path.name}-", delete=False
    ) as handle:  # created with mode 0600
        handle.write(secrets.token_urlsafe(50) + "\n")
    try:
        with contextlib.suppress(FileExistsError):
            os.link(handle.name, key_path)
    finally:
        os.unlink(handle.name)


def _origins(name: str, value: str | None, loading: Loading) -> tuple[str, ...]:
    """Browser origins: `http(s)://HOST[:PORT]` each, no path; `*` is refused."""
    expected = "a comma-separated list of origins such as https://oracle.example (no *, no path)"
    origins = csv(_is_origin, expected)(name, value, loading)
    return tuple(origin.lower() for origin in origins)


def _is_origin(text: str) -> bool:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and "*" not in parts.netloc
        and "@" not in parts.netloc
        and parts.path == ""
        and not parts.query
        and not parts.fragment
    )


def _networks(name: str, value: str | None, loading: Loading) -> tuple[str, ...]:
    """IP addresses or networks (`10.0.0.0/8`), normalised."""
    expected = "a comma-separated list of IP addresses or networks such as 127.0.0.1,10.0.0.0/8"

    def valid(item: str) -> bool:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return False
        return True

    items = csv(valid, expected)(name, value, loading)
    return tuple(str(ipaddress.ip_network(item, strict=False)) for item in items)


def _notify_urls(name: str, value: str | None, loading: Loading) -> tuple[str, ...]:
    """apprise URLs separated by commas or spaces; a bad one is named by its position only (the
    URLs hold secrets)."""
    urls = tuple(part for part in re.split(r"[\s,]+", value or "") if part)
    for position, item in enumerate(urls, 1):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", item):
            raise ConfigError(
                name,
                f"apprise URLs such as json://host/path, separated by commas (#{position} is not)",
            )
    return urls


def _notify_events(name: str, value: str | None, loading: Loading) -> tuple[str, ...]:
    expected = f"a comma-separated list of {', '.join(NOTIFY_EVENTS)}"
    return csv(lambda item: item in NOTIFY_EVENTS, expected)(name, value, loading)


def _is_check_name(name: str) -> bool:
    return re.fullmatch(r"[a-z][a-z0-9_]*", name) is not None


# -- the declaration -----------------------------------------------------------------------------

SECONDS = number()
SECONDS_OR_ZERO = number(allow_zero=True)
DAYS = integer()

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "ORACLE_ENV_FILE", ENV_FILE, path(),
        "File of `NAME=value` lines read at start (relative to the working directory); the environment wins over it.",
        setting=None, in_env_file=False,
    ),
    Variable(
        "DJANGO_DEBUG", "false", boolean(),
        "Debug mode (never in production).",
        setting="DEBUG",
    ),
    Variable(
        "ORACLE_DATA_DIR", "./data", path(resolve=True),
        "Where the SQLite database, the DuckDB price file and the generated secret key live (relative to the working directory).",
    ),
    Variable(
        "DJANGO_SECRET_KEY", None, _secret_key,
        "Django's signing key, ≥ 32 characters.",
        shown_default="generated into `$ORACLE_DATA_DIR/secret_key`", setting="SECRET_KEY",
    ),
    Variable(
        "DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]", csv(),
        "Host names served; also the allowed browser `Origin`s for WebSockets.",
        setting="ALLOWED_HOSTS", to_setting=list,
    ),
    Variable(
        "DJANGO_CSRF_TRUSTED_ORIGINS", "", csv(),
        "Origins trusted for admin form posts behind a TLS proxy, e.g. `https://oracle.example`.",
        setting="CSRF_TRUSTED_ORIGINS", to_setting=list,
    ),
    Variable(
        "DJANGO_ALLOWED_ORIGINS", "", _origins,
        "Browser origins allowed to open the alert WebSocket (scheme, host and port), e.g. `https://oracle.example`; `*` is refused.",
        shown_default="`DJANGO_CSRF_TRUSTED_ORIGINS`, plus `http://HOST:PORT` and `https://HOST:PORT` for each allowed host on the web process's own port, plus `https://HOST` with `DJANGO_HTTPS`",
        setting="ALLOWED_ORIGINS", to_setting=list,
    ),
    Variable(
        "DJANGO_HTTPS", lambda v: "false" if v["DJANGO_DEBUG"] else "true", boolean(),
        "Served over HTTPS (a TLS proxy in front): `Secure` session and CSRF cookies, HSTS, plain HTTP redirected. `false` for plain-HTTP use on a LAN (`make run` and `make demo` set it).",
        shown_default="`true` (`false` with `DJANGO_DEBUG`)", setting=None,
    ),
    Variable(
        "DJANGO_HSTS_SECONDS", "31536000", integer(minimum=0),
        "With `DJANGO_HTTPS`: how long browsers must reach this host over HTTPS only (`Strict-Transport-Security`); 0 sends no header.",
        setting=None,
    ),
    Variable(
        "DJANGO_HSTS_INCLUDE_SUBDOMAINS", "false", boolean(),
        "Extend HSTS to every subdomain of the host (`includeSubDomains`).",
        setting=None,
    ),
    Variable(
        "DJANGO_SESSION_HOURS", "8", number(),
        "How long a staff login lasts (the session cookie's lifetime).",
        setting=None,
    ),
    Variable(
        "ORACLE_TRUSTED_PROXIES", "", _networks,
        "Addresses of the reverse proxies (e.g. `127.0.0.1`): only a request from one of them may name the client (`X-Forwarded-For`) and the scheme (`X-Forwarded-Proto`).",
        setting="TRUSTED_PROXIES", to_setting=list,
    ),
    Variable(
        "LOGIN_FAILURE_LIMIT", "5", integer(),
        "Failed admin logins for one user name from one address before that pair is locked out (an address alone: four times as many).",
    ),
    Variable(
        "LOGIN_LOCKOUT_SECONDS", "900", SECONDS,
        "How long failed logins are counted and a lockout lasts.",
    ),
    Variable(
        "DATABASE_URL", lambda v: f"sqlite:///{v['ORACLE_DATA_DIR'] / 'oracle.sqlite3'}", _database_url,
        "Django database; `postgres://USER@HOST:PORT/NAME` for PostgreSQL.",
        shown_default="`sqlite:///$ORACLE_DATA_DIR/oracle.sqlite3`", setting=None,
    ),
    Variable(
        "REDIS_URL", None, url("redis", "rediss", "unix"),
        "`redis://HOST:6379/0`: channel layer shared by several web processes.",
        shown_default="unset (in-memory channel layer)",
    ),
    Variable(
        "DUCKDB_PATH", lambda v: str(v["ORACLE_DATA_DIR"] / "prices.duckdb"), path(),
        "The daily price series.",
        shown_default="`$ORACLE_DATA_DIR/prices.duckdb`",
    ),
    Variable(
        "ELECTRS_URL", "http://localhost:3000", url("http", "https"),
        "Esplora HTTP API of an Esplora electrs (Blockstream's or mempool's; mainnet port 3000). An Electrum server (romanz/electrs) has none.",
    ),
    Variable(
        "MEMPOOL_URL", "http://localhost:8999", url("http", "https"),
        "mempool.space backend REST API.",
    ),
    Variable(
        "MEMPOOL_WS_URL", "ws://localhost:8999/api/v1/ws", url("ws", "wss"),
        "mempool.space backend WebSocket.",
    ),
    Variable(
        "BITCOIN_RPC_URL", "http://127.0.0.1:8332", url("http", "https"),
        "Bitcoin Core JSON-RPC.",
    ),
    Variable(
        "BITCOIN_RPC_COOKIE_FILE", None, path(),
        "Path of Core's `.cookie` (preferred auth).",
    ),
    Variable(
        "BITCOIN_RPC_USER", None, text(),
        "RPC user, when no cookie file.",
    ),
    Variable(
        "BITCOIN_RPC_PASSWORD", None, text(),
        "RPC password, when no cookie file.",
    ),
    Variable(
        "BITCOIN_DATADIR", "~/.bitcoin", path(),
        "Core's data directory: its `.cookie` is used when neither a cookie file nor a password is set.",
    ),
    Variable(
        "PRICE_SOURCE", "auto", _price_sources,
        "Block source for the oracle: `auto` (Bitcoin Core when it answers, else Esplora), `bitcoind`, `esplora`, or an ordered fallback list such as `esplora,bitcoind`.",
    ),
    Variable(
        "PRICE_WINDOW_DAYS", "7", DAYS,
        "Complete days `update_prices` keeps filled.",
    ),
    Variable(
        "PRICE_UPDATE_SECONDS", "600", SECONDS,
        "How often the worker looks for missing days.",
    ),
    Variable(
        "PRICE_MIN_USD", "10000", number(),
        "A day's price below this is stored as invalid.",
    ),
    Variable(
        "PRICE_MAX_USD", "500000", greater_than("PRICE_MIN_USD", number()),
        "A day's price above this is stored as invalid.",
    ),
    Variable(
        "PRICE_MIN_OUTPUTS", "1000", integer(minimum=0),
        "Fewer histogram outputs than this makes a day invalid.",
    ),
    Variable(
        "PRICE_MAX_DEVIATION", "0.2", number(),
        "A larger spread (`deviation`: 0 tight … 0.25 no cluster) makes a day invalid.",
    ),
    Variable(
        "PRICE_FRESHNESS_GRACE_SECONDS", "3600", SECONDS_OR_ZERO,
        "How long after midnight + 6 blocks yesterday may still be missing before `price_freshness` is degraded.",
    ),
    Variable(
        "PRICE_TODAY_MIN_BLOCKS", "12", integer(),
        "Blocks of the current UTC day the worker waits for before it computes and shows the day's provisional price.",
    ),
    Variable(
        "PRICE_TODAY_POLL_SECONDS", "60", SECONDS,
        "How often the worker looks for a new block to update the day's provisional price.",
    ),
    Variable(
        "WHALE_MIN_BTC", "100", number(),
        "A transaction moving at least this many BTC is a whale.",
    ),
    Variable(
        "WHALE_MIN_USD", None, number(),
        "Also a whale when its USD value reaches this (at the backend's exchange price).",
    ),
    Variable(
        "ALERTS_AUTH_TIMEOUT", "5", SECONDS,
        "Seconds a subscriber has to send its `auth` message when no token came with the handshake.",
    ),
    Variable(
        "ALERTS_SESSION_CHECK_SECONDS", "30", SECONDS,
        "How often every subscriber's token or staff login is checked again and a heartbeat sent (a revoked token or a logout closes its sockets within this).",
    ),
    Variable(
        "ALERTS_MAX_FRAME_BYTES", "65536", integer(),
        "Largest frame a subscriber may send.",
    ),
    Variable(
        "ALERTS_MAX_MESSAGES_PER_SECOND", "20", integer(),
        "A subscriber sending more messages a second is closed (4429).",
    ),
    Variable(
        "ALERTS_CLIENT_QUEUE", "500", integer(),
        "Messages waiting for one slow subscriber before it is closed (4409) and told to resume.",
    ),
    Variable(
        "ALERTS_REPLAY_PAGE", "200", integer(),
        "Stored alerts read per page when a subscriber resumes with `since_id`.",
    ),
    Variable(
        "ALERTS_RELAY_POLL_SECONDS", "0.1", SECONDS,
        "Without `REDIS_URL`: how often a web process with subscribers reads new alerts from the database.",
    ),
    Variable(
        "ALERTS_SAFETY_POLL_SECONDS", "5", SECONDS,
        "With `REDIS_URL`: how often the database is still read, in case the channel layer lost an alert.",
    ),
    Variable(
        "ALERTS_REPLAY_LIMIT", "1000", integer(),
        "Stored alerts one `subscribe` replays at most; the `replay` message then says `more` and the subscriber pages on with `since_id`.",
    ),
    Variable(
        "ALERTS_MAX_SOCKETS_PER_TOKEN", "10", integer(),
        "Subscriber sockets one token (or one staff login) may hold open on each web process; one more is closed with 4429.",
    ),
    Variable(
        "ALERTS_MAX_UNAUTHENTICATED_PER_ADDRESS", "10", integer(),
        "Sockets one client address may hold open while they wait for their `auth` message, on each web process; one more is closed with 4429.",
    ),
    Variable(
        "ALERTS_RETENTION_DAYS", "90", integer(minimum=0),
        "Stored whale alerts older than this are deleted by the worker; 0 keeps them forever.",
    ),
    Variable(
        "NOTIFY_URLS", "", _notify_urls,
        "apprise URLs to notify (`tgram://…`, `ntfy://…`, `mailto://…`, `json://…`), separated by commas or spaces; a secret, masked in logs. Empty: no notifications.",
        shown_default="empty",
    ),
    Variable(
        "NOTIFY_EVENTS", ",".join(NOTIFY_EVENTS), _notify_events,
        "What to notify: `whale` (above `NOTIFY_MIN_BTC`), `health` (healthy, degraded, unhealthy changes), `price_day` (each new day's price).",
    ),
    Variable(
        "NOTIFY_MIN_BTC", lambda v: f"{v['WHALE_MIN_BTC'] * 10:g}", number(),
        "A stored whale is notified from this many BTC.",
        shown_default="ten times `WHALE_MIN_BTC`",
    ),
    Variable(
        "NOTIFY_MAX_PER_HOUR", "12", integer(),
        "Notifications of each kind sent in any hour at most; more are counted and skipped.",
    ),
    Variable(
        "NOTIFY_RETRIES", "2", integer(minimum=0),
        "Retries of a notification to a URL that failed (after 1 s, 2 s, …).",
    ),
    Variable(
        "NOTIFY_QUEUE", "100", integer(),
        "Notifications waiting to be sent at most; one more is dropped, counted and logged.",
    ),
    Variable(
        "METRICS_PUBLIC", "false", boolean(),
        "`/metrics` answers without a token (for a Prometheus on a trusted network); otherwise it takes a subscriber token like the REST API (`authorization: {credentials: …}` in Prometheus).",
    ),
    Variable(
        "HEALTH_CHECK_TIMEOUT", "2", SECONDS,
        "Seconds each health check may take.",
    ),
    Variable(
        "HEALTH_CACHE_SECONDS", "5", SECONDS_OR_ZERO,
        "How long `/health` reuses check results.",
    ),
    Variable(
        "HEALTH_SAMPLE_SECONDS", "60", SECONDS,
        "How often the worker records every check in the history.",
    ),
    Variable(
        "HEALTH_GAP_DAYS", "7", DAYS,
        "Complete days `/health` inspects for missing prices.",
    ),
    Variable(
        "HEALTH_RETENTION_DAYS", "30", DAYS,
        "Check history older than this is pruned.",
    ),
    Variable(
        "HEALTH_DISABLED_CHECKS", "",
        csv(_is_check_name, "a comma-separated list of check names such as mempool_feed,bitcoin_rpc"),
        "Check names to leave out, e.g. `bitcoin_rpc,mempool_feed` when you run no Core RPC or mempool backend.",
    ),
    Variable(
        "HTTP_CONNECT_TIMEOUT", "3", SECONDS,
        "Seconds to connect, for every call to an upstream.",
    ),
    Variable(
        "HTTP_READ_TIMEOUT", "30", SECONDS,
        "Seconds to wait for an answer, for every call to an upstream.",
    ),
    Variable(
        "HTTP_RETRIES", "2", integer(minimum=0),
        "Retries of idempotent upstream calls (GET/HEAD) on connection errors and 502/503/504.",
    ),
    Variable(
        "HTTP_DEADLINE", "120", SECONDS,
        "Seconds a whole upstream call may take, however slowly its answer trickles in.",
    ),
    Variable(
        "FEED_RESYNC_CONCURRENCY", "8", integer(),
        "Transactions the whale feed fetches at once when it catches up after a reconnect.",
    ),
    Variable(
        "FEED_MAX_FRAME_BYTES", "16777216", integer(minimum=65536),
        "Largest mempool frame the feed reads; a bigger one (a restarting backend's whole mempool) is fetched by a resync instead.",
    ),
    Variable(
        "LOG_FORMAT", lambda v: "console" if v.stderr_is_tty else "json", choice(*LOG_FORMATS),
        "`json`: one JSON object per line; `console`: human-readable.",
        shown_default="`console` when stderr is a terminal, else `json`",
    ),
    Variable(
        "LOG_LEVEL", "INFO", choice(*LOG_LEVELS, upper=True),
        "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`.",
    ),
    Variable(
        "ORACLE_ADMIN_USER", None, text(),
        "The admin account `make run` (`ensure_admin`) creates or updates.",
    ),
    Variable(
        "ORACLE_ADMIN_PASSWORD", None, text(),
        "That account's password.",
    ),
)  # fmt: skip

DERIVED: tuple[Derived, ...] = (
    # A service is in use when its URL is given or it is a price source (auto tries Core first,
    # electrs only as a fallback); its health check and its doctor probe follow.
    Derived(
        "BITCOIN_RPC_CONFIGURED",
        lambda v: (
            "BITCOIN_RPC_URL" in v.explicit or bool({"bitcoind", "auto"} & set(v["PRICE_SOURCE"]))
        ),
    ),
    Derived(
        "ELECTRS_CONFIGURED",
        lambda v: "ELECTRS_URL" in v.explicit or "esplora" in v["PRICE_SOURCE"],
    ),
)


class Config(Mapping[str, Any]):
    """The validated configuration: `config["NAME"]`, or `config.name` in lower case, for every
    variable and derived value. Its repr names no value (they include secrets)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.islower() and not attribute.startswith("_"):
            try:
                return self._values[attribute.upper()]
            except KeyError:
                pass
        raise AttributeError(attribute)

    def __repr__(self) -> str:
        return f"<Config of {len(self)} values>"

    def settings(self) -> dict[str, Any]:
        """The Django settings this configuration provides, by setting name."""
        result = {
            variable.setting_name: variable.to_setting(self[variable.name])
            for variable in VARIABLES
            if variable.setting_name is not None
        }
        result.update((derived.setting, self[derived.setting]) for derived in DERIVED)
        return result


def read_env_file(file: Path) -> dict[str, str]:
    """The `NAME=value` lines of a .env file; blank lines and `#` comments are skipped, one pair
    of matching quotes around a value is removed, `export ` before a name is allowed."""
    try:
        lines = file.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        raise ConfigError("ORACLE_ENV_FILE", "a readable file", str(file)) from None
    values: dict[str, str] = {}
    for line_no, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ENV_LINE.fullmatch(stripped)
        if match is None:
            # The line may hold a secret: name only the file and the line number.
            raise ConfigError(
                "ORACLE_ENV_FILE", f"a file of NAME=value lines; line {line_no} of {file} is not"
            )
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment over the .env file (`ORACLE_ENV_FILE`, else `./.env` if present)."""
    environ = os.environ if environ is None else environ
    named = (environ.get("ORACLE_ENV_FILE") or "").strip()
    file = Path(named or ENV_FILE).expanduser()
    if not named and not file.is_file():
        return dict(environ)
    from_file = read_env_file(file)
    from_file.pop("ORACLE_ENV_FILE", None)
    return {**from_file, **environ}


def load_config(
    environ: Mapping[str, str] | None = None, *, stderr_is_tty: bool | None = None
) -> Config:
    """Parse the variables into a Config, raising ConfigError on the first bad value.

    Without `environ`, the process environment over the .env file is read.
    """
    if environ is None:
        environ = environment()
    if stderr_is_tty is None:
        stderr_is_tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
    loading = Loading(values={}, explicit=set(), stderr_is_tty=stderr_is_tty)
    for variable in VARIABLES:
        value = (environ.get(variable.name) or "").strip() or None
        if value is None:
            default = variable.default
            value = default(loading) if callable(default) else default
        else:
            loading.explicit.add(variable.name)
        loading.values[variable.name] = variable.parse(variable.name, value, loading)
    for derived in DERIVED:
        loading.values[derived.setting] = derived.compute(loading)
    return Config(loading.values)
