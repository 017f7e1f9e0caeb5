"""The intake saves a request of a few leads (cleaned value by value) exactly as it saves a batch (vectorized)."""

import pytest
from django.db import transaction

from core import clock
from leads import intake
from leads.models import Lead, LeadStatusChange
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LEADS = [
    {"email": " Ann@Example.org ", "name": "Ann  Lee ", "status": "Closed Won"},
    {"email": "kept@example.org", "phone": "+44 20 7946 0018", "status": "working"},  # stored: an update
    {"email": "same@example.org", "company": "N/A", "source": "x"},  # stored, nothing new: unchanged
    {"email": "ann@example.org", "company": "Acme", "created_at": "11/20/2026"},  # merged into the first
    {"email": "bad", "status": "maybe", "created_at": "2026-02-30", "colour": 1},
    {"email": "nameless@example.org"},  # new without a name
    {"first_name": " ", "last_name": ""},  # blank: no email (and "name" is a key: the parts are not read)
    {"email": "dot@example.org", "name": "Dot  Vaughan", "created_at": "20.11.2026 10:30"},
]


def _saved(few_leads: int, monkeypatch) -> tuple:
    monkeypatch.setattr(intake, "FEW_LEADS", few_leads)
    with transaction.atomic():
        result = intake.intake_leads(leads=LEADS, as_of=clock.now(), default_source="web", assign=False)
        stored = sorted(Lead.objects.values_list("email", "name", "phone", "company", "source", "status", "created_at"))
        changes = sorted(LeadStatusChange.objects.values_list("lead__email", "from_status", "to_status"))
        transaction.set_rollback(True)
    outcomes = [(o.index, o.email, o.result, o.classification) for o in result.outcomes]
    return outcomes, result.rejected, (result.created, result.updated, result.unchanged), stored, changes


def test_a_few_leads_are_saved_exactly_as_a_batch_of_them(monkeypatch):
    LeadFactory(email="kept@example.org", name="Kept", phone="")
    LeadFactory(email="same@example.org", name="Same", source="x")
    few = _saved(len(LEADS), monkeypatch)
    batch = _saved(0, monkeypatch)
    assert few == batch
    outcomes, rejected, counts, stored, _changes = few
    assert ("ann@example.org", "Ann Lee", "", "Acme", "web", "converted") in [row[:6] for row in stored]
    assert [o[:3] for o in outcomes] == [
        (0, "ann@example.org", "created"),
        (1, "kept@example.org", "updated"),
        (2, "same@example.org", "unchanged"),
        (3, "ann@example.org", "created"),
        (7, "dot@example.org", "created"),
    ]
    assert sorted(rejected) == [4, 5, 6]
    assert counts == (2, 1, 1)
