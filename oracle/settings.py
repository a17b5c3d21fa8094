"""Django settings, built only from the environment through `oracle.config`."""

from __future__ import annotations

import logging
from pathlib import Path

import dj_database_url

from core.logging import configure_logging
from oracle import __version__
from oracle.config import ConfigError, load_config

try:
    CONFIG = load_config()
except ConfigError as exc:
    raise SystemExit(f"oracle: configuration error: {exc}") from None

BASE_DIR = Path(__file__).resolve().parent.parent
CONFIG.oracle_data_dir.mkdir(parents=True, exist_ok=True)
VERSION = __version__

SECRET_KEY = CONFIG.django_secret_key
DEBUG = CONFIG.django_debug
ALLOWED_HOSTS = list(CONFIG.django_allowed_hosts)
CSRF_TRUSTED_ORIGINS = list(CONFIG.django_csrf_trusted_origins)

INSTALLED_APPS = [
    "daphne",
    "dashboard",  # before the admin: its admin/index.html links the operator pages
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_structlog",
    "core",
    "health",
    "prices",
    "alerts",
    "oracle",
]

MIDDLEWARE = [
    "core.middleware.CorrelationIdMiddleware",
    "core.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# JSON endpoints for machines skip the session, CSRF, auth and message middleware (see
# core.endpoints): they take no cookies and answer no forms.
MACHINE_PATH_PREFIXES = ("/health", "/api/")
MACHINE_MIDDLEWARE = [
    "core.middleware.CorrelationIdMiddleware",
    "core.middleware.RequestLogMiddleware",
    "core.middleware.MachineEndpointMiddleware",
]

ROOT_URLCONF = "oracle.urls"
ASGI_APPLICATION = "oracle.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(CONFIG.database_url, conn_max_age=0)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if CONFIG.redis_url:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [CONFIG.redis_url], "capacity": 1000, "expiry": 60},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
SERVESTATIC_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Service settings (see oracle.config for the variables and their defaults).
ORACLE_DATA_DIR = CONFIG.oracle_data_dir
DUCKDB_PATH = CONFIG.duckdb_path
REDIS_URL = CONFIG.redis_url
ELECTRS_URL = CONFIG.electrs_url
MEMPOOL_URL = CONFIG.mempool_url
MEMPOOL_WS_URL = CONFIG.mempool_ws_url
BITCOIN_RPC_URL = CONFIG.bitcoin_rpc_url
BITCOIN_RPC_CONFIGURED = CONFIG.bitcoin_rpc_configured
BITCOIN_RPC_COOKIE_FILE = CONFIG.bitcoin_rpc_cookie_file
BITCOIN_RPC_USER = CONFIG.bitcoin_rpc_user
BITCOIN_RPC_PASSWORD = CONFIG.bitcoin_rpc_password
PRICE_SOURCE = CONFIG.price_source
HTTP_CONNECT_TIMEOUT = CONFIG.http_connect_timeout
HTTP_READ_TIMEOUT = CONFIG.http_read_timeout
HTTP_RETRIES = CONFIG.http_retries
HEALTH_CHECK_TIMEOUT = CONFIG.health_check_timeout
HEALTH_CACHE_SECONDS = CONFIG.health_cache_seconds
HEALTH_SAMPLE_SECONDS = CONFIG.health_sample_seconds
HEALTH_GAP_DAYS = CONFIG.health_gap_days
HEALTH_RETENTION_DAYS = CONFIG.health_retention_days
HEALTH_DISABLED_CHECKS = CONFIG.health_disabled_checks
PRICE_WINDOW_DAYS = CONFIG.price_window_days
PRICE_UPDATE_SECONDS = CONFIG.price_update_seconds
PRICE_MIN_USD = CONFIG.price_min_usd
PRICE_MAX_USD = CONFIG.price_max_usd
PRICE_MIN_OUTPUTS = CONFIG.price_min_outputs
PRICE_MAX_DEVIATION = CONFIG.price_max_deviation
PRICE_FRESHNESS_GRACE_SECONDS = CONFIG.price_freshness_grace_seconds
WHALE_MIN_BTC = CONFIG.whale_min_btc
WHALE_MIN_USD = CONFIG.whale_min_usd
ORACLE_ADMIN_USER = CONFIG.oracle_admin_user
ORACLE_ADMIN_PASSWORD = CONFIG.oracle_admin_password

# Background loops run by `manage.py run_worker`: dotted paths to `async def loop(stop)`.
WORKER_LOOPS: list[str] = [
    "prices.scheduler.loop",
    "alerts.feed.loop",
    "health.sampler.loop",
]

LOGGING_CONFIG = None
configure_logging(CONFIG.log_format, CONFIG.log_level)
# core.middleware.CorrelationIdMiddleware binds the sanitised correlation_id itself.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_CORRELATION_ID = False
DJANGO_STRUCTLOG_USER_ID_FIELD = None  # RequestLogMiddleware binds user_id without a lookup
# One line per request at INFO (request_finished / request_failed); request_started at DEBUG.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
