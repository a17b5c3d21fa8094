"""The shipped service files name commands that exist: systemd units, the Procfile, nginx."""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from daphne.cli import CommandLineInterface
from django.core.management import CommandError, get_commands, load_command_class

from tests.support import ROOT

UNITS = sorted((ROOT / "deploy/systemd").glob("*.service"))
CONSOLE_SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def unit_entries(path: Path) -> list[tuple[str, str]]:
    """The `Key=value` lines of a unit file, in order (keys may repeat)."""
    entries = []
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            entries.append((key, value))
    return entries


def assert_runs(argv: list[str]) -> None:
    """`argv` starts our console command, `python manage.py` or daphne, with valid arguments."""
    program = Path(argv[0]).name
    if program == "daphne":
        options = CommandLineInterface().parser.parse_args(argv[1:])
        module, _, attribute = options.application.partition(":")
        assert hasattr(importlib.import_module(module), attribute), options.application
        return
    if program == "python":
        assert argv[1] == "manage.py" and (ROOT / "manage.py").is_file()
        argv = argv[1:]
    else:
        assert program in CONSOLE_SCRIPTS, f"{program} is not a console command of the package"
        assert CONSOLE_SCRIPTS[program] == "oracle.cli:run"
    name = argv[1].replace("-", "_")
    commands = get_commands()
    assert name in commands, f"no management command {argv[1]!r}"
    load_command_class(commands[name], name).create_parser("oracle", name).parse_args(argv[2:])


def test_every_unit_is_shipped() -> None:
    assert [unit.name for unit in UNITS] == [
        "oracle-web.service",
        "oracle-web@.service",
        "oracle-worker.service",
    ]


def test_the_web_instances_serve_the_shared_socket() -> None:
    """oracle-web.socket hands one listening socket (fd 3) to every oracle-web@ instance."""
    socket_unit = dict(unit_entries(ROOT / "deploy/systemd/oracle-web.socket"))
    instance = dict(unit_entries(ROOT / "deploy/systemd/oracle-web@.service"))
    assert instance["Sockets"] == "oracle-web.socket"
    assert socket_unit["Service"] == "oracle-web@1.service"
    options = CommandLineInterface().parser.parse_args(shlex.split(instance["ExecStart"])[1:])
    # No --proxy-headers: daphne would believe the left-most X-Forwarded-For, which any client
    # writes; the service reads the address itself behind ORACLE_TRUSTED_PROXIES.
    assert options.file_descriptor == 3 and not options.proxy_headers and options.host is None
    host, _, port = socket_unit["ListenStream"].rpartition(":")
    assert host == "127.0.0.1"
    assert f"server 127.0.0.1:{port};" in (ROOT / "deploy/nginx/oracle.conf").read_text()


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_a_unit_starts_a_real_command_hardened(unit: Path) -> None:
    entries = unit_entries(unit)
    settings = dict(entries)
    assert_runs(shlex.split(settings["ExecStart"]))
    assert settings["EnvironmentFile"].startswith("/")
    assert settings["UMask"] == "0077"
    assert settings["NoNewPrivileges"] == "true"
    assert settings["ProtectSystem"] == "strict"
    assert settings["PrivateTmp"] == "true"
    assert settings["ProtectHome"] == "true"
    assert settings["User"] != "root"
    data_dir = re.search(r"ORACLE_DATA_DIR=(\S+)", settings["Environment"]).group(1)
    assert data_dir in settings["ReadWritePaths"].split()
    assert settings["WorkingDirectory"] == data_dir


def test_the_web_unit_matches_the_proxy() -> None:
    exec_start = dict(unit_entries(ROOT / "deploy/systemd/oracle-web.service"))["ExecStart"]
    options = CommandLineInterface().parser.parse_args(shlex.split(exec_start)[1:])
    # daphne's --proxy-headers believes the left-most X-Forwarded-For, which any client writes;
    # the service reads it from ORACLE_TRUSTED_PROXIES only (core.proxies).
    assert options.host == "127.0.0.1" and not options.proxy_headers
    nginx = (ROOT / "deploy/nginx/oracle.conf").read_text()
    assert f"server 127.0.0.1:{options.port};" in nginx
    websocket = re.search(r"location /ws/ \{(.*?)\}", nginx, re.S).group(1)
    assert "proxy_http_version 1.1;" in websocket
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket
    assert "proxy_set_header Connection $connection_upgrade;" in websocket


def test_every_procfile_process_runs_a_real_command() -> None:
    processes = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert {"web", "worker"} <= processes.keys()
    for command_line in processes.values():
        for command in command_line.split("&&"):
            assert_runs(shlex.split(command.replace("${PORT:-8000}", "8000")))


def test_the_deployment_guide_points_at_the_shipped_files() -> None:
    guide = (ROOT / "docs/deployment.md").read_text()
    shipped = [*UNITS, ROOT / "deploy/systemd/oracle-web.socket"]
    for path in [*shipped, ROOT / "deploy/nginx/oracle.conf", ROOT / "Procfile"]:
        assert str(path.relative_to(ROOT)) in guide


def test_an_unknown_command_would_be_caught() -> None:
    with pytest.raises(AssertionError, match="no management command"):
        assert_runs(["/opt/oracle/venv/bin/oracle", "run-wroker"])
    with pytest.raises(CommandError, match="unrecognized arguments"):
        assert_runs(["oracle", "run_worker", "--no-such-option"])
