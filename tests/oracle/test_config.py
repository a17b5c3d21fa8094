"""Configuration: defaults, every kind of bad value, and the production secret key."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from oracle.config import ConfigError, load_config
from tests.support import PYTHON, ROOT, service_env


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"ORACLE_DATA_DIR": str(tmp_path), **values}


def test_defaults(tmp_path: Path) -> None:
    config = load_config(env(tmp_path))
    assert config.django_debug is False
    assert config.database_url == f"sqlite:///{tmp_path / 'oracle.sqlite3'}"
    assert config.duckdb_path == tmp_path / "prices.duckdb"
    assert config.redis_url is None
    assert config.electrs_url == "http://localhost:3001"
    assert config.mempool_ws_url == "ws://localhost:8999/api/v1/ws"
    assert config.price_source == ("esplora",)
    assert config.log_format == "json"
    assert config.health_check_timeout == 2.0
    assert config.whale_min_btc == 100.0
    assert config.whale_min_usd is None
    assert config.bitcoin_rpc_configured is False


def test_debug_defaults_to_console_logs_and_a_development_key(tmp_path: Path) -> None:
    config = load_config(env(tmp_path, DJANGO_DEBUG="yes"))
    assert config.log_format == "console"
    assert config.django_secret_key.startswith("django-insecure")
    assert not (tmp_path / "secret_key").exists()


def test_values_are_parsed(tmp_path: Path) -> None:
    config = load_config(
        env(
            tmp_path,
            DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
            REDIS_URL="redis://127.0.0.1:6379/0",
            PRICE_SOURCE="bitcoind, esplora",
            HEALTH_CHECK_TIMEOUT="0.5",
            WHALE_MIN_USD="1e6",
            LOG_LEVEL="debug",
            DJANGO_ALLOWED_HOSTS="oracle.example, 10.0.0.2",
            ELECTRS_URL="http://user:pw@electrs:3001/",
        )
    )
    assert config.price_source == ("bitcoind", "esplora")
    assert config.bitcoin_rpc_configured is True
    assert config.health_check_timeout == 0.5
    assert config.whale_min_usd == 1_000_000
    assert config.log_level == "DEBUG"
    assert config.django_allowed_hosts == ("oracle.example", "10.0.0.2")
    assert config.electrs_url == "http://user:pw@electrs:3001"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HEALTH_CHECK_TIMEOUT", "abc", "HEALTH_CHECK_TIMEOUT must be a number > 0"),
        ("HEALTH_CHECK_TIMEOUT", "-1", "HEALTH_CHECK_TIMEOUT must be a number > 0"),
        ("HEALTH_CHECK_TIMEOUT", "nan", "HEALTH_CHECK_TIMEOUT must be a number > 0"),
        ("HEALTH_GAP_DAYS", "2.5", "HEALTH_GAP_DAYS must be an integer >= 1"),
        ("HEALTH_GAP_DAYS", "0", "HEALTH_GAP_DAYS must be an integer >= 1"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of json, console"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be a boolean"),
        ("ELECTRS_URL", "localhost:3001", "ELECTRS_URL must be a URL starting with http://"),
        ("ELECTRS_URL", "http://", "ELECTRS_URL must be a URL"),
        ("ELECTRS_URL", "http://host:notaport", "ELECTRS_URL must be a URL"),
        (
            "MEMPOOL_WS_URL",
            "http://localhost:8999",
            "MEMPOOL_WS_URL must be a URL starting with ws://",
        ),
        ("REDIS_URL", "127.0.0.1:6379", "REDIS_URL must be a URL starting with redis://"),
        ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL must be a database URL"),
        ("PRICE_SOURCE", "esplora,coinbase", "PRICE_SOURCE must be a comma-separated list"),
        ("PRICE_SOURCE", "esplora,esplora", "PRICE_SOURCE must be a comma-separated list"),
        ("WHALE_MIN_BTC", "lots", "WHALE_MIN_BTC must be a number > 0"),
        ("PRICE_MAX_USD", "5000", "PRICE_MAX_USD must be greater than PRICE_MIN_USD"),
        ("HEALTH_DISABLED_CHECKS", "electrs, Bad-Name", "HEALTH_DISABLED_CHECKS must be a comma"),
        ("DJANGO_SECRET_KEY", "short", "DJANGO_SECRET_KEY must be at least 32 characters long"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(env(tmp_path, **{name: value}))
    assert str(error.value).startswith(expected)
    assert error.value.name == name


def test_passwords_in_bad_urls_are_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(env(tmp_path, DATABASE_URL="mysql://root:hunter2@db/x"))
    assert "hunter2" not in str(error.value)


def test_production_generates_a_private_key_once(tmp_path: Path) -> None:
    first = load_config(env(tmp_path)).django_secret_key
    path = tmp_path / "secret_key"
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(env(tmp_path)).django_secret_key == first
    assert load_config(env(tmp_path / "other")).django_secret_key != first


def test_production_without_a_usable_key_refuses(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("tiny\n")
    with pytest.raises(ConfigError, match="DJANGO_SECRET_KEY must be set"):
        load_config(env(tmp_path))


def test_production_with_an_unusable_data_dir_refuses(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(
        ConfigError, match="DJANGO_SECRET_KEY must be set, because no key can be kept"
    ):
        load_config({"ORACLE_DATA_DIR": str(not_a_dir)})


def test_explicit_key_is_used_as_is(tmp_path: Path) -> None:
    key = "k" * 40
    assert load_config(env(tmp_path, DJANGO_SECRET_KEY=key)).django_secret_key == key
    assert not (tmp_path / "secret_key").exists()


def test_a_bad_value_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [PYTHON, "manage.py", "check"],
        cwd=ROOT,
        env=service_env(ORACLE_DATA_DIR=str(tmp_path), HEALTH_CHECK_TIMEOUT="soon"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "oracle: configuration error: HEALTH_CHECK_TIMEOUT must be a number > 0 (got 'soon')"
    ]
