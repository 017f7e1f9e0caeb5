"""The lead search: name, email, company and phone, each through an index on every engine."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from leads.importing import import_leads
from leads.lookup import name_contains, search_conditions, search_matches
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

search_keys_migration = importlib.import_module("leads.migrations.0002_search_keys")


@pytest.fixture
def leads():
    return {
        "jose": LeadFactory(
            name="José Müller",
            email="jose.muller@acme-widgets.example",
            company="Acme Widgets",
            phone="+44 20 7946 0018",
        ),
        "ada": LeadFactory(
            name="Ada Lovelace", email="ada@engines.example", company="Analytical Engines Ltd", phone="(555) 010-0142"
        ),
        "zoe": LeadFactory(name="Zoé Brun", email="zoe@brun.example", company="Société Générale", phone=""),
    }


def found(term) -> set[str]:
    return set(Lead.objects.filter(search_matches(term)).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("term", "names"),
    [
        ("muller", {"José Müller"}),  # part of a name, accents ignored
        ("LOVE", {"Ada Lovelace"}),
        ("ada@engines.example", {"Ada Lovelace"}),  # an exact email
        (" Jose.Muller@ ", {"José Müller"}),  # the beginning of an email, case and spaces ignored
        ("zoe@", {"Zoé Brun"}),
        ("acme", {"José Müller"}),  # the beginning of a company
        ("analytical  ENGINES", {"Ada Lovelace"}),
        ("societe gen", {"Zoé Brun"}),  # accents ignored
        ("+44 20 7946 0018", {"José Müller"}),  # a phone number, as stored
        ("020 7946 0018", {"José Müller"}),  # the national form: the trunk 0 is dropped
        ("7946-0018", {"José Müller"}),  # its last digits
        ("555.010.0142", {"Ada Lovelace"}),
        ("100142", {"Ada Lovelace"}),
        ("142", set()),  # too few digits for a phone
        ("widgets", set()),  # not the beginning of the company (nor in a name)
        ("engines.example", set()),  # not the beginning of the email
        ("nobody", set()),
    ],
)
def test_the_search_finds_names_emails_companies_and_phones(leads, term, names):
    assert found(term) == names


def test_the_admin_search_box_uses_it(admin_client, leads):
    response = admin_client.get(reverse("admin:leads_lead_changelist"), {"q": "7946 0018"})
    assert [lead.name for lead in response.context["cl"].result_list] == ["José Müller"]
    response = admin_client.get(reverse("admin:leads_lead_changelist"), {"q": "analytical"})
    assert [lead.name for lead in response.context["cl"].result_list] == ["Ada Lovelace"]


def test_wildcards_in_the_term_are_taken_literally():
    LeadFactory(name="Star", email="a*b@example.org", company="50% Off_Shop")
    LeadFactory(name="Plain", email="axb@example.org", company="500 Offers")
    assert found("a*b@") == {"Star"}
    assert found("50% off_") == {"Star"}
    assert found("a?b") == set()


def test_many_matches_are_searched_with_the_plain_conditions(leads, monkeypatch):
    monkeypatch.setattr("leads.lookup.FEW_MATCHES", 1)
    assert found("e") >= {"Ada Lovelace", "José Müller"}
    assert "pk__in" not in str(search_matches("e"))


def test_saving_a_lead_keeps_its_company_and_phone_keys(leads):
    jose = Lead.objects.get(pk=leads["jose"].pk)
    assert (jose.company_key, jose.phone_key) == ("acme widgets", "810064970244")
    jose.company, jose.phone = "Ölwerke  GmbH", "0171 234"
    jose.save()
    jose.refresh_from_db()
    assert (jose.company_key, jose.phone_key) == ("olwerke gmbh", "4321710")


def test_the_import_fills_the_keys_and_an_empty_cell_keeps_them(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(
        "name,email,company,phone,created\n"
        "Ana Díaz,ana@example.org,Ágora Consulting,+34 912 345 678,2026-11-01\n"
        "Ben Ng,ben@example.org,,,2026-11-02\n",
        encoding="utf-8",
    )
    import_leads(path=path)
    keys = dict(Lead.objects.values_list("email", "company_key"))
    assert keys == {"ana@example.org": "agora consulting", "ben@example.org": ""}
    assert Lead.objects.get(email="ana@example.org").phone_key == "87654321943"
    path.write_text(
        "name,email,company,phone,created\n"
        "Ana Díaz,ana@example.org,,,2026-11-01\n"
        "Ben Ng,ben@example.org,Ng & Sons,020 1234,2026-11-02\n",
        encoding="utf-8",
    )
    result = import_leads(path=path)
    assert (result.updated, result.unchanged) == (1, 1)
    rows = {
        e: (c, ck, p, pk)
        for e, c, ck, p, pk in Lead.objects.values_list("email", "company", "company_key", "phone", "phone_key")
    }
    assert rows == {
        "ana@example.org": ("Ágora Consulting", "agora consulting", "+34 912 345 678", "87654321943"),
        "ben@example.org": ("Ng & Sons", "ng & sons", "020 1234", "4321020"),
    }


def test_the_migration_fills_the_keys_of_stored_leads(leads):
    Lead.objects.update(company_key="", phone_key="")
    search_keys_migration.fill_search_keys(apps, connection.schema_editor())
    assert sorted(Lead.objects.values_list("company_key", "phone_key")) == [
        ("acme widgets", "810064970244"),
        ("analytical engines ltd", "2410010555"),
        ("societe generale", ""),
    ]


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return " | ".join(str(row[-1]) for row in cursor.fetchall())
        if connection.vendor == "postgresql":
            # A tiny test table is cheaper to scan: forbid that, so the plan shows whether an index can serve.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return " | ".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN {sql}", params)
        columns = [c[0] for c in cursor.description]
        return " | ".join(f"type={r['type']} key={r['key']}" for r in (dict(zip(columns, row)) for row in cursor))


@pytest.mark.parametrize(
    ("term", "column"),
    [("jose.mul", "email"), ("acme wid", "company_key"), ("7946 0018", "phone_key")],
)
def test_each_search_condition_reads_an_index(leads, term, column):
    LeadFactory.create_batch(200, company="Other Company", phone="+1 202 555 0100")
    (condition,) = [c for c in search_conditions(term) if column in str(c)]
    text = plan(Lead.objects.filter(condition).order_by().values_list("pk", flat=True))
    if connection.vendor == "sqlite":
        assert "SEARCH leads_lead USING" in text and "INDEX" in text, text  # a seek, not a scan
    elif connection.vendor == "postgresql":
        assert "Index" in text and "Seq Scan" not in text, text
    else:
        assert "type=range" in text and "key=None" not in text, text


def test_a_name_search_is_a_trigram_index_look_up_on_postgresql_and_an_index_scan_elsewhere(leads):
    LeadFactory.create_batch(200, name="Other Person")
    text = plan(Lead.objects.filter(name_contains("jose mul")).order_by().values_list("pk", flat=True))
    if connection.vendor == "sqlite":
        assert "USING COVERING INDEX" in text or "USING INDEX" in text, text  # the small name-key index, not the table
    elif connection.vendor == "postgresql":
        assert "lead_name_key_trgm_idx" in text and "Seq Scan" not in text, text
    else:
        assert "key=None" not in text, text
