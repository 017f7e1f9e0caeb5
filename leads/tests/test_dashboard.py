"""The admin's Lead overview: its numbers, its links, its query count, and the Verify button."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from core import clock
from leads.classification import LeadClass, classify
from leads.dashboard import lead_overview
from leads.loads import team_loads
from leads.models import Lead, LeadStatus, VerificationRun
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_agent_login, make_manager, make_user

pytestmark = pytest.mark.django_db

NOW = FROZEN_AT
US = timedelta(microseconds=1)
DAY = timedelta(days=1)
OVERVIEW = reverse("admin:lead_overview")
VERIFY = reverse("admin:lead_overview_verify")
CHANGELIST = reverse("admin:leads_lead_changelist")


def days_ago(n):
    return NOW - timedelta(days=n)


@pytest.fixture
def board():
    ann = AgentFactory(name="Ann", capacity=3)
    bob = AgentFactory(name="Bob", capacity=None)
    gone = AgentFactory(name="Gone", is_active=False)
    AgentFactory(name="Idle inactive", is_active=False)  # holds nothing: not shown
    LeadFactory.create_batch(2, assigned_agent=ann, created_at=days_ago(1))  # fresh
    LeadFactory.create_batch(2, assigned_agent=ann, created_at=days_ago(10))  # urgent (new, 7-30 days)
    LeadFactory(assigned_agent=bob, status=LeadStatus.CONTACTED, created_at=days_ago(10))  # active
    LeadFactory(assigned_agent=bob, status=LeadStatus.CONVERTED, created_at=days_ago(10))  # closed
    LeadFactory(assigned_agent=gone, created_at=days_ago(40))  # stale
    LeadFactory.create_batch(3, created_at=days_ago(12))  # urgent, unassigned
    LeadFactory(status=LeadStatus.LOST, created_at=days_ago(12))  # closed, unassigned
    return {"ann": ann, "bob": bob, "gone": gone}


def test_it_counts_leads_by_class(board):
    overview = lead_overview(as_of=NOW)
    assert overview.by_class == {"fresh": 2, "urgent": 5, "active": 1, "stale": 1, "closed": 2}
    assert (overview.total_leads, overview.open_leads) == (11, 9)


def test_it_counts_open_leads_per_agent_and_the_unassigned_ones(board):
    overview = lead_overview(as_of=NOW)
    loads = {a.name: (a.open_leads, a.capacity, a.is_active) for a in overview.agents}
    assert loads == {"Ann": (4, 3, True), "Bob": (1, None, True), "Gone": (1, None, False)}
    assert overview.unassigned_open == 3
    assert [a.name for a in overview.agents if a.over_capacity] == ["Ann"]


def test_it_shows_active_agents_without_leads(board):
    AgentFactory(name="Newbie")
    assert "Newbie" in [a.name for a in lead_overview(as_of=NOW).agents]


def test_it_reports_the_latest_verification(board):
    VerificationRun.objects.create(ok=True, checked_at=days_ago(2), report={"problems": []})
    latest = VerificationRun.objects.create(ok=False, checked_at=days_ago(1), report={"problems": ["x"]})
    VerificationRun.objects.create(ok=True, checked_at=days_ago(3), report={"problems": []})
    assert lead_overview(as_of=NOW).latest_verification == latest


def test_it_works_on_an_empty_database():
    overview = lead_overview(as_of=NOW)
    assert overview.by_class == dict.fromkeys(["fresh", "urgent", "active", "stale", "closed"], 0)
    assert (overview.agents, overview.unassigned_open, overview.latest_verification) == ([], 0, None)


def test_it_takes_three_queries_whatever_the_size(board, django_assert_num_queries):
    with django_assert_num_queries(3):
        lead_overview(as_of=NOW)
    for n in range(20):
        LeadFactory.create_batch(3, assigned_agent=AgentFactory(capacity=n))
    with django_assert_num_queries(3):
        lead_overview(as_of=NOW)


# --- the page ------------------------------------------------------------------------------------------


@pytest.fixture
def manager_client(client):
    client.force_login(make_manager())
    return client


def bar_hrefs(content):
    return set(re.findall(r'<a class="bar[^"]*" href="([^"]+)"', content))


def test_every_bar_links_to_the_filtered_lead_list(manager_client, board):
    content = manager_client.get(OVERVIEW).content.decode()
    expected = {f"{CHANGELIST}?lead_class={c}" for c in ("fresh", "urgent", "active", "stale", "closed")}
    expected |= {f"{CHANGELIST}?agent={board[name].pk}" for name in ("ann", "bob", "gone")}
    assert bar_hrefs(content) == expected
    assert f'href="{CHANGELIST}?agent=none">3</a>' in content


def test_the_bars_are_drawn_to_scale_with_capacity_marks(manager_client, board):
    content = manager_client.get(OVERVIEW).content.decode()
    # Class chart: urgent (5) is the longest bar, fresh (2) is 40% of it.
    assert re.search(r'class="bar urgent" href="[^"]+" style="width: 100.0%"', content)
    assert re.search(r'class="bar fresh" href="[^"]+" style="width: 40.0%"', content)
    # Agent chart, scaled to the largest load or capacity (4): Ann is above her capacity of 3.
    ann = re.search(rf'<li data-agent="{board["ann"].pk}".*?</li>', content, re.S).group(0)
    assert 'class="bar over"' in ann and "width: 100.0%" in ann
    assert 'class="cap" style="left: 75.0%"' in ann
    bob = re.search(rf'<li data-agent="{board["bob"].pk}".*?</li>', content, re.S).group(0)
    assert "width: 25.0%" in bob and 'class="cap"' not in bob
    gone = re.search(rf'<li data-agent="{board["gone"].pk}"[^>]*>', content).group(0)
    assert 'class="inactive"' in gone


def test_the_page_uses_no_external_assets(manager_client, board):
    content = manager_client.get(OVERVIEW).content.decode()
    assert not re.search(r'(src|href)="(https?:)?//', content)
    assert "<script" not in content.split('id="content-main"')[1]


def test_the_page_shows_the_last_verification_and_its_problems(manager_client, board):
    VerificationRun.objects.create(
        ok=False, source="command", report={"problems": ["Ann is above capacity (4 > 3)"], "spread": 3}
    )
    content = manager_client.get(OVERVIEW).content.decode()
    assert "Problems found" in content
    assert "Ann is above capacity (4 &gt; 3)" in content


def test_the_page_says_when_nothing_was_verified_yet(manager_client):
    assert "No verification has run yet." in manager_client.get(OVERVIEW).content.decode()


def test_the_page_costs_the_same_number_of_queries_for_a_bigger_team(
    manager_client, board, django_assert_max_num_queries
):
    manager_client.get(OVERVIEW)  # warm the session and the permission caches the way a browser would
    # 10 for the session, the figures and the verification, 4 for the teams and who is away, 1 for the SLA policies.
    with django_assert_max_num_queries(15) as small:
        manager_client.get(OVERVIEW)
    for _ in range(15):
        LeadFactory.create_batch(2, assigned_agent=AgentFactory(capacity=5))
    with django_assert_max_num_queries(len(small.captured_queries)):
        manager_client.get(OVERVIEW)


def test_the_admin_index_links_to_the_overview_for_a_manager(manager_client):
    assert f'href="{OVERVIEW}"' in manager_client.get(reverse("admin:index")).content.decode()


def test_a_staff_login_with_view_permission_only_sees_the_page_without_the_button(client, board):
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(viewer)
    response = client.get(OVERVIEW)
    assert response.status_code == 200
    assert "Verify assignments" not in response.content.decode()
    assert client.post(VERIFY).status_code == 403


def test_a_staff_login_without_lead_permissions_gets_403(client):
    client.force_login(make_user("nobody"))
    assert client.get(OVERVIEW).status_code == 403


def test_an_agent_gets_403_for_the_page_and_the_button(client, board):
    client.force_login(make_agent_login(board["ann"], "ann"))
    assert client.get(OVERVIEW).status_code == 403
    assert client.post(VERIFY).status_code == 403
    assert not VerificationRun.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(OVERVIEW)
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- the Verify button ---------------------------------------------------------------------------------


def test_verify_assignments_records_a_run_by_the_user_and_shows_it(manager_client, board):
    response = manager_client.post(VERIFY, follow=True)
    assert response.status_code == 200
    run = VerificationRun.objects.get()
    assert (run.source, run.user.username, run.ok) == ("admin", "manager", False)
    content = response.content.decode()
    assert "problem(s), listed below" in content
    for problem in run.report["problems"]:
        assert problem.replace(">", "&gt;") in content or problem in content


def test_verify_assignments_says_ok_when_everything_holds(manager_client):
    AgentFactory(name="Solo")
    response = manager_client.post(VERIFY, follow=True)
    assert VerificationRun.objects.get().ok is True
    assert "every check holds" in response.content.decode()


def test_verify_assignments_shows_load_counters_that_disagree_with_the_leads(manager_client):
    from leads.models import AgentLoadCount

    solo = AgentFactory(name="Solo", email="solo@sales.test")
    LeadFactory.create_batch(2, assigned_agent=solo)
    AgentLoadCount.objects.filter(pk=solo.pk).update(open_leads=5)  # edited by hand
    content = manager_client.post(VERIFY, follow=True).content.decode()
    run = VerificationRun.objects.get()
    assert run.ok is False and run.report["counters_ok"] is False
    assert "The load counters of solo@sales.test disagree with its leads (open leads counted 5, real 2)" in content


def test_verify_assignments_answers_only_to_post(manager_client):
    assert manager_client.get(VERIFY).status_code == 405
    assert not VerificationRun.objects.exists()


def test_verify_assignments_needs_the_csrf_token(board):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_manager())
    assert client.post(VERIFY).status_code == 403
    assert not VerificationRun.objects.exists()


# --- how current the last verification is --------------------------------------------------------------


def verify_now(user=None):
    from leads.verification import record_verification, verify_assignments

    return record_verification(verify_assignments(as_of=clock.now()), source="admin" if user else "command", user=user)


def last_verification(content: str) -> str:
    return re.search(r'<div class="module verification" id="last-verification">.*', content, re.S).group(0)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_ok_that_no_longer_matches_says_so_and_what_changed(manager_client):
    ann = AgentFactory(name="Ann", email="ann@sales.test")
    LeadFactory.create_batch(2, assigned_agent=ann)
    assert verify_now().ok
    with time_machine.travel(NOW + timedelta(hours=3)):
        LeadFactory.create_batch(7)  # an import after the check: 7 open leads without an agent
        content = manager_client.get(OVERVIEW).content.decode()
    block = text_of(last_verification(content))
    assert "OK: every check holds" not in block
    assert "OK when taken, no longer matches" in block
    assert "taken 24 Nov 2026 12:00 (3 hours ago) by the command verify_assignments" in block
    assert "Taken before 7 changes (7 leads, 0 agents changed since)" in block
    assert "open leads without an agent now 7 (was 0)" in block
    assert "open leads now 9 (was 2)" in block
    assert "leads now 9 (was 2)" in block
    # The fresh check is offered right there, in the same box.
    assert 'id="verify-assignments"' in last_verification(content)


def test_a_verification_nothing_changed_since_says_it_still_matches(manager_client):
    LeadFactory(assigned_agent=AgentFactory(name="Ann"))
    verify_now(user=get_user_model().objects.get(username="manager"))
    block = text_of(last_verification(manager_client.get(OVERVIEW).content.decode()))
    assert "OK: every check holds" in block
    assert "by manager (admin)" in block
    assert "Still matches the current state: no lead or agent changed since." in block


def test_changes_that_leave_the_figures_alone_are_counted_but_the_result_stands(manager_client):
    ann = AgentFactory(name="Ann")
    lead = LeadFactory(assigned_agent=ann)
    verify_now()
    with time_machine.travel(NOW + timedelta(minutes=5)):
        lead.name = "Renamed"
        lead.save()
        ann.capacity = 10
        ann.save()
        block = text_of(last_verification(manager_client.get(OVERVIEW).content.decode()))
    assert "OK: every check holds" in block
    assert "Taken before 2 changes (1 lead, 1 agent changed since); its figures still match" in block


def test_a_failed_verification_that_was_fixed_since_no_longer_matches(manager_client):
    ann = AgentFactory(name="Ann", email="ann@sales.test", capacity=1)
    LeadFactory.create_batch(2, assigned_agent=ann)
    assert not verify_now().ok
    with time_machine.travel(NOW + timedelta(minutes=5)):
        ann.capacity = 2
        ann.save()
        block = text_of(last_verification(manager_client.get(OVERVIEW).content.decode()))
    assert "Problems found" in block
    assert "agents above capacity now none (was ann@sales.test)" in block


def test_the_verifications_freshness_costs_no_extra_query(board, django_assert_num_queries):
    verify_now()
    with time_machine.travel(NOW + timedelta(minutes=5)):
        LeadFactory.create_batch(3)
        with django_assert_num_queries(4):  # the leads changed since the verification: one count
            overview = lead_overview(as_of=clock.now())
    drift = overview.verification_drift
    assert (drift.leads_changed, drift.agents_changed) == (3, 0)
    assert {d.label: (d.then, d.now) for d in drift.differences} == {
        "leads": ("11", "14"),
        "open leads": ("9", "12"),
        "open leads without an agent": ("3", "6"),
    }


# --- the one pass equals the aggregates over every lead ----------------------------------------------------


def aggregates_over_every_lead(as_of):
    """The figures as the aggregates over every lead give them: a GROUP BY over the classification expression
    and leads.loads.team_loads (the overview's own computation before it read the bands and the counters)."""
    latest = VerificationRun.objects.order_by("-checked_at", "-id").first()
    checked_at = latest.checked_at if latest else as_of
    rows = (
        Lead.objects.with_classification(as_of)
        .order_by()
        .values_list("lead_class")
        .annotate(n=Count("pk"), changed=Count("pk", filter=Q(updated_at__gt=checked_at)))
    )
    by_class, changed = dict.fromkeys(LeadClass.values, 0), 0
    for lead_class, n, k in rows:
        by_class[lead_class] = n
        changed += k
    team = team_loads()
    return {
        "by_class": by_class,
        "leads_changed": changed if latest else 0,
        "agents": [(a, a.updated_at) for a in team.agents],
        "agents_changed": sum(a.updated_at > checked_at for a in team.agents) if latest else 0,
        "unassigned": team.unassigned,
    }


def figures_of(overview):
    return {
        "by_class": overview.by_class,
        "leads_changed": overview.leads_changed_since_verification,
        "agents": [(a, a.updated_at) for a in overview.agents],
        "agents_changed": overview.agents_changed_since_verification,
        "unassigned": overview.unassigned_open,
    }


def make_team(active):
    """Agents whose names tie or differ only by case, so that the order is the database's (name, then email)."""
    names = ["Bea", "ann", "Ann", "Ann", "Cy"]
    return [
        AgentFactory(name=name, email=f"{chr(ord('e') - i)}@sales.test", is_active=is_active, capacity=1 + i % 2)
        for i, (name, is_active) in enumerate(zip(names, active, strict=False))
    ]


def test_the_one_pass_equals_the_aggregates_at_every_class_boundary():
    fresh, stale = timedelta(days=7), timedelta(days=30)
    ages = [timedelta(0), fresh - US, fresh, fresh + US, stale - US, stale, stale + US, -US, 400 * DAY]
    ann, bob, gone, _idle = make_team([True, True, False, False])
    checked_at = NOW - 2 * DAY
    VerificationRun.objects.create(ok=True, checked_at=checked_at, report={"problems": []})
    expected = dict.fromkeys(LeadClass.values, 0)
    for i, (status, age, agent) in enumerate(
        (status, age, agent) for status in LeadStatus for age in ages for agent in (None, ann, bob, gone)
    ):
        lead = LeadFactory(status=status, created_at=NOW - age, assigned_agent=agent)
        # Edited just before, at, and just after the verification.
        Lead.objects.filter(pk=lead.pk).update(updated_at=checked_at + (i % 3 - 1) * US)
        expected[classify(status, NOW - age, NOW)] += 1

    overview = lead_overview(as_of=NOW)
    assert overview.by_class == expected
    assert overview.leads_changed_since_verification == len(LeadStatus) * len(ages) * 4 // 3
    assert figures_of(overview) == aggregates_over_every_lead(NOW)
    assert [a.name for a in overview.agents] == [a.name for a in team_loads().agents]


class TheOnePassEqualsTheAggregates(HypothesisTestCase):
    """On whatever database the suite runs against (SQLite, PostgreSQL, MariaDB)."""

    @hypothesis_settings(max_examples=40, deadline=None)
    @given(
        fresh_days=st.integers(min_value=1, max_value=40),
        stale_after=st.integers(min_value=1, max_value=60),
        active=st.lists(st.booleans(), min_size=0, max_size=5),
        verified=st.sampled_from([None, -DAY, -US, timedelta(0), US]),
        leads=st.lists(
            st.tuples(
                st.sampled_from([*LeadStatus.values, "unknown"]),
                # An age on a threshold (give or take a microsecond) or anywhere, in days.
                st.sampled_from(["fresh", "stale", "days"]),
                st.integers(min_value=-2, max_value=120),
                st.integers(min_value=-1, max_value=1),
                st.integers(min_value=-1, max_value=4),  # the agent's index; -1 (or past the team): none
                st.sampled_from([-DAY, -US, timedelta(0), US, DAY]),  # updated_at, from the verification
            ),
            max_size=30,
        ),
    )
    def test_for_any_leads_agents_and_thresholds(self, fresh_days, stale_after, active, verified, leads):
        limits = {"fresh": fresh_days * DAY, "stale": (fresh_days + stale_after) * DAY}
        with override_settings(LEADS_FRESH_DAYS=fresh_days, LEADS_STALE_DAYS=fresh_days + stale_after):
            team = make_team(active)
            checked_at = NOW - 3 * DAY + (verified or timedelta(0))
            if verified is not None:
                VerificationRun.objects.create(ok=True, checked_at=checked_at, report={"problems": []})
            for status, at, days, us, agent, edited in leads:
                age = limits.get(at, days * DAY) + us * US
                holder = team[agent] if 0 <= agent < len(team) else None
                lead = LeadFactory(status=status, created_at=NOW - age, assigned_agent=holder)
                Lead.objects.filter(pk=lead.pk).update(updated_at=checked_at + edited)
            assert figures_of(lead_overview(as_of=NOW)) == aggregates_over_every_lead(NOW)
