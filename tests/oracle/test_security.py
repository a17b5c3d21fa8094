"""The hardening findings of the attack on a copy of the service, each reproduced against real
processes: the debug page (1), TLS cookies and HSTS (2), file modes (4), the client address (8),
and `check --deploy` in the documented production configuration."""

from __future__ import annotations

import os
import re
import secrets
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support import PYTHON, ROOT, free_port, service_env, start_daphne

SECRETS = {
    "DJANGO_SECRET_KEY": "k3y-" + "s" * 40,
    "BITCOIN_RPC_PASSWORD": "rpc-password-4321",
    "ORACLE_ADMIN_PASSWORD": "admin-password-9999",
}
URL_SECRETS = {
    "BITCOIN_RPC_URL": ("http://rpcuser:rpc-url-pass-11@127.0.0.1:8332", "rpc-url-pass-11"),
    "REDIS_URL": ("redis://:redis-pass-5678@127.0.0.1:6379/0", "redis-pass-5678"),
    "ELECTRS_URL": ("http://eu:electrs-pass-22@127.0.0.1:3000", "electrs-pass-22"),
    "MEMPOOL_URL": ("http://mu:mempool-pass-33@127.0.0.1:8999", "mempool-pass-33"),
    "MEMPOOL_WS_URL": ("ws://wu:ws-pass-44@127.0.0.1:8999/api/v1/ws", "ws-pass-44"),
}
DB_PASSWORD = "db-password-1234"


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A subprocess environment on the production settings' defaults (not the tests' HTTP)."""
    defaults = {
        "DJANGO_SETTINGS_MODULE": "oracle.settings",
        "ORACLE_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_HTTPS": "",
        "DJANGO_DEBUG": "",
    }
    env = service_env(**{**defaults, **extra})
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


def test_the_debug_page_shows_no_secret(tmp_path: Path) -> None:
    """Finding 1: DJANGO_DEBUG=true, a bogus session cookie and PostgreSQL down gave a debug page
    with every secret; now the page still shows the settings, with no secret in them."""
    urls = {name: url for name, (url, _) in URL_SECRETS.items()}
    web = start_daphne(
        tmp_path,
        DJANGO_DEBUG="true",
        DATABASE_URL=f"postgres://oracle:{DB_PASSWORD}@127.0.0.1:{free_port()}/oracle",
        **SECRETS,
        **urls,
    )
    try:
        page = requests.get(
            f"{web.url}/admin/", cookies={"sessionid": "bogus" * 8}, timeout=30
        ).text
    finally:
        web.stop()
    assert "OperationalError" in page and "DATABASES" in page  # the debug page, with settings
    assert "BITCOIN_RPC_URL" in page and "127.0.0.1:8332" in page
    for secret in [*SECRETS.values(), DB_PASSWORD, *(s for _, s in URL_SECRETS.values())]:
        assert secret not in page


def test_over_tls_cookies_are_secure_with_hsts_and_plain_http_is_redirected(
    tmp_path: Path,
) -> None:
    """Finding 2: behind the TLS proxy (the production default), the session and CSRF cookies
    are Secure, HSTS is sent and plain HTTP is redirected to HTTPS."""
    web = start_daphne(tmp_path, **production_env(tmp_path, ORACLE_TRUSTED_PROXIES="127.0.0.1"))
    try:
        plain = requests.get(f"{web.url}/admin/login/", allow_redirects=False, timeout=30)
        tls = requests.get(
            f"{web.url}/admin/login/", headers={"X-Forwarded-Proto": "https"}, timeout=30
        )
    finally:
        web.stop()
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://127.0.0.1")
    assert tls.status_code == 200
    assert tls.headers["Strict-Transport-Security"] == "max-age=31536000"
    csrf = tls.headers["Set-Cookie"]
    assert "csrftoken=" in csrf and "Secure" in csrf and "HttpOnly" in csrf


def test_a_forwarded_scheme_from_an_untrusted_peer_is_ignored(tmp_path: Path) -> None:
    web = start_daphne(tmp_path, **production_env(tmp_path))  # no trusted proxy
    try:
        forged = requests.get(
            f"{web.url}/admin/login/",
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
            timeout=30,
        )
    finally:
        web.stop()
    assert forged.status_code == 301  # still seen as plain HTTP


def test_the_client_address_is_the_peer_unless_it_is_a_trusted_proxy(tmp_path: Path) -> None:
    """Finding 8: `X-Forwarded-For: 8.8.8.8` from any client was logged as the client."""
    forged = {"X-Forwarded-For": "8.8.8.8", "X-Real-IP": "8.8.4.4"}
    logged = {}
    for proxies in ("", "127.0.0.1"):
        web = start_daphne(tmp_path, ORACLE_TRUSTED_PROXIES=proxies)
        try:
            for path in ("/", "/health/live"):  # the full and the machine stack
                headers = {**forged, "X-Correlation-ID": f"ip-{proxies or 'none'}-{len(path)}"}
                requests.get(web.url + path, headers=headers, timeout=30).raise_for_status()
        finally:
            web.stop()
        logged.update(
            (line["correlation_id"], line["ip"])
            for line in web.log_lines()
            if line.get("event") == "request_finished"
        )
    assert logged["ip-none-1"] == logged["ip-none-12"] == "127.0.0.1"
    # Behind a trusted proxy the right-most address it appended is the client.
    assert logged["ip-127.0.0.1-1"] == logged["ip-127.0.0.1-12"] == "8.8.8.8"


def test_check_deploy_is_clean_in_the_documented_production_configuration(
    tmp_path: Path,
) -> None:
    """`manage.py check --deploy` with the settings docs/deployment.md tells operators to set."""
    guide = (ROOT / "docs/deployment.md").read_text()
    block = re.search(r"Uncomment and set at least:\n\n```sh\n(.*?)```", guide, re.S).group(1)
    documented = dict(
        line.split("=", 1) for line in block.splitlines() if line and not line.startswith("#")
    )
    documented["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    documented["ORACLE_DATA_DIR"] = str(tmp_path / "data")  # instead of /var/lib/oracle
    env = production_env(tmp_path, **documented)
    env.pop("DJANGO_HTTPS")
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_the_data_folder_and_its_files_are_private(tmp_path: Path) -> None:
    """Finding 4: the data folder was drwxr-xr-x and the SQLite file -rw-r--r--."""
    data = tmp_path / "data"
    env = production_env(tmp_path, DJANGO_SECRET_KEY="")
    for command in (["migrate", "--noinput"], ["migrate_prices"]):
        subprocess.run(
            [PYTHON, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
            preexec_fn=lambda: os.umask(0o022),  # a typical login shell's umask
        )
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    created = [p for p in data.rglob("*")]
    assert {p.name for p in created} >= {"oracle.sqlite3", "prices.duckdb", "secret_key"}
    for path in created:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("8.8.8.8, 203.0.113.7", "203.0.113.7"),  # the client wrote 8.8.8.8
        ("203.0.113.7, 10.0.0.2", "203.0.113.7"),  # a second trusted proxy in between
        ("garbage, 203.0.113.7", "203.0.113.7"),
        ("203.0.113.7, garbage", "10.0.0.1"),  # unusable: the peer
        ("10.0.0.3, 10.0.0.2", "10.0.0.3"),  # only proxies: the first
    ],
)
def test_the_client_is_the_right_most_untrusted_address(settings, forwarded, client) -> None:
    from core.proxies import client_address

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address("10.0.0.1", forwarded) == client
    assert client_address("192.0.2.1", forwarded) == "192.0.2.1"
