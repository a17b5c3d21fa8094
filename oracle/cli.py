"""The `oracle` console command: Django's manage.py for this project, installed with the package.

`oracle run_worker`, `oracle oracle_price --date D`, `oracle migrate`, … are the management
commands under their own names; `oracle --help` lists them. A dash in a command name is read as
an underscore (`oracle run-worker`). `manage.py` in a checkout runs the same function.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oracle.settings")
    # `oracle run-worker` and `oracle help run-worker`: the subcommand names use underscores.
    named = 2 if argv[1:2] == ["help"] else 1
    if len(argv) > named and not argv[named].startswith("-"):
        argv[named] = argv[named].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)
