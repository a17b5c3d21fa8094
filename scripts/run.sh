#!/usr/bin/env bash
# Start the web processes (WEB_PROCESSES daphne processes on one port, default: one per core; see
# scripts/web.py) and the worker; Ctrl-C or SIGTERM stops them all.
set -uo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# Plain HTTP on HOST:PORT, no TLS proxy in front: no Secure-only cookies, no redirect to HTTPS
# (unless the environment says otherwise).
export DJANGO_HTTPS=${DJANGO_HTTPS:-false}
WEB_PROCESSES=${WEB_PROCESSES:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
# /metrics merges the values of every web process and the worker through one directory, fresh and
# empty at each start (prometheus-client's multiprocess mode); removed when they stop.
PROMETHEUS_MULTIPROC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/oracle-metrics.XXXXXX")
export PROMETHEUS_MULTIPROC_DIR

echo "== oracle doctor: what works here, and the fix for what does not" >&2
.venv/bin/python manage.py doctor >&2 ||
  echo "oracle: doctor found critical problems (above); starting anyway" >&2

.venv/bin/python scripts/web.py --processes "$WEB_PROCESSES" --host "$HOST" --port "$PORT" &
web=$!
.venv/bin/python manage.py run_worker &
worker=$!
echo "oracle: web on http://$HOST:$PORT/ (admin: /admin/) in $WEB_PROCESSES process(es)," \
  "worker running; Ctrl-C stops all" >&2

stop() {
  kill -TERM "$web" "$worker" 2>/dev/null
  wait "$web" "$worker" 2>/dev/null
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
}
trap 'stop; exit 0' INT TERM
wait -n "$web" "$worker"
status=$?
echo "oracle: a process exited (status $status); stopping the others" >&2
stop
exit "$status"
