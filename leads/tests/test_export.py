"""Exports of leads and agents (CSV, XLSX) neutralize spreadsheet formulas, not phone numbers or numbers."""

import io

import openpyxl
import pytest
from django.urls import reverse

from agents.tests.factories import AgentFactory
from imports.export_safety import neutralize_formula
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("+1-1", "'+1-1"),
        ("+1234567-1234567", "'+1234567-1234567"),
        ("+44 (0)20 7946 0018", "+44 (0)20 7946 0018"),
        ("+44 20 7946 0018", "+44 20 7946 0018"),
        ("+1 (757) 555-0101", "+1 (757) 555-0101"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("Acme, Inc.", "Acme, Inc."),
        ("", ""),
        (None, None),
        (12, 12),
    ],
)
def test_formulas_are_neutralized_and_numbers_and_phones_kept(value, exported):
    assert neutralize_formula(value) == exported


def export(client, url, resource, fields, file_format):
    data = {"format": file_format, "resource": "0", **{f"{resource}_{f}": "on" for f in fields}}
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:500]
    return response.content


def test_the_lead_csv_export_escapes_formulas(admin_client):
    LeadFactory(name="=cmd|' /C calc'!A0", company="@Evil", phone="+44 20 7946 0018", source="-12.5")
    content = export(
        admin_client, reverse("admin:leads_lead_export"), "leadresource", ["name", "company", "phone", "source"], "0"
    ).decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in content
    assert "'@Evil" in content
    assert ",+44 20 7946 0018," in content and ",-12.5" in content


def test_the_agent_xlsx_export_escapes_formulas(admin_client):
    AgentFactory(name="=1+2", email="agent@sales.test", capacity=5)
    content = export(
        admin_client, reverse("admin:agents_agent_export"), "agentresource", ["name", "email", "capacity"], "1"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "'=1+2"
    assert rows[1][2] == 5


def test_only_users_with_the_export_permission_may_export(client):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("staff", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(user)
    assert client.get(reverse("admin:leads_lead_export")).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="export_lead"))
    client.force_login(User.objects.get(pk=user.pk))
    assert client.get(reverse("admin:leads_lead_export")).status_code == 200
