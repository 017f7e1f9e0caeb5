from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from crm.management.commands import ensure_admin

pytestmark = pytest.mark.django_db


def test_it_creates_the_admin_from_admin_password(monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "s3cret-pass")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password("s3cret-pass")
    assert "admin / s3cret-pass" in out.getvalue()


def test_a_generated_password_is_printed_and_reused_on_the_next_run(monkeypatch, tmp_path):
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr(ensure_admin, "PASSWORD_FILE", tmp_path / "admin_password")
    first, second = StringIO(), StringIO()
    call_command("ensure_admin", stdout=first)
    call_command("ensure_admin", stdout=second)
    password = (tmp_path / "admin_password").read_text().strip()
    assert f"admin / {password}" in first.getvalue()
    assert f"admin / {password}" in second.getvalue()
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert get_user_model().objects.count() == 1


def test_empty_admin_variables_count_as_unset(monkeypatch, tmp_path):
    monkeypatch.setenv("ADMIN_USER", "")
    monkeypatch.setenv("ADMIN_PASSWORD", "")
    monkeypatch.setattr(ensure_admin, "PASSWORD_FILE", tmp_path / "admin_password")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = (tmp_path / "admin_password").read_text().strip()
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert f"admin / {password}" in out.getvalue()
