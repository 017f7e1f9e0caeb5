"""Routing rules: matching (leads.routing), the default pool, and the pools."""

from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.models import Team
from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from leads.models import Lead, RoutingRule
from leads.routing import RoutingError, RuleSet, pool_agents, route_lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    return {name: Team.objects.create(name=name) for name in ("Key accounts", "France", "Web", "Rest")}


def rule(position, team, **conditions):
    return RoutingRule.objects.create(position=position, name=f"rule {position}", team=team, **conditions)


def frame(*leads):
    columns = ["source", "country", "email", "company", "classification"]
    return pd.DataFrame([dict(zip(columns, lead, strict=True)) for lead in leads], columns=columns)


def test_the_first_rule_whose_every_condition_holds_decides(teams):
    rule(1, teams["Key accounts"], email_domain="acme.com|@globex.com")
    rule(2, teams["France"], country="France|Belgique", classification="fresh|urgent")
    rule(3, teams["Web"], source="Web form", company_contains="gmbh")
    leads = frame(
        ("web form", "France", "Ann@Sales.ACME.com", "", "stale"),  # 1: a subdomain of acme.com
        ("", "FRANCE", "b@other.org", "", "urgent"),  # 2
        ("", "France", "c@other.org", "", "stale"),  # France but stale: not 2
        ("Web Form", "", "d@x.org", "Müller GmbH & Co", "fresh"),  # 3
        ("Web", "", "e@x.org", "Müller GmbH", "fresh"),  # not 3: the source differs
        ("", "Belgïque", "f@notacme.com", "", "FRESH"),  # 2, accents ignored; notacme.com is not acme.com
        (None, None, None, None, None),
    )
    assert RuleSet.load().match_frame(leads).tolist() == [1, 2, pd.NA, 3, pd.NA, 2, pd.NA]
    pools = RuleSet.load().route_frame(leads)
    assert pools.tolist() == [
        teams["Key accounts"].pk,
        teams["France"].pk,
        pd.NA,
        teams["Web"].pk,
        pd.NA,
        teams["France"].pk,
        pd.NA,
    ]


def test_leads_no_rule_matches_go_to_the_default_team_when_one_is_named(teams, settings):
    rule(1, teams["France"], country="France")
    settings.ROUTING_DEFAULT_TEAM = "rest"
    pools = RuleSet.load().route_frame(frame(("", "Spain", "a@x.org", "", "fresh"), ("", "france", "b@x.org", "", "")))
    assert pools.tolist() == [teams["Rest"].pk, teams["France"].pk]


def test_a_default_team_that_does_not_exist_is_refused_naming_the_teams(teams, settings):
    settings.ROUTING_DEFAULT_TEAM = "Nowhere"
    with pytest.raises(
        RoutingError, match=r"ROUTING_DEFAULT_TEAM is 'Nowhere', but there is no such team \(teams: France"
    ):
        RuleSet.load()


def test_one_lead_is_routed_with_its_class_at_the_moment_given(teams):
    rule(1, teams["France"], classification="fresh")
    lead = LeadFactory(country="France", created_at=FROZEN_AT - timedelta(days=1))
    route = route_lead(lead, FROZEN_AT)
    assert (route.rule.position, route.team_id, route.pool_label) == (1, teams["France"].pk, "France")
    later = route_lead(lead, FROZEN_AT + timedelta(days=30))  # stale by then
    assert (later.rule, later.team_id, later.pool_label) == (None, None, "every agent")


texts = st.sampled_from(["", "Web", "wéb", "WEB ", "Fair", "France", "frånce", None])
emails = st.sampled_from(["a@acme.com", "b@x.acme.com", "c@ACME.COM", "d@notacme.com", "e@globex.com", None])
classes = st.sampled_from(["fresh", "urgent", "active", "stale", "closed"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(texts, texts, emails, texts, classes), min_size=1, max_size=30))
def test_one_lead_and_a_frame_of_leads_route_alike(teams, leads):
    RoutingRule.objects.all().delete()
    rule(1, teams["Key accounts"], email_domain="acme.com", source="web")
    rule(2, teams["France"], country="france|Fair", company_contains="ra")
    rule(3, teams["Web"], classification="fresh|active")
    rules = RuleSet.load()
    routed = rules.route_frame(frame(*leads)).tolist()

    class Lead:
        def __init__(self, source, country, email, company, lead_class):
            self.source, self.country, self.email, self.company = source, country, email, company
            self._class = lead_class

        def classification_at(self, as_of):
            from leads.classification import LeadClass

            return LeadClass(self._class)

    one_by_one = [rules.route_lead(Lead(*lead), FROZEN_AT).team_id for lead in leads]
    assert [None if pd.isna(t) else t for t in routed] == one_by_one


def test_a_large_frame_routes_whole_columns_at_once(teams, monkeypatch):
    # Speed is the benchmark's business; here: a large frame is routed by columns, never lead by lead.
    for position, (name, team) in enumerate(teams.items(), start=1):
        rule(position, team, country=f"{name}|x", company_contains="inc|gmbh", email_domain="example.org")
    many = frame(*[("web", "France", f"a{i}@example.org", "Acme Inc", "fresh") for i in range(1000)])
    many = pd.concat([many] * 200, ignore_index=True)
    rules = RuleSet.load()
    monkeypatch.setattr(RuleSet, "route_lead", lambda *args, **kwargs: pytest.fail("routed one lead at a time"))
    pools = rules.route_frame(many)
    assert len(pools) == 200_000 and (pools == teams["France"].pk).all()


def test_a_pool_is_its_team_s_members_or_every_agent(teams):
    ann, bob = AgentFactory(), AgentFactory()
    ann.teams.add(teams["France"])
    assert list(pool_agents(teams["France"].pk)) == [ann]
    assert set(pool_agents(None)) == {ann, bob}


def test_a_queryset_of_leads_is_routed_with_their_classes_from_the_database(teams):
    rule(1, teams["France"], country="France", classification="fresh")
    rule(2, teams["Web"], source="web")
    fresh = LeadFactory(country="france", created_at=FROZEN_AT - timedelta(days=1))
    stale = LeadFactory(country="France", created_at=FROZEN_AT - timedelta(days=40))
    web = LeadFactory(source="Web", country="France", created_at=FROZEN_AT - timedelta(days=40))
    pools = RuleSet.load().route_queryset(Lead.objects.all(), FROZEN_AT)
    assert pools.to_dict() == {fresh.pk: teams["France"].pk, stale.pk: None, web.pk: teams["Web"].pk}
