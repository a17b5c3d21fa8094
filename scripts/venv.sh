#!/usr/bin/env bash
# Create or update a virtual environment: scripts/venv.sh VENV LOCK_FILE
#
# LOCK_FILE is requirements.lock or requirements-dev.lock: every package pinned with its hashes,
# installed with --require-hashes (a wheel whose hash the lock does not list is refused).
#
# The interpreter is $PYTHON when set (it must be 3.11 or newer), else the existing VENV's, else
# the newest one scripts/find-python.sh finds on PATH; the script says which. Packages are
# installed from the wheelhouse .wheels/ (wheels are downloaded into it first when some are
# missing), so a later install, or `pip install --no-index --find-links .wheels .`, needs no
# network.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1
requirements=$2
wheels=.wheels

version_of() { "$1" -I -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

if [ -n "${PYTHON:-}" ]; then
  if ! command -v "$PYTHON" >/dev/null; then
    echo "oracle: PYTHON=$PYTHON: no such interpreter" >&2
    exit 1
  fi
  if ! "$PYTHON" -I -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "oracle: PYTHON=$PYTHON does not run as Python 3.11 or newer" \
      "($("$PYTHON" --version 2>&1 | head -n 1))" >&2
    exit 1
  fi
  python=$PYTHON
  if [ -x "$venv/bin/python" ] && [ "$(version_of "$venv/bin/python")" != "$(version_of "$python")" ]; then
    echo "oracle: $venv uses Python $(version_of "$venv/bin/python"), not $(version_of "$python");" \
      "remove it first (make clean)" >&2
    exit 1
  fi
elif [ -x "$venv/bin/python" ]; then
  python=$venv/bin/python
else
  python=$(scripts/find-python.sh | head -n 1 | cut -d' ' -f2-)
  if [ -z "$python" ]; then
    echo "oracle: no Python 3.11 or newer found (tried python3.13, python3.12, python3.11 and" \
      "python3 on PATH); install one or name it: make PYTHON=/path/to/python3.X …" >&2
    exit 1
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "oracle: creating $venv with $("$python" -I -c 'import sys; print(sys.executable)')" \
    "(Python $("$python" -I -c 'import platform; print(platform.python_version())'))" >&2
  "$python" -m venv "$venv"
fi
echo "oracle: $venv: Python $("$venv/bin/python" -I -c 'import platform; print(platform.python_version())')" >&2

stamp="$venv/.installed-$(basename "$requirements")"
if [ -f "$stamp" ] && [ -z "$(find requirements*.txt requirements*.lock pyproject.toml -newer "$stamp")" ]; then
  exit 0
fi
pip=("$venv/bin/python" -m pip --quiet)
install=("${pip[@]}" install --require-hashes --no-index --find-links "$wheels" -r "$requirements")
if ! "${install[@]}" 2>/dev/null; then
  echo "oracle: downloading the wheels of $requirements into $wheels/" >&2
  "${pip[@]}" download --require-hashes --only-binary=:all: --dest "$wheels" -r "$requirements"
  "${install[@]}"
fi
touch "$stamp"
