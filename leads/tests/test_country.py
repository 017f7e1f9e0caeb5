"""The lead's country: imported under the names exports use, kept when a row leaves it empty, exported, filtered."""

import pytest
from django.urls import reverse

from leads.importing import import_leads
from leads.models import Lead
from leads.tests.factories import LeadFactory
from leads.tests.test_export import export

pytestmark = pytest.mark.django_db


def write(tmp_path, text: str):
    path = tmp_path / "leads.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("header", ["Country", "Country/Region", "Billing Country", "Mailing Country", "country"])
def test_the_country_is_imported_under_each_name_exports_give_it(tmp_path, header):
    result = import_leads(
        path=write(tmp_path, f"Name,Email,Created,{header}\nAda,ada@example.org,2026-01-02,Germany\n")
    )
    assert (result.created, result.ignored_columns) == (1, [])
    assert Lead.objects.get().country == "Germany"


def test_an_empty_country_keeps_the_stored_one_and_a_new_one_replaces_it(tmp_path):
    LeadFactory(email="ada@example.org", country="France")
    header = "Email,Country\n"
    assert import_leads(path=write(tmp_path, header + "ada@example.org,\n")).unchanged == 1
    assert Lead.objects.get().country == "France"
    assert import_leads(path=write(tmp_path, header + "ada@example.org, N/A \n")).unchanged == 1
    assert import_leads(path=write(tmp_path, header + "ada@example.org,  Spain \n")).updated == 1
    assert Lead.objects.get().country == "Spain"


def test_a_country_longer_than_the_column_is_rejected_naming_the_column(tmp_path):
    limit = Lead._meta.get_field("country").max_length
    rows = f"Ada,ada@example.org,2026-01-02,{'x' * limit}\nBo,bo@example.org,2026-01-02,{'y' * (limit + 1)}\n"
    result = import_leads(path=write(tmp_path, "Name,Email,Created,Billing Country\n" + rows))
    assert (result.created, result.rejected) == (1, 1)
    assert result.rejects["reason"].tolist() == [f"Billing Country: longer than {limit} characters"]
    assert Lead.objects.get().country == "x" * limit


def test_two_country_columns_are_refused(tmp_path):
    from imports.reading import RefusedFile

    with pytest.raises(RefusedFile, match="are both the country column"):
        import_leads(path=write(tmp_path, "Email,Billing Country,Mailing Country\nada@example.org,DE,FR\n"))


def test_the_csv_export_has_the_country(admin_client):
    LeadFactory(email="ada@example.org", country="Germany")
    content = export(admin_client, reverse("admin:leads_lead_export"), "leadresource", ["email", "country"], "0")
    header, row = content.decode("utf-8-sig").strip().splitlines()
    assert header.split(",") == ["email", "country"]
    assert row == "ada@example.org,Germany"


def test_the_lead_list_filters_by_country_and_by_no_country(admin_client):
    LeadFactory(name="Ada", country="Germany")
    LeadFactory(name="Bo", country="France")
    LeadFactory(name="Cy", country="")
    url = reverse("admin:leads_lead_changelist")
    page = admin_client.get(url)
    filter_links = [
        choice["query_string"]
        for spec in page.context["cl"].filter_specs
        for choice in spec.choices(page.context["cl"])
        if spec.title == "country"
    ]
    assert filter_links[1:] == ["?country=France", "?country=Germany", "?country=-"]
    for query, names in [("country=Germany", ["Ada"]), ("country=France", ["Bo"]), ("country=-", ["Cy"])]:
        shown = admin_client.get(f"{url}?{query}").context["cl"].result_list
        assert [lead.name for lead in shown] == names, query


@pytest.mark.parametrize("agent_only", [False, True])
def test_the_stored_countries_are_those_a_distinct_reads_in_its_order(agent_only):
    # Over every lead a loose index scan reads them; over a filtered list, the DISTINCT itself.
    countries = ["Germany", "Austria", "", "France", "Germany", "Åland Islands", "Zambia", "Austria", "Chad"]
    leads = LeadFactory.create_batch(len(countries))
    for lead, country in zip(leads, countries, strict=True):
        lead.country = country
    Lead.objects.bulk_update(leads, ["country"])
    queryset = Lead.objects.filter(pk__in=[lead.pk for lead in leads[::2]]) if agent_only else Lead.objects.all()
    distinct = list(queryset.exclude(country="").order_by("country").values_list("country", flat=True).distinct())
    assert queryset.countries() == distinct
    assert len(distinct) == (3 if agent_only else 6)


def test_no_lead_has_no_countries():
    assert Lead.objects.countries() == []
