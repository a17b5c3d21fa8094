"""Configuration: defaults, every kind of bad value, and the production secret key."""

from __future__ import annotations

import stat
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
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
    assert config.electrs_url == "http://localhost:3000"  # Esplora's mainnet port
    assert config.mempool_ws_url == "ws://localhost:8999/api/v1/ws"
    assert config.price_source == ("auto",)
    assert config.bitcoin_datadir == Path("~/.bitcoin").expanduser()
    assert config.log_format == "json"
    assert config.health_check_timeout == 2.0
    assert config.whale_min_btc == 100.0
    assert config.whale_min_usd is None
    assert config.bitcoin_rpc_configured is True  # auto tries Bitcoin Core first


def test_debug_uses_a_development_key(tmp_path: Path) -> None:
    config = load_config(env(tmp_path, DJANGO_DEBUG="yes"))
    assert config.django_secret_key.startswith("django-insecure")
    assert not (tmp_path / "secret_key").exists()


def test_logs_are_for_people_on_a_terminal_and_json_elsewhere(tmp_path: Path) -> None:
    assert load_config(env(tmp_path), stderr_is_tty=True).log_format == "console"
    assert load_config(env(tmp_path), stderr_is_tty=False).log_format == "json"
    assert load_config(env(tmp_path, LOG_FORMAT="json"), stderr_is_tty=True).log_format == "json"
    assert load_config(env(tmp_path, LOG_FORMAT="console")).log_format == "console"


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
        ("DATABASE_URL", "postgres://x@db:notaport/y", "DATABASE_URL must be a database URL"),
        (
            "PRICE_SOURCE",
            "esplora,coinbase",
            "PRICE_SOURCE must be auto, or a comma-separated list",
        ),
        ("PRICE_SOURCE", "esplora,esplora", "PRICE_SOURCE must be auto, or a comma-separated list"),
        ("PRICE_SOURCE", "auto,esplora", "PRICE_SOURCE must be auto, or a comma-separated list"),
        ("FEED_MAX_FRAME_BYTES", "1024", "FEED_MAX_FRAME_BYTES must be an integer >= 65536"),
        ("HTTP_DEADLINE", "0", "HTTP_DEADLINE must be a number > 0"),
        ("WHALE_MIN_BTC", "lots", "WHALE_MIN_BTC must be a number > 0"),
        ("PRICE_MAX_USD", "5000", "PRICE_MAX_USD must be greater than PRICE_MIN_USD"),
        ("HEALTH_DISABLED_CHECKS", "electrs, Bad-Name", "HEALTH_DISABLED_CHECKS must be a comma"),
        ("DJANGO_SECRET_KEY", "short", "DJANGO_SECRET_KEY must be at least 32 characters long"),
        ("ALERTS_CLIENT_QUEUE", "0", "ALERTS_CLIENT_QUEUE must be an integer >= 1"),
        ("ALERTS_RELAY_POLL_SECONDS", "0", "ALERTS_RELAY_POLL_SECONDS must be a number > 0"),
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


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    """Web processes started at once on a fresh data directory all read the one key: none sees
    the file before its key is written (the key appears whole or not at all)."""
    for attempt in range(30):
        data_dir = tmp_path / str(attempt)
        start = threading.Barrier(6)

        def load(data_dir: Path = data_dir, start: threading.Barrier = start) -> str:
            start.wait()
            return load_config(env(data_dir)).django_secret_key

        with ThreadPoolExecutor(6) as pool:
            keys = [future.result() for future in [pool.submit(load) for _ in range(6)]]
        assert len(set(keys)) == 1
        assert (data_dir / "secret_key").read_text().strip() == keys[0]
        assert [path.name for path in data_dir.iterdir()] == ["secret_key"]


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


def test_every_variable_is_a_django_setting_of_its_name(settings) -> None:
    """The settings come from the declaration; the config object itself is not one."""
    from oracle.config import DERIVED, VARIABLES

    for variable in VARIABLES:
        if variable.setting_name is not None:
            assert hasattr(settings, variable.setting_name), variable.name
    assert isinstance(settings.ALLOWED_HOSTS, list)
    assert isinstance(settings.DUCKDB_PATH, Path)
    assert settings.ALERTS_CLIENT_QUEUE == 500 and settings.HTTP_RETRIES == 2
    assert all(hasattr(settings, derived.setting) for derived in DERIVED)
    assert not hasattr(settings, "CONFIG") and not hasattr(settings, "DATABASE_URL")


def test_variables_are_declared_once_with_a_meaning() -> None:
    from oracle.config import VARIABLES

    names = [variable.name for variable in VARIABLES]
    assert len(names) == len(set(names))
    setting_names = [v.setting_name for v in VARIABLES if v.setting_name]
    assert len(setting_names) == len(set(setting_names))
    for variable in VARIABLES:
        assert variable.meaning and "\n" not in variable.meaning, variable.name
        if callable(variable.default):
            assert variable.shown_default, f"{variable.name}: say how its default is computed"


