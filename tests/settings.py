"""Test settings: the production settings on a throw-away data directory, plus test-only routes."""

import atexit
import os
import shutil
import tempfile
import uuid

# A developer's .env in the checkout must not change what the tests see.
os.environ.setdefault("ORACLE_ENV_FILE", os.devnull)
# Tests talk plain HTTP to 127.0.0.1 (tests/oracle/test_security_settings.py covers HTTPS).
os.environ.setdefault("DJANGO_HTTPS", "false")
if "ORACLE_DATA_DIR" not in os.environ:
    _data_dir = tempfile.mkdtemp(prefix="oracle-test-")
    os.environ["ORACLE_DATA_DIR"] = _data_dir
    atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)

from oracle.settings import *  # noqa: F403
from oracle.settings import WORKER_LOOPS as _PRODUCTION_LOOPS

ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
WORKER_LOOPS = [
    p for p in os.environ.get("ORACLE_TEST_WORKER_LOOPS", "").split(",") if p
] or _PRODUCTION_LOOPS

# Test runs sharing a PostgreSQL server or a Redis (two checkouts, CI beside a developer) keep
# apart: this run's own test database and channel-layer prefix, inherited by its subprocesses.
_RUN = os.environ.setdefault("ORACLE_TEST_RUN_ID", uuid.uuid4().hex[:8])
if CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"oracle-test-{_RUN}"  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_oracle_{_RUN}"}  # noqa: F405
