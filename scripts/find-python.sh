#!/usr/bin/env bash
# The Python interpreters of 3.11 or newer on this machine, newest first, one "X.Y PATH" line per
# version: python3.13, python3.12, python3.11 and python3 as a shell finds them on PATH (a pyenv
# shim counts when it runs); with --all also every version pyenv has installed, selected or not.
set -uo pipefail

probe() {
  "$1" -I -c 'import sys; v = sys.version_info; v >= (3, 11) or sys.exit(1); print(f"{v[0]}.{v[1]} {sys.executable}")' \
    2>/dev/null
}

{
  for name in python3.13 python3.12 python3.11 python3; do
    command -v "$name" >/dev/null && probe "$name"
  done
  if [ "${1:-}" = --all ]; then
    root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
    for candidate in "$root"/versions/*/bin/python3.*; do
      [[ $candidate =~ /python3\.[0-9]+$ ]] && [ -x "$candidate" ] && probe "$candidate"
    done
  fi
} | sort -s -t' ' -k1,1Vr | awk '!seen[$1]++'
exit 0
