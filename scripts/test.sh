#!/usr/bin/env bash
# The whole test suite on a fresh machine: lint, the suite on the embedded defaults (SQLite,
# in-memory channel layer) with the coverage gate, then the database and channel-layer tests again
# against PostgreSQL and Redis when they answer on 127.0.0.1, then the core modules on the newest
# other Python (3.11 or newer, on PATH or installed by pyenv) in its own .venv-X.Y.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

answers() { "$PY" - "$1" "$2" <<'PYEOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PYEOF
}

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian's chromium and chromium-driver for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "== chromium or chromedriver is missing (install Debian's chromium chromium-driver):" \
      "the browser tests will be skipped"
  fi
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

# pip-audit asks its vulnerability database about each locked package; where that database does
# not answer (no network, a registry mirror without it), the audit is skipped and says so.
echo "== pip-audit (known vulnerabilities of requirements-dev.lock)"
audit=(.venv/bin/pip-audit --disable-pip --progress-spinner off --timeout 15)
probe=$(mktemp)
printf 'pip==23.2.1\n' >"$probe"
if "${audit[@]}" --no-deps -r "$probe" --format json 2>/dev/null | "$PY" -c '
import json, sys
try:
    dependency = json.load(sys.stdin)["dependencies"][0]
except (ValueError, KeyError, IndexError):
    sys.exit(1)
sys.exit(1 if "skip_reason" in dependency else 0)'; then
  rm -f "$probe"
  "${audit[@]}" -r requirements-dev.lock
else
  rm -f "$probe"
  echo "== skipped pip-audit: its vulnerability database does not answer from here" \
    "(pip-audit could not look up a known package)"
fi

echo "== pytest (embedded defaults: SQLite, in-memory channel layer)"
env -u DATABASE_URL -u REDIS_URL "$PY" -m pytest --cov --cov-branch --cov-report=term \
  --cov-fail-under=90 "$@"

pg_url=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
redis_url=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
if answers 127.0.0.1 5432 && answers 127.0.0.1 6379; then
  echo "== pytest (PostgreSQL + Redis: database and channel-layer tests)"
  DATABASE_URL=$pg_url REDIS_URL=$redis_url "$PY" -m pytest -m "app_db or channel_layer" "$@"
else
  echo "== skipped the PostgreSQL + Redis pass: no server answers on 127.0.0.1:5432 and :6379"
fi

# The modules that depend most on the interpreter and NumPy: the oracle's parser, algorithm and
# golden reference vectors, the whale detector, the configuration and the subscriber consumer.
core_tests=(
  tests/prices/test_algorithm.py tests/prices/test_block_parser.py
  tests/prices/test_reference_golden.py tests/alerts/test_detector.py
  tests/oracle/test_config.py tests/alerts/test_consumer.py
)
version=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
other=$(scripts/find-python.sh --all | awk -v v="$version" '$1 != v { print; exit }')
if [ -n "$other" ]; then
  other_version=${other%% *}
  echo "== pytest on Python $other_version too (${other#* }): the core modules, in .venv-$other_version"
  PYTHON=${other#* } scripts/venv.sh ".venv-$other_version" requirements-dev.lock
  env -u DATABASE_URL -u REDIS_URL ".venv-$other_version/bin/python" -m pytest -q "${core_tests[@]}"
else
  echo "== skipped the core modules on a second Python: no Python >= 3.11 other than $version" \
    "found (on PATH or installed by pyenv)"
fi
