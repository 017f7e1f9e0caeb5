"""The audit records are read-only in the admin for everyone, superusers included: no forged "OK"."""

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from core import clock
from core.admin_audit import ReadOnlyAdminMixin
from leads.assignment import assign_leads
from leads.models import AssignmentRun, LeadAssignment, VerificationRun
from leads.tests.scenarios import make_agents, make_leads
from leads.verification import record_verification, verify_assignments

pytestmark = pytest.mark.django_db

AUDIT_MODELS = [AssignmentRun, LeadAssignment, VerificationRun]


@pytest.fixture
def records():
    """One of each: a run with its change, and a failed verification (the one a forger would turn green)."""
    make_agents([(True, None)])
    make_leads(1)
    assign_leads(source=AssignmentRun.Source.COMMAND, as_of=clock.now())
    make_leads(1)
    record_verification(verify_assignments(as_of=clock.now()), source="command")
    return {model: model.objects.get() for model in AUDIT_MODELS}


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", AUDIT_MODELS, ids=lambda m: m.__name__)
def test_a_superuser_may_view_but_not_add_change_or_delete_an_audit_record(admin_client, records, model):
    record = records[model]
    before = list(model.objects.values())

    assert admin_client.get(url(model, "changelist")).status_code == 200
    changelist = admin_client.get(url(model, "changelist")).content.decode()
    assert url(model, "add") not in changelist
    assert 'value="delete_selected"' not in changelist

    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.post(url(model, "add"), {"ok": "on", "report": "{}"}).status_code == 403

    detail = admin_client.get(url(model, "change", record.pk))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode() and 'name="_continue"' not in detail.content.decode()
    assert admin_client.post(url(model, "change", record.pk), {"ok": "on"}).status_code == 403

    assert admin_client.get(url(model, "delete", record.pk)).status_code == 403
    assert admin_client.post(url(model, "delete", record.pk), {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        url(model, "changelist"), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [record.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)

    assert list(model.objects.values()) == before


@pytest.mark.parametrize("model", AUDIT_MODELS, ids=lambda m: m.__name__)
def test_every_audit_admin_uses_the_read_only_mixin(model):
    assert isinstance(admin.site._registry[model], ReadOnlyAdminMixin)
