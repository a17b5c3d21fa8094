#!/usr/bin/env bash
# The whole test suite on a fresh machine: lint, the suite on the embedded defaults (SQLite,
# in-memory channel layer) with the coverage gate, then the database and channel-layer tests again
# against PostgreSQL and Redis when they answer on 127.0.0.1.
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
