"""The `oracle` console command: Django's manage.py for this project, installed with the package.

`oracle run_worker`, `oracle oracle_price --date D`, `oracle migrate`, … are the management
commands under their own names; `oracle --help` lists them. A dash in a command name is read as
an underscore (`oracle run-worker`). `manage.py` in a checkout runs the same function.
"""

from __future__ import annotations

import gc
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


def run() -> None:
    """The program (`oracle`, `manage.py`): `main` with the collector kept out of the way.

    Start-up creates objects that live as long as the process: no collection looks for garbage
    among them until the apps are ready (oracle.apps resumes collecting), and none walks over
    them all when the process ends.
    """
    gc.disable()
    try:
        main()
    finally:
        gc.freeze()