def test_the_config_reads_like_a_mapping_and_hides_its_values(tmp_path: Path) -> None:
    key = "s" * 40
    config = load_config(env(tmp_path, DJANGO_SECRET_KEY=key, ALERTS_CLIENT_QUEUE="20"))
    assert config["ALERTS_CLIENT_QUEUE"] == config.alerts_client_queue == 20
    assert "HEALTH_CHECK_TIMEOUT" in config and len(config) == len(list(config))
    assert key not in repr(config)
    assert config.settings()["SECRET_KEY"] == key
    with pytest.raises(AttributeError):
        config.no_such_variable  # noqa: B018
    with pytest.raises(AttributeError):
        config._hidden  # noqa: B018


def test_the_rpc_counts_as_configured_when_named_or_a_price_source(tmp_path: Path) -> None:
    assert load_config(env(tmp_path, PRICE_SOURCE="esplora")).bitcoin_rpc_configured is False
    rpc = env(tmp_path, BITCOIN_RPC_URL="http://127.0.0.1:8332")
    assert load_config(rpc).bitcoin_rpc_configured is True
    assert load_config(env(tmp_path, PRICE_SOURCE="bitcoind")).bitcoin_rpc_configured is True


def test_a_dot_env_file_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch) -> None:
    from oracle.config import environment

    (tmp_path / ".env").write_text(
        "# comment\n\n"
        "WHALE_MIN_BTC=250\n"
        "export LOG_LEVEL = warning\n"
        "ELECTRS_URL='http://electrs:3001'\n"
        'HEALTH_CHECK_TIMEOUT="1.5"\n'
        "ORACLE_ENV_FILE=/elsewhere\n"
    )
    monkeypatch.chdir(tmp_path)
    merged = environment({"ORACLE_DATA_DIR": str(tmp_path), "HEALTH_CHECK_TIMEOUT": "3"})
    config = load_config(merged)
    assert config.whale_min_btc == 250 and config.log_level == "WARNING"
    assert config.electrs_url == "http://electrs:3001"
    assert config.health_check_timeout == 3.0  # the environment wins over the file
    assert "ORACLE_ENV_FILE" not in merged  # the file cannot point elsewhere
    other = tmp_path / "oracle.env"
    other.write_text("WHALE_MIN_BTC=300\n")
    assert environment({"ORACLE_ENV_FILE": str(other)}) == {
        "ORACLE_ENV_FILE": str(other),
        "WHALE_MIN_BTC": "300",
    }
    (tmp_path / ".env").unlink()
    assert environment({"A": "1"}) == {"A": "1"}  # no .env: the environment alone


def test_a_bad_dot_env_file_names_the_line_not_its_text(tmp_path: Path) -> None:
    from oracle.config import environment

    bad = tmp_path / "bad.env"
    bad.write_text("OK=1\nDJANGO_SECRET_KEY: hunter2-hunter2\n")
    with pytest.raises(ConfigError) as error:
        environment({"ORACLE_ENV_FILE": str(bad)})
    assert (
        str(error.value)
        == f"ORACLE_ENV_FILE must be a file of NAME=value lines; line 2 of {bad} is not"
    )
    assert "hunter2" not in str(error.value)
    with pytest.raises(ConfigError, match="ORACLE_ENV_FILE must be a readable file"):
        environment({"ORACLE_ENV_FILE": str(tmp_path / "missing.env")})


def test_the_dot_env_file_configures_a_command(tmp_path: Path) -> None:
    """A bad value in .env stops start-up like one in the environment."""
    (tmp_path / "oracle.env").write_text("HEALTH_GAP_DAYS=0\n")
    result = subprocess.run(
        [PYTHON, "manage.py", "check"],
        cwd=ROOT,
        env=service_env(
            ORACLE_DATA_DIR=str(tmp_path), ORACLE_ENV_FILE=str(tmp_path / "oracle.env")
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "oracle: configuration error: HEALTH_GAP_DAYS must be an integer >= 1 (got '0')"
    ]


def test_notification_settings(tmp_path: Path) -> None:
    config = load_config(env(tmp_path, WHALE_MIN_BTC="250"))
    assert config.notify_urls == () and config.notify_min_btc == 2500
    assert config.notify_events == ("whale", "health", "price_day")
    config = load_config(
        env(
            tmp_path,
            NOTIFY_URLS=" json://127.0.0.1:8081/a,  ntfy://topic\ttgram://bot/chat ",
            NOTIFY_EVENTS="health",
            NOTIFY_MIN_BTC="500",
        )
    )
    assert config.notify_urls == ("json://127.0.0.1:8081/a", "ntfy://topic", "tgram://bot/chat")
    assert config.notify_events == ("health",) and config.notify_min_btc == 500


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NOTIFY_URLS", "json://ok/a, secret-token-without-scheme"),
        ("NOTIFY_EVENTS", "whales"),
        ("NOTIFY_MAX_PER_HOUR", "0"),
        ("NOTIFY_RETRIES", "-1"),
        ("NOTIFY_QUEUE", "many"),
        ("METRICS_PUBLIC", "perhaps"),
    ],
)
def test_bad_notification_and_metrics_values(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as caught:
        load_config(env(tmp_path, **{name: value}))
    assert "secret-token" not in str(caught.value)
