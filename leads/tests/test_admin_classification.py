from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.tests.factories import AgentFactory
from core.admin_dates import ProbedDatesQuerySetMixin
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:leads_lead_changelist")
DAY = timedelta(days=1)


@pytest.fixture
def leads():
    """Two leads per class, half of them with an agent; ages far from the boundaries, so the clock may move."""
    now = timezone.now()
    ada, grace = AgentFactory(name="Ada"), AgentFactory(name="Grace")
    made = {
        "fresh": [(LeadStatus.NEW, 1, ada), (LeadStatus.CONTACTED, 2, None)],
        "urgent": [(LeadStatus.NEW, 10, ada), (LeadStatus.NEW, 20, None)],
        "active": [(LeadStatus.CONTACTED, 10, grace), (LeadStatus.QUALIFIED, 20, None)],
        "stale": [(LeadStatus.NEW, 40, grace), (LeadStatus.QUALIFIED, 50, None)],
        "closed": [(LeadStatus.CONVERTED, 3, ada), (LeadStatus.LOST, 60, None)],
    }
    result = {"ada": ada, "grace": grace}
    for lead_class, rows in made.items():
        result[lead_class] = [
            LeadFactory(status=status, created_at=now - days * DAY, assigned_agent=agent)
            for status, days, agent in rows
        ]
    return result


def listed(response):
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


@pytest.mark.parametrize("lead_class", ["fresh", "urgent", "active", "stale", "closed"])
def test_the_class_filter_lists_exactly_the_leads_of_that_class(admin_client, leads, lead_class):
    response = admin_client.get(CHANGELIST, {"lead_class": lead_class})
    assert listed(response) == set(leads[lead_class])
    assert response.context["cl"].result_count == 2


def test_filters_combine_class_and_unassigned(admin_client, leads):
    response = admin_client.get(CHANGELIST, {"lead_class": "urgent", "agent": "none"})
    assert listed(response) == {leads["urgent"][1]}


def test_the_agent_filter_takes_an_agent_id_or_none(admin_client, leads):
    ada = leads["ada"]
    assert listed(admin_client.get(CHANGELIST, {"agent": ada.pk})) == set(Lead.objects.filter(assigned_agent=ada))
    assert len(listed(admin_client.get(CHANGELIST, {"agent": "none"}))) == 5


def test_the_agent_filter_offers_agents_and_unassigned(admin_client, leads):
    response = admin_client.get(CHANGELIST)
    assert f'?agent={leads["ada"].pk}"'.encode() in response.content
    assert b'?agent=none"' in response.content and b"Unassigned" in response.content


def test_the_status_filter_works_with_both_spellings(admin_client, leads):
    assert len(listed(admin_client.get(CHANGELIST, {"status__exact": "new"}))) == 4
    assert len(listed(admin_client.get(CHANGELIST, {"status": "qualified"}))) == 2


@pytest.mark.parametrize("params", [{"lead_class": "warm"}, {"agent": "ada"}])
def test_bad_filter_values_do_not_crash_the_changelist(admin_client, leads, params):
    response = admin_client.get(CHANGELIST, params)
    assert response.status_code == 302 and response.url.endswith("?e=1")


def test_the_changelist_shows_each_class_as_a_badge(admin_client, leads):
    content = admin_client.get(CHANGELIST).content.decode()
    for lead_class in ("fresh", "urgent", "active", "stale", "closed"):
        assert content.count(f'class="lead-class lead-class-{lead_class}"') == 2


def test_the_changelist_sorts_by_class_in_sql(admin_client, leads):
    # list_display column 5 is the badge (1-based, after the checkbox column).
    response = admin_client.get(CHANGELIST, {"o": "5"})
    classes = [lead.lead_class for lead in response.context["cl"].result_list]
    assert classes == sorted(classes)


def test_the_changelist_runs_the_same_queries_for_3_leads_as_for_30(admin_client):
    # Same created_at for all, so that the date hierarchy has the same buckets to probe.
    agent, created_at = AgentFactory(), timezone.now() - DAY
    LeadFactory.create_batch(3, assigned_agent=agent, created_at=created_at)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(CHANGELIST)
    LeadFactory.create_batch(27, assigned_agent=AgentFactory(), status=LeadStatus.LOST, created_at=created_at)
    with CaptureQueriesContext(connection) as many:
        admin_client.get(CHANGELIST)
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize("term", ["jose muller", "MÜLLER", "  josé  ", "se mü"])
def test_the_search_finds_names_through_the_normalized_key(admin_client, term):
    jose = LeadFactory(name="José Müller")
    LeadFactory(name="Ada Lovelace")
    assert listed(admin_client.get(CHANGELIST, {"q": term})) == {jose}


def test_the_search_finds_an_exact_email_in_any_case(admin_client):
    ada = LeadFactory(name="Ada Lovelace", email="ada@example.org")
    LeadFactory(name="Ada King", email="king@example.org")
    assert listed(admin_client.get(CHANGELIST, {"q": " ADA@example.org "})) == {ada}


def test_the_search_combines_with_the_class_filter(admin_client):
    now = timezone.now()
    urgent = LeadFactory(name="Mary Jackson", created_at=now - 10 * DAY)
    LeadFactory(name="Mary Jackson Jr", created_at=now - DAY)
    assert listed(admin_client.get(CHANGELIST, {"q": "mary", "lead_class": "urgent"})) == {urgent}


def test_the_change_page_shows_the_class_with_its_reason(admin_client):
    lead = LeadFactory(status=LeadStatus.NEW, created_at=timezone.now() - 9 * DAY - timedelta(hours=1))
    response = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    content = response.content.decode()
    assert 'class="lead-class lead-class-urgent"' in content
    assert "new, 9 days old: not worked after 7 days -&gt; urgent; becomes stale on" in content


def test_the_add_page_still_opens(admin_client):
    assert admin_client.get(reverse("admin:leads_lead_add")).status_code == 200


def test_the_date_hierarchy_offers_the_same_months_and_days_as_django_would(admin_client, settings):
    settings.TIME_ZONE = "America/New_York"
    tz = timezone.get_fixed_timezone(-300)
    stamps = [
        timezone.datetime(2025, 12, 31, 23, 30, tzinfo=tz),  # New Year's Eve in New York, already 2026 in UTC
        timezone.datetime(2026, 2, 1, 0, 30, tzinfo=tz),
        timezone.datetime(2026, 2, 14, 12, tzinfo=tz),
        timezone.datetime(2026, 3, 8, 3, 30, tzinfo=timezone.get_fixed_timezone(-240)),  # after the DST change
    ]
    for stamp in stamps:
        LeadFactory(created_at=stamp)
    queryset = Lead.objects.all()
    probed = type("Probed", (ProbedDatesQuerySetMixin, type(queryset)), {})
    queryset.__class__ = probed
    with timezone.override("America/New_York"):
        for kind in ("year", "month", "day"):
            assert queryset.datetimes("created_at", kind) == list(Lead.objects.datetimes("created_at", kind))
            assert queryset.datetimes("created_at", kind, order="DESC") == list(
                Lead.objects.datetimes("created_at", kind, order="DESC")
            )
    response = admin_client.get(CHANGELIST, {"created_at__year": "2026"})
    assert b"created_at__month=2" in response.content and b"created_at__month=3" in response.content
    assert b"created_at__month=1&" not in response.content and b'created_at__month=1"' not in response.content
    response = admin_client.get(CHANGELIST, {"created_at__year": "2026", "created_at__month": "2"})
    assert b"created_at__day=1" in response.content and b"created_at__day=14" in response.content
    assert len(listed(response)) == 2
