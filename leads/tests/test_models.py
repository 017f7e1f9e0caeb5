import pytest
from django.db import IntegrityError, transaction

from core.normalize import name_key
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("José Müller", "jose muller"),
        ("  JOSÉ   MÜLLER ", "jose muller"),
        ("Rózsa Péter", "rozsa peter"),
        ("Zoë Øberg", "zoe oberg"),
        ("Łukasz Æbelø", "lukasz aebelo"),
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_the_name_key_strips_accents_case_and_extra_spaces(name, key):
    assert name_key(name) == key


def test_a_saved_lead_carries_its_name_key():
    lead = LeadFactory(name="  Renée   Ó'Brien ")
    lead.refresh_from_db()
    assert lead.name_key == "renee o'brien"


def test_the_name_key_follows_a_change_of_name():
    lead = LeadFactory(name="Ada Lovelace")
    lead.name = "Ada King"
    lead.save()
    assert Lead.objects.get(pk=lead.pk).name_key == "ada king"


def test_bulk_created_leads_carry_normalized_emails_and_name_keys():
    Lead.objects.bulk_create([LeadFactory.build(name="Émile Zola", email=" EMILE@Example.org ")])
    lead = Lead.objects.get()
    assert (lead.email, lead.name_key) == ("emile@example.org", "emile zola")


def test_lead_emails_are_stored_normalized_and_unique():
    lead = LeadFactory(email=" Mary.Jackson@Example.ORG")
    assert Lead.objects.get(pk=lead.pk).email == "mary.jackson@example.org"
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(email="MARY.JACKSON@example.org")


def test_open_and_closed_split_leads_by_status():
    new = LeadFactory(status=LeadStatus.NEW)
    contacted = LeadFactory(status=LeadStatus.CONTACTED)
    qualified = LeadFactory(status=LeadStatus.QUALIFIED)
    won = LeadFactory(status=LeadStatus.CONVERTED)
    lost = LeadFactory(status=LeadStatus.LOST)
    assert set(Lead.objects.open()) == {new, contacted, qualified}
    assert set(Lead.objects.closed()) == {won, lost}
    assert new.is_open and not won.is_open
