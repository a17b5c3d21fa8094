"""Django settings, built only from the environment through `oracle.config`."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import dj_database_url

from core.logging import configure_logging
from oracle import __version__
from oracle.config import ConfigError, load_config

try:
    _config = load_config()
except ConfigError as exc:
    raise SystemExit(f"oracle: configuration error: {exc}") from None

# Every variable of oracle.config.VARIABLES becomes the setting of its name (DJANGO_DEBUG as
# DEBUG, DJANGO_SECRET_KEY as SECRET_KEY, …): ELECTRS_URL, PRICE_*, HEALTH_*, ALERTS_*, …
# The config object itself is not a setting: Django's debug page would show every value in it.
globals().update(_config.settings())

BASE_DIR = Path(__file__).resolve().parent.parent
# Files this process creates are its user's alone (0600, folders 0700), whatever umask it was
# started with: the data folder holds session keys, password and token hashes.
os.umask(os.umask(0o077) | 0o077)
_config.oracle_data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
VERSION = __version__

# daphne's app only gives `runserver` its ASGI server, and loading it starts Twisted's reactor:
# other commands (health probes run every few seconds) leave it out and start faster.
RUNSERVER = sys.argv[1:2] == ["runserver"]

INSTALLED_APPS = [
    *(["daphne"] if RUNSERVER else []),
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
    "notify",
    "health",
    "prices",
    "alerts",
    "metrics",
    "oracle",
]

MIDDLEWARE = [
    "core.proxies.TrustedProxyMiddleware",
    "core.middleware.CorrelationIdMiddleware",
    "core.middleware.RequestLogMiddleware",
    "core.security.SecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# JSON endpoints for machines (and /metrics) skip the session, CSRF, auth and message middleware (see
# core.endpoints): they take no cookies and answer no forms.
MACHINE_PATH_PREFIXES = ("/health", "/api/", "/metrics")
MACHINE_MIDDLEWARE = [
    "core.proxies.TrustedProxyMiddleware",
    "core.middleware.CorrelationIdMiddleware",
    "core.middleware.RequestLogMiddleware",
    "core.security.SecurityPolicyMiddleware",
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

DATABASES = {"default": dj_database_url.parse(_config.database_url, conn_max_age=0)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if _config.redis_url:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [_config.redis_url], "capacity": 1000, "expiry": 60},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache counts failed logins (core.login_throttle): shared by the web processes through Redis.
if _config.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _config.redis_url,
        }
    }

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

# Security (docs/security.md). Behind the TLS proxy (DJANGO_HTTPS, on unless debugging): cookies
# only over HTTPS, HSTS, plain HTTP redirected. The proxy's X-Forwarded-Proto is believed only
# from ORACLE_TRUSTED_PROXIES: core.proxies removes it from every other request.
_https: bool = _config.django_https
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = _https
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = _config.django_hsts_seconds if _https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _config.django_hsts_include_subdomains
SESSION_COOKIE_AGE = round(_config.django_session_hours * 3600)
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS preload asks browsers to hard-code the domain, a commitment only the owner of the parent
# domain can make (and submit); the service never asks for it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.error_reports.SecretsFilter"
DEFAULT_EXCEPTION_REPORTER = "core.error_reports.SecretsReporter"

# Background loops run by `manage.py run_worker`: dotted paths to `async def loop(stop)`.
WORKER_LOOPS: list[str] = [
    "prices.scheduler.loop",
    "prices.today.loop",
    "alerts.feed.loop",
    "alerts.retention.loop",
    "health.sampler.loop",
    "notify.notifier.loop",
]

LOGGING_CONFIG = None
configure_logging(_config.log_format, _config.log_level)
# core.middleware.CorrelationIdMiddleware binds the sanitised correlation_id itself.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_CORRELATION_ID = False
DJANGO_STRUCTLOG_USER_ID_FIELD = None  # RequestLogMiddleware binds user_id without a lookup
# One line per request at INFO (request_finished / request_failed); request_started at DEBUG.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
