"""The big changelists (leads, assignment history, status history) say so where their count is an estimate."""

import pytest
from django.contrib import admin
from django.db import connection
from django.urls import reverse

from core import clock
from core.sql import dialect
from leads.assignment import assign_leads
from leads.models import AssignmentRun, Lead, LeadAssignment, LeadStatusChange
from leads.status_history import Source, StatusChange, record_status_changes
from leads.tests.factories import LeadFactory
from leads.tests.scenarios import make_agents

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:leads_lead_changelist")


@pytest.fixture
def two_per_page(monkeypatch):
    """Pages of two rows, so that a handful of rows spans pages (the estimate is never used within one page)."""
    for model in (Lead, LeadAssignment, LeadStatusChange):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", 2)


@pytest.fixture
def leads():
    made = [LeadFactory(name=f"Ada {i}") for i in range(7)]
    if not dialect().estimated_count_is_lower_bound:  # the planner's statistics, as autovacuum keeps them
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead")
    return made


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_a_list_within_the_threshold_shows_its_exact_count(admin_client, leads, two_per_page):
    page = text(admin_client.get(CHANGELIST))
    assert "7 leads" in page
    assert "estimated" not in page


def test_a_list_beyond_the_threshold_says_its_count_is_an_estimate(admin_client, leads, two_per_page, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 3
    response = admin_client.get(CHANGELIST)
    page = text(response)
    paginator = response.context["cl"].paginator
    assert paginator.estimated
    wording = "more than 3 leads (estimated)" if paginator.lower_bound else f"about {paginator.count:,} leads"
    assert wording in page
    assert "leads (estimated)" in page
    assert "Select all: " in page  # the actions bar's "select across" states the estimate too
    assert 'href="?p=2"' in page
    assert len(response.context["cl"].result_list) == 2


def test_the_search_result_count_is_an_estimate_too(admin_client, leads, two_per_page, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 3
    page = text(admin_client.get(CHANGELIST, {"q": "ada"}))
    assert "results (estimated)" in page


def test_a_filter_within_the_threshold_is_counted_exactly(admin_client, leads, two_per_page, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 3
    page = text(admin_client.get(CHANGELIST, {"q": "ada 3"}))
    assert "1 result" in page and "estimated" not in page


def test_page_two_of_an_estimate_lists_the_next_leads(admin_client, leads, two_per_page, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 3
    first = set(admin_client.get(CHANGELIST).context["cl"].result_list)
    second = set(admin_client.get(CHANGELIST, {"p": 2}).context["cl"].result_list)
    assert len(second) == 2 and not first & second


def test_a_page_past_the_end_of_an_estimate_is_an_empty_page_that_says_so(admin_client, leads, two_per_page, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 3
    response = admin_client.get(CHANGELIST, {"p": 50, "status__exact": "new"})
    page = text(response)
    assert list(response.context["cl"].result_list) == []
    assert "Page 50 is past the end of the list" in page
    assert 'href="?status__exact=new"' in page  # back to page 1, the filter kept


def test_the_last_pages_of_a_lower_bound_are_still_listed(admin_client, leads, two_per_page, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 3
    response = admin_client.get(CHANGELIST, {"p": 4})
    if not response.context["cl"].paginator.lower_bound:
        pytest.skip("PostgreSQL estimates the whole table")
    assert len(response.context["cl"].result_list) == 1  # the seventh lead, past the two counted pages


def test_the_assignment_and_status_histories_say_their_count_is_an_estimate(admin_client, two_per_page, settings):
    make_agents([(True, None)])
    made = [LeadFactory() for _ in range(5)]
    assign_leads(source=AssignmentRun.Source.COMMAND, as_of=clock.now())
    record_status_changes(
        changes=[StatusChange(lead.pk, "new", "contacted") for lead in made], as_of=clock.now(), source=Source.ADMIN
    )
    if not dialect().estimated_count_is_lower_bound:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_leadassignment, leads_leadstatuschange")
    settings.ADMIN_EXACT_COUNT_UP_TO = 3
    for model, noun in ((LeadAssignment, "lead assignments"), (LeadStatusChange, "status changes")):
        response = admin_client.get(reverse(f"admin:leads_{model._meta.model_name}_changelist"))
        assert f"{noun} (estimated)" in text(response), model
