"""Admin login throttling (finding 12: 20 wrong passwords in a row, no lockout)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from core.login_throttle import is_locked_out, record_failure
from tests.support import eventually

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"


@pytest.fixture(autouse=True)
def fresh_counts(settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_LOCKOUT_SECONDS = 900
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user(
        "operator", password=PASSWORD, is_staff=True, is_superuser=True
    )


def log_in(client, password: str, username: str = "operator", address: str = "192.0.2.1"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_five_wrong_passwords_lock_the_pair_out_even_with_the_right_one(
    client, operator, json_logs
):
    for _ in range(5):
        response = log_in(client, "wrong")
        assert response.status_code == 200 and "correct username and password" in response.text
    response = log_in(client, PASSWORD)
    assert response.status_code == 200
    assert "Too many failed logins. Try again in 15 minutes." in response.text
    assert "_auth_user_id" not in client.session
    assert len(json_logs.events("login_failed")) == 5
    assert json_logs.events("login_locked_out")[0]["ip"] == "192.0.2.1"
    assert all(PASSWORD not in str(line) for line in json_logs.lines)


def test_the_operator_elsewhere_is_not_locked_out(client, operator) -> None:
    for _ in range(5):
        log_in(client, "wrong", address="198.51.100.7")
    assert log_in(client, PASSWORD).status_code == 302  # from another address: logged in


def test_one_address_trying_many_names_is_locked_out(client, operator) -> None:
    for n in range(20):
        log_in(client, "wrong", username=f"guess{n}")
    assert "Too many failed logins" in log_in(client, PASSWORD).text


def test_a_success_clears_the_count_of_its_pair(client, operator) -> None:
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302


async def test_the_lockout_ends_with_its_window(settings) -> None:
    settings.LOGIN_LOCKOUT_SECONDS = 3
    for _ in range(5):
        record_failure("192.0.2.1", "operator")
    assert is_locked_out("192.0.2.1", "Operator ")  # the same name, as typed
    await eventually(lambda: not is_locked_out("192.0.2.1", "operator"), timeout=60, interval=0.2)
