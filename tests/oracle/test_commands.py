"""ensure_admin, the index view and the console log format."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core.logging import correlation_scope, structured_formatter


def run(**settings_overrides) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ensure_admin", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_creates_admin_with_a_generated_password_once(client) -> None:
    out, _ = run()
    password = out.strip().splitlines()[-1].split("password: ")[1]
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password(password)
    assert client.login(username="admin", password=password)
    again, _ = run()
    assert again.strip() == "An admin account exists already; nothing to do."


@pytest.mark.django_db
def test_creates_or_updates_the_admin_from_the_environment(settings) -> None:
    settings.ORACLE_ADMIN_USER, settings.ORACLE_ADMIN_PASSWORD = "ops", "first-pass-phrase"
    assert "created" in run()[0]
    settings.ORACLE_ADMIN_PASSWORD = "second-pass-phrase"
    assert "updated" in run()[0]
    user = get_user_model().objects.get(username="ops")
    assert user.is_staff and user.check_password("second-pass-phrase")


@pytest.mark.django_db
def test_half_a_credential_is_refused(settings) -> None:
    settings.ORACLE_ADMIN_USER, settings.ORACLE_ADMIN_PASSWORD = "ops", None
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 2


def test_index_names_the_service(client, settings) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {
        "service": "oracle",
        "version": settings.VERSION,
        "admin": "/admin/",
        "health": "/health",
        "api_docs": "/api/docs",
        "openapi": "/api/openapi.json",
        "alerts_websocket": "/ws/alerts/",
    }


def test_console_format_is_human_readable() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structured_formatter("console"))
    logger = logging.getLogger("tests.console")
    logger.addHandler(handler)
    try:
        with correlation_scope("console-1"):
            structlog.get_logger("tests.console").info("hello", answer=42)
            logger.warning("plain %s", "stdlib")
    finally:
        logger.removeHandler(handler)
    first, second = stream.getvalue().splitlines()
    assert "hello" in first and "answer=42" in first and "correlation_id=console-1" in first
    assert "plain stdlib" in second and "correlation_id=console-1" in second
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)


def test_stdlib_exceptions_render_as_json(json_logs) -> None:
    try:
        raise KeyError("missing")
    except KeyError:
        logging.getLogger("tests.stdlib").exception("stdlib_failure")
    (line,) = json_logs.events("stdlib_failure")
    assert line["level"] == "error"
    assert "KeyError: 'missing'" in line["exception"]


async def test_the_async_request_path_echoes_and_logs_the_id(async_client, json_logs) -> None:
    response = await async_client.get("/missing", headers={"X-Correlation-ID": "async-1"})
    assert response.status_code == 404
    assert response["X-Correlation-ID"] == "async-1"
    (line,) = json_logs.events("request_finished")
    assert (line["correlation_id"], line["status"], line["path"]) == ("async-1", 404, "/missing")
