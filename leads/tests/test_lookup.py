import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from leads import lookup
from leads.lookup import lookup_leads
from leads.models import LeadStatus
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

AS_OF = FROZEN_AT


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("lookup_lead", *args, "--as-of", "2026-11-24T12:00:00Z", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("query", ["jose muller", "MÜLLER", "  José   Müller ", "josé", "se mü", "Jose Muller"])
def test_the_look_up_ignores_case_accents_and_extra_spaces(query):
    jose = LeadFactory(name="José Müller")
    LeadFactory(name="Ada Lovelace")
    result = lookup_leads(query, as_of=AS_OF)
    assert [match.lead for match in result.matches] == [jose]
    assert result.total == 1


def test_the_look_up_matches_anywhere_in_the_name_not_only_the_start():
    lead = LeadFactory(name="Grace Brewster Hopper")
    assert [m.lead for m in lookup_leads("hopper", as_of=AS_OF).matches] == [lead]
    assert [m.lead for m in lookup_leads("brewster hop", as_of=AS_OF).matches] == [lead]


def test_like_wildcards_in_the_query_are_plain_characters():
    LeadFactory(name="Ada Lovelace")
    assert lookup_leads("a%e", as_of=AS_OF).total == 0
    assert lookup_leads("_", as_of=AS_OF).total == 0


@pytest.mark.parametrize("few_matches", [0, 5000])
def test_many_matches_come_most_recent_first_capped_by_the_limit_with_the_total(monkeypatch, few_matches):
    # Both query shapes (through the name-key index, or walking created_at) give the same answer.
    monkeypatch.setattr(lookup, "FEW_MATCHES", few_matches)
    leads = [LeadFactory(name=f"Mary Jackson {i}", created_at=AS_OF - timedelta(days=i)) for i in range(7)]
    LeadFactory(name="Ada Lovelace")
    result = lookup_leads("mary jackson", as_of=AS_OF, limit=3)
    assert [m.lead for m in result.matches] == leads[:3]
    assert result.total == 7


def test_the_command_prints_each_match_with_its_class_reason_and_agent():
    agent = AgentFactory(email="dorothy@sales.test")
    LeadFactory(
        name="José Müller",
        email="jose@example.org",
        phone="555-0100",
        status=LeadStatus.NEW,
        created_at=AS_OF - timedelta(days=9),
        assigned_agent=agent,
    )
    out, _ = run("jose muller")
    assert "José Müller <jose@example.org>, 555-0100" in out
    assert "9.0 days old, agent dorothy@sales.test" in out
    assert "urgent: new, 9 days old: not worked after 7 days -> urgent; becomes stale on 2026-12-15" in out
    assert "1 match as of 2026-11-24 12:00 UTC." in out


def test_no_match_is_a_clear_message_and_exit_1():
    LeadFactory(name="Ada Lovelace")
    with pytest.raises(CommandError, match="No lead's name contains 'Nobody' \\(looked up as 'nobody'\\)") as error:
        run("Nobody")
    assert error.value.returncode == 1


def test_a_query_without_letters_and_a_bad_limit_are_usage_errors():
    for args in (["  "], ["ada", "--limit", "0"]):
        with pytest.raises(CommandError) as error:
            run(*args)
        assert error.value.returncode == 2


def test_the_command_caps_the_list_with_limit_and_says_how_many_there_are():
    for i in range(4):
        LeadFactory(name=f"Katherine Johnson {i}", created_at=AS_OF - timedelta(hours=i))
    out, _ = run("katherine", "--limit", "2")
    assert out.count("Katherine Johnson") == 2
    assert "Katherine Johnson 0" in out and "Katherine Johnson 2" not in out
    assert "Showing the 2 most recent of 4 matches (--limit 2)." in out


def test_the_json_output_is_a_list_with_the_documented_keys():
    agent = AgentFactory(email="grace@sales.test")
    LeadFactory(
        name="Zoë Øberg",
        email="zoe@example.org",
        status=LeadStatus.QUALIFIED,
        created_at=AS_OF - timedelta(days=12),
        assigned_agent=agent,
    )
    LeadFactory(
        name="Zoe Oberg", email="zoe2@example.org", status=LeadStatus.LOST, created_at=AS_OF - timedelta(days=40)
    )
    out, _ = run("zoe oberg", "--json")
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 2
    assert {"name", "email", "phone", "status", "created_at", "classification", "reason", "agent"} <= set(data[0])
    assert data[0]["name"] == "Zoë Øberg"
    assert data[0]["classification"] == "active"
    assert data[0]["reason"].startswith("qualified, 12 days old: worked")
    assert data[0]["agent"] == "grace@sales.test"
    assert data[0]["created_at"] == "2026-11-12T12:00:00+00:00"
    assert (data[1]["classification"], data[1]["agent"]) == ("closed", None)


def test_the_json_output_on_no_match_is_an_empty_list_and_exit_1():
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("lookup_lead", "nobody", "--json", stdout=out, stderr=StringIO())
    assert json.loads(out.getvalue()) == []
    assert error.value.returncode == 1


def test_the_json_output_reports_a_capped_list_on_stderr():
    for i in range(3):
        LeadFactory(name=f"Hedy Lamarr {i}")
    out, err = run("hedy", "--json", "--limit", "1")
    assert len(json.loads(out)) == 1
    assert "Showing the 1 most recent of 3 matches" in err


@pytest.mark.parametrize("limit", [str(2**63), "100001", "-1"])
def test_a_limit_beyond_what_a_list_can_show_is_a_usage_error(limit):
    LeadFactory(name="Ada Lovelace")
    with pytest.raises(CommandError, match=r"--limit must be from 1 to 100,000") as error:
        run("ada", "--limit", limit)
    assert error.value.returncode == 2


def test_the_largest_limit_lists_every_match():
    LeadFactory(name="Ada Lovelace")
    out, _ = run("ada", "--limit", "100000")
    assert "1 match as of" in out
