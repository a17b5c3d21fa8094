"""The `oracle` console command: Django's management utility with our settings and dashes read
as underscores."""

from __future__ import annotations

import contextlib
import subprocess

import pytest
from django.core.management import get_commands

from oracle.cli import main
from tests.support import PYTHON, ROOT, service_env

OUR_APPS = {"core", "health", "prices", "alerts", "oracle", "dashboard"}


def test_help_lists_every_command_of_the_project(capsys) -> None:
    main(["oracle", "--help"])
    listed = capsys.readouterr().out
    ours = [name for name, app in get_commands().items() if app in OUR_APPS]
    assert {"run_worker", "oracle_price", "check_health", "ensure_admin"} <= set(ours)
    for name in ours:
        assert f"    {name}\n" in listed


@pytest.mark.parametrize(
    "argv",
    [["oracle", "run-worker", "--help"], ["oracle", "help", "run-worker"]],
)
def test_dashes_name_the_same_command(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) if "--help" in argv else contextlib.nullcontext():
        main(argv)
    assert "usage: oracle run_worker" in capsys.readouterr().out


def test_options_are_left_alone(capsys) -> None:
    main(["oracle", "--version"])
    assert capsys.readouterr().out.strip()


def test_the_program_collects_garbage_once_started(tmp_path) -> None:
    """`run` pauses the collector only while Django starts: a command finds it on."""
    shown = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", "import gc; print(gc.isenabled())"],
        cwd=ROOT,
        env=service_env(ORACLE_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.stdout.split()[-1:] == ["True"], shown.stderr[-2000:]
