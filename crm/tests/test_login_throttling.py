from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from leads.tests.roles import make_manager

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"


def log_in(client, password, username="manager"):
    return client.post(reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_lock_the_login_even_for_the_right_password(client):
    make_manager(password=PASSWORD)
    for _ in range(30):
        log_in(client, "guess")
    response = log_in(client, PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)


def test_fewer_wrong_passwords_than_the_limit_do_not_lock_the_login(client):
    make_manager(password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "guess").status_code == 200
    assert log_in(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_lock_lifts_after_the_cool_off(client):
    make_manager(password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "guess")
    assert log_in(client, PASSWORD).status_code == 429
    with time_machine.travel(settings.AXES_COOLOFF_TIME + timedelta(minutes=1)):
        assert log_in(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_locked_username_does_not_lock_other_logins(client):
    make_manager(password=PASSWORD)
    make_manager("other", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "guess")
    assert log_in(client, PASSWORD, username="other").status_code == 302
