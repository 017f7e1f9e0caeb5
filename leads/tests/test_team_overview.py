"""The Lead overview's teams: weighted loads per pool, who is away now and until when, in a few queries."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from agents.models import Absence, Team
from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from leads.dashboard import lead_overview
from leads.models import LeadStatus
from leads.team_overview import EVERY_AGENT, team_overview
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_manager

pytestmark = pytest.mark.django_db

NOW = FROZEN_AT  # Tuesday 24 November 2026, 12:00 UTC: 13:00 in Paris, 07:00 in New York
OVERVIEW = reverse("admin:lead_overview")


@pytest.fixture(autouse=True)
def _every_agent_by_default(settings):
    settings.ROUTING_DEFAULT_TEAM = ""


def hold(agent, n, **fields):
    LeadFactory.create_batch(n, assigned_agent=agent, **fields)


@pytest.fixture
def floor():
    emea, americas = Team.objects.create(name="EMEA"), Team.objects.create(name="Americas")
    ann = AgentFactory(name="Ann", time_zone="Europe/Paris", working_hours="Mon-Fri 09:00-18:00")
    nina = AgentFactory(name="Nina", weight=Decimal("0.5"))
    abe = AgentFactory(name="Abe")
    carl = AgentFactory(name="Carl", weight=Decimal("2"))
    olga = AgentFactory(name="Olga", time_zone="America/New_York", working_hours="Mon-Fri 09:00-17:00")
    gone = AgentFactory(name="Gone", is_active=False)
    AgentFactory(name="Solo")  # in no team: only in the pool of every agent
    AgentFactory(name="Idle inactive", is_active=False, working_hours="Sat 10:00-11:00")  # holds nothing: not shown
    for agent in (ann, nina, abe, carl, gone):
        agent.teams.add(emea)
    for agent in (carl, olga):
        agent.teams.add(americas)
    hold(ann, 3)
    hold(ann, 2, status=LeadStatus.CONVERTED)  # closed: no load
    hold(nina, 2)
    hold(abe, 1)
    hold(carl, 4, status=LeadStatus.CONTACTED)
    hold(gone, 1)
    LeadFactory.create_batch(3)  # unassigned
    Absence.objects.create(agent=abe, starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=2), reason="Flu")
    # Ann's absences neither cover the moment: one ended exactly now (the end is excluded), one starts later.
    Absence.objects.create(agent=ann, starts_at=NOW - timedelta(days=3), ends_at=NOW)
    Absence.objects.create(agent=ann, starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(days=1))
    # An inactive agent's absence: it is not routed anyway, so not listed as away.
    Absence.objects.create(agent=gone, starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1))
    return {"emea": emea, "americas": americas, "ann": ann, "nina": nina, "abe": abe, "carl": carl, "olga": olga}


def pools_by_name(overview):
    return {pool.name: pool for pool in overview.pools}


def summary(pool):
    return (
        len(pool.active),
        pool.open_leads,
        pool.min_weighted_load,
        pool.max_weighted_load,
        pool.weighted_spread,
        [m.name for m in pool.away],
    )


def test_each_team_shows_its_members_loads_weighted_and_the_spread_of_those_available(floor):
    pools = pools_by_name(team_overview(as_of=NOW))
    assert list(pools) == ["Americas", "EMEA", EVERY_AGENT]
    # EMEA: Abe 1 (absent), Ann 3, Carl 4/2 = 2, Nina 2/0.5 = 4; Gone (inactive) holds 1 and is not a member.
    assert summary(pools["EMEA"]) == (4, 11, Decimal(1), Decimal(4), Decimal(2), ["Abe"])
    # Americas: Carl at 2 and Olga at 0, off hours: the spread is Carl's alone.
    assert summary(pools["Americas"]) == (2, 4, Decimal(0), Decimal(2), Decimal(0), ["Olga"])
    # Every agent: Solo (no team, 0) is the lowest available, Nina (4) the highest.
    assert summary(pools[EVERY_AGENT]) == (6, 11, Decimal(0), Decimal(4), Decimal(4), ["Abe", "Olga"])


def test_a_member_row_has_its_weight_load_weighted_load_and_availability(floor):
    emea = pools_by_name(team_overview(as_of=NOW))["EMEA"]
    rows = {m.name: (m.weight, m.open_leads, m.weighted_load, m.is_active, m.away) for m in emea.members}
    assert rows == {
        "Abe": (Decimal("1"), 1, Decimal(1), True, "absent"),
        "Ann": (Decimal("1"), 3, Decimal(3), True, ""),
        "Carl": (Decimal("2"), 4, Decimal(2), True, ""),
        "Gone": (Decimal("1"), 1, Decimal(1), False, ""),
        "Nina": (Decimal("0.5"), 2, Decimal(4), True, ""),
    }


def test_who_is_away_says_why_and_when_they_are_back(floor):
    away = team_overview(as_of=NOW).away
    # Olga is back at 09:00 in New York (14:00 UTC) today, Abe when the absence ends: by when they are back.
    assert [(a.name, a.why, a.reason, a.until, a.back_at) for a in away] == [
        ("Olga", "off-hours", "", None, datetime(2026, 11, 24, 14, tzinfo=UTC)),
        ("Abe", "absent", "Flu", NOW + timedelta(days=2), NOW + timedelta(days=2)),
    ]


def test_an_absence_ending_outside_the_working_hours_is_back_at_the_next_opening():
    # Ends Friday 27 November at 20:00 UTC, after 17:00 in London: back on Monday morning.
    agent = AgentFactory(name="Fred", time_zone="Europe/London", working_hours="Mon-Fri 09:00-17:00")
    Absence.objects.create(agent=agent, starts_at=NOW, ends_at=datetime(2026, 11, 27, 20, tzinfo=UTC))
    (away,) = team_overview(as_of=NOW).away
    assert (away.until, away.back_at) == (datetime(2026, 11, 27, 20, tzinfo=UTC), datetime(2026, 11, 30, 9, tzinfo=UTC))


def test_the_moment_decides_and_not_the_clock(floor):
    # Wednesday 15:00 UTC: 10:00 in New York, Olga works; Abe is still away.
    later = datetime(2026, 11, 25, 15, tzinfo=UTC)
    assert [a.name for a in team_overview(as_of=later).away] == ["Abe"]
    # Saturday: nobody with weekday hours works, and Abe is back.
    saturday = datetime(2026, 11, 28, 12, tzinfo=UTC)
    # Back on Monday: Ann at 09:00 in Paris (08:00 UTC) before Olga at 09:00 in New York.
    assert [a.name for a in team_overview(as_of=saturday).away] == ["Ann", "Olga"]


def test_a_team_with_no_active_member_has_no_loads_and_no_spread():
    team = Team.objects.create(name="Empty")
    AgentFactory(is_active=False).teams.add(team)
    (pool, every) = team_overview(as_of=NOW).pools
    assert summary(pool) == (0, 0, None, None, None, [])
    assert pool.members == [] and every.members == []


def test_a_default_team_replaces_the_pool_of_every_agent(floor, settings):
    settings.ROUTING_DEFAULT_TEAM = "  emea "  # matched ignoring case and spaces, as routing does
    overview = team_overview(as_of=NOW)
    assert [(p.name, p.takes_unmatched) for p in overview.pools] == [("Americas", False), ("EMEA", True)]
    assert overview.unknown_default_team == ""


def test_a_default_team_that_does_not_exist_is_reported(floor, settings):
    settings.ROUTING_DEFAULT_TEAM = "Nowhere"
    overview = team_overview(as_of=NOW)
    assert overview.unknown_default_team == "Nowhere"
    assert [p.name for p in overview.pools] == ["Americas", "EMEA"]


def test_it_reuses_the_loads_the_page_already_read(floor):
    loads = lead_overview(as_of=NOW).agents
    assert team_overview(as_of=NOW, loads=loads) == team_overview(as_of=NOW)


def grow(n):
    for i in range(n):
        team = Team.objects.create(name=f"Team {i}")
        for j in range(3):
            agent = AgentFactory(weight=Decimal("0.5") * (j + 1), working_hours="Mon-Fri 13:00-14:00")
            agent.teams.add(team)
            hold(agent, j)
            Absence.objects.create(agent=agent, starts_at=NOW - timedelta(hours=j), ends_at=NOW + timedelta(hours=1))


def test_it_takes_six_queries_whatever_the_number_of_teams_and_agents(floor, django_assert_num_queries):
    # The loads (2), the routing profiles (2), the teams and the absences.
    with django_assert_num_queries(6):
        team_overview(as_of=NOW)
    grow(10)
    with django_assert_num_queries(6):
        overview = team_overview(as_of=NOW)
    assert len(overview.pools) == 13
    loads = lead_overview(as_of=NOW).agents
    with django_assert_num_queries(4):  # the loads given
        team_overview(as_of=NOW, loads=loads)


# --- the page ------------------------------------------------------------------------------------------


@pytest.fixture
def manager_client(client):
    client.force_login(make_manager())
    return client


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_page_shows_the_team_table_and_the_away_list_with_links(manager_client, floor):
    content = manager_client.get(OVERVIEW).content.decode()
    emea = re.search(rf'<tbody data-team="{floor["emea"].pk}">.*?</tbody>\s*</table>.*?</tbody>', content, re.S)
    emea = emea.group(0)
    team_link = reverse("admin:agents_agent_changelist") + f"?teams__id__exact={floor['emea'].pk}"
    assert f'href="{team_link}"' in emea
    assert text_of(emea).startswith("EMEA 4 11 1.00 4.00 2.00 1")
    nina = re.search(rf'<tr data-agent="{floor["nina"].pk}">.*?</tr>', emea, re.S).group(0)
    assert text_of(nina) == "Nina 0.50 2 4.00 available"
    assert f'href="{reverse("admin:agents_agent_change", args=[floor["nina"].pk])}"' in nina
    away = re.search(r'<table id="away-list">.*?</table>', content, re.S).group(0)
    assert text_of(away).split(" Back ")[1] == (
        "Olga off hours (Mon-Fri 09:00-17:00, America/New_York) Tue 24 Nov 2026 14:00 (Tue 09:00 America/New_York) "
        "Abe absent: Flu Thu 26 Nov 2026 12:00 Thu 26 Nov 2026 12:00"
    )


def test_a_teams_link_lists_its_members(manager_client, floor):
    response = manager_client.get(reverse("admin:agents_agent_changelist"), {"teams__id__exact": floor["americas"].pk})
    listed = set(re.findall(r'name="_selected_action" value="(\d+)"', response.content.decode()))
    assert listed == {str(floor["carl"].pk), str(floor["olga"].pk)}


def test_the_page_says_when_nobody_is_away(manager_client):
    AgentFactory(name="Always")
    assert 'id="nobody-away"' in manager_client.get(OVERVIEW).content.decode()
