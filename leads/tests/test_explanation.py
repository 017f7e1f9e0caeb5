"""Why this agent: explain_assignment, the command and the lead's change page read back what the run recorded."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.models import Team
from agents.tests.factories import AgentFactory
from core import clock
from leads.explanation import MANUAL, NEVER_ASSIGNED, ROUTED, UNRECORDED, explain_assignment
from leads.models import AssignmentRun, LeadAssignment
from leads.tests.factories import LeadFactory
from leads.tests.recorded_runs import eligible_row, pool_report, record_change, record_run, skipped_row
from leads.tests.roles import make_agent_login, make_manager

pytestmark = pytest.mark.django_db

KEYS = {"lead", "agent", "case", "assignment", "rule", "pool", "seed", "as_of", "balance", "eligible", "skipped", "why"}


def explain(ref, *, as_json=False):
    out = StringIO()
    call_command("explain_assignment", str(ref), *(["--json"] if as_json else []), stdout=out)
    return json.loads(out.getvalue()) if as_json else out.getvalue()


@pytest.fixture
def routed():
    """Ann (load 3) got the lead in pool EMEA; Bob (load 5) got nothing; Cat was away on holiday."""
    emea = Team.objects.create(name="EMEA")
    ann = AgentFactory(name="Ann", email="ann@sales.test")
    bob = AgentFactory(name="Bob", email="bob@sales.test")
    cat = AgentFactory(name="Cat", email="cat@sales.test")
    back = clock.now() + timedelta(days=2)
    report = pool_report(
        emea,
        eligible=[eligible_row(ann, load=3, given=1), eligible_row(bob, load=5, given=0, capacity=10, room=5)],
        skipped=[skipped_row(cat, skipped="absent", until=back, absence="holiday")],
    )
    run = record_run(pools={"EMEA": report}, seed=42)
    lead = LeadFactory(email="jo@client.test")
    record_change(lead, run, to_agent=ann, pool="EMEA", rule="France")
    return lead, run


def test_it_explains_a_routed_lead_with_a_skipped_absent_agent(routed):
    lead, run = routed
    data = explain("JO@Client.test ", as_json=True)
    assert set(data) == KEYS
    assert data["case"] == ROUTED
    assert data["lead"]["id"] == lead.pk
    assert data["agent"] == "ann@sales.test"
    assert (data["rule"], data["pool"]["label"], data["pool"]["team"]) == ("France", "EMEA", "EMEA")
    assert (data["seed"], data["balance"]) == (42, "open_load")
    assert data["as_of"] == run.as_of.isoformat()
    assert data["assignment"]["run"] == run.pk
    assert data["assignment"]["by"] == "the command assign_leads"
    assert [(r["email"], r["chosen"], r["tied"], r["level"]) for r in data["eligible"]] == [
        ("ann@sales.test", True, False, "4"),
        ("bob@sales.test", False, False, "5"),
    ]
    assert [(r["email"], r["skipped"]) for r in data["skipped"]] == [("cat@sales.test", "absent")]
    assert data["skipped"][0]["why"] == "absent: holiday, until 2026-11-26 12:00 UTC"
    assert data["why"].startswith("Rule “France”: pool EMEA. Water-filling gives each lead")
    assert (
        "ann@sales.test started this run at load 3 with share 1 and received 1 of the pool's 1 placed lead"
        in (data["why"])
    )
    assert "reaching (3 + 1) / 1 = 4." in data["why"]
    assert "tie" not in data["why"]
    assert "Skipped: cat@sales.test (absent: holiday, until 2026-11-26 12:00 UTC)." in data["why"]


def test_its_text_names_the_run_the_agents_and_the_reason(routed):
    lead, run = routed
    text = explain(lead.pk)
    assert f"Lead {lead.pk}: {lead.name} <jo@client.test>, agent ann@sales.test" in text
    assert "Rule: France; pool: EMEA" in text
    assert f"Run {run.pk}: seed 42, as of 2026-11-24 11:00 UTC, balance open_load" in text
    lines = text.splitlines()
    ann = next(line for line in lines if line.strip().startswith("ann@sales.test"))
    assert ann.split() == ["ann@sales.test", "3", "1.00", "1", "-", "-", "0", "1", "chosen"]
    bob = next(line for line in lines if line.strip().startswith("bob@sales.test"))
    assert bob.split() == ["bob@sales.test", "5", "1.00", "1", "10", "-", "0", "0"]
    assert "cat@sales.test  absent: holiday, until 2026-11-26 12:00 UTC" in text
    assert "Why: Rule “France”: pool EMEA." in text


def test_agents_at_the_same_weighted_level_tie_and_the_seed_decides():
    ann = AgentFactory(email="ann@sales.test")
    half = AgentFactory(email="half@sales.test", weight="0.5")
    far = AgentFactory(email="far@sales.test")
    report = pool_report(
        None,
        eligible=[
            eligible_row(ann, load=3, given=1),  # (3 + 1) / 1 = 4
            eligible_row(half, load=1, given=0, weight="0.50", share="1/2"),  # (1 + 1) / (1/2) = 4 too
            eligible_row(far, load=6, given=0),  # 7
        ],
    )
    run = record_run(pools={"every agent": report}, seed=7)
    lead = LeadFactory()
    record_change(lead, run, to_agent=ann)
    data = explain(lead.pk, as_json=True)
    assert data["rule"] is None
    assert data["pool"]["label"] == "every agent" and data["pool"]["team"] is None
    assert [(r["email"], r["tied"]) for r in data["eligible"]] == [
        ("ann@sales.test", False),
        ("half@sales.test", True),
        ("far@sales.test", False),
    ]
    assert data["why"].startswith("No rule matched: pool every agent.")
    assert "half@sales.test stood at the same level with room for one more" in data["why"]
    assert "agents at the same level tie and the seed (7) decided." in data["why"]
    assert "far@sales.test" not in data["why"]


def test_in_a_run_of_many_leads_the_level_counts_every_lead_given_and_an_agent_without_room_does_not_tie():
    ann, bob, full = (AgentFactory(email=f"{n}@sales.test") for n in ("ann", "bob", "full"))
    report = pool_report(
        None,
        eligible=[
            eligible_row(ann, load=2, given=3),  # up to 5
            eligible_row(bob, load=0, given=4),  # up to 4: one more would have reached 5 as well
            eligible_row(full, load=1, given=3, room=3),  # up to 4, but no room for a fifth
        ],
        leads=10,
    )
    run = record_run(pools={"every agent": report}, balance="received")
    lead = LeadFactory()
    record_change(lead, run, to_agent=ann)
    found = explain_assignment(lead)
    assert [r["tied"] for r in found.eligible] == [False, True, False]
    assert "received 3 of the pool's 10 placed leads, reaching (2 + 3) / 1 = 5." in found.why
    assert "Which of the pool's leads went to which agent was dealt by the seed (42)." in found.why
    assert found.to_dict()["balance"] == "received"


def test_a_manual_assignment_is_a_managers_decision():
    manager = make_manager("mona")
    ann = AgentFactory(email="ann@sales.test")
    run = record_run(pools={}, seed=None, balance=None, source="admin", action="assign-to-agent", user=manager)
    lead = LeadFactory()
    record_change(lead, run, to_agent=ann, reason=LeadAssignment.Reason.MANUAL)
    data = explain(lead.email, as_json=True)
    assert data["case"] == MANUAL
    assert (data["pool"], data["rule"], data["seed"], data["eligible"], data["skipped"]) == (None, None, None, [], [])
    assert data["why"] == (
        f"A manager's decision: mona gave this lead to ann@sales.test by hand (run {run.pk}, manual). "
        "No pool and no water-filling were involved."
    )
    text = explain(lead.email)
    assert f"Run {run.pk}: seed none" in text
    assert "Eligible:" not in text


def test_a_run_recorded_before_routing_says_it_kept_no_pool_record():
    ann = AgentFactory(email="ann@sales.test")
    at = clock.now() - timedelta(days=3)
    run = AssignmentRun.objects.create(source="command", action="assign", seed=99, started_at=at)  # no as_of, pools
    lead = LeadFactory()
    record_change(lead, run, to_agent=ann)
    data = explain(lead.pk, as_json=True)
    assert data["case"] == UNRECORDED
    assert (data["pool"], data["balance"], data["seed"]) == (None, None, 99)
    assert data["as_of"] == at.isoformat()  # its start stands in
    assert data["why"] == (
        f"Run {run.pk} kept no pool record (it was recorded before routing): what is known is the change "
        "(assigned to " + ann.name + "; reason evenly, by the command assign_leads, seed 99)."
    )
    assert "balance not recorded" in explain(lead.pk)


def test_the_latest_change_is_the_one_explained_and_a_later_change_outside_runs_is_noted(routed):
    lead, _ = routed
    later = AgentFactory(email="dan@sales.test")
    run = record_run(pools={}, seed=5, ago=timedelta(minutes=5))
    record_change(lead, run, to_agent=later, from_agent=lead.assigned_agent)
    other = AgentFactory(email="eve@sales.test")
    type(lead).objects.filter(pk=lead.pk).update(assigned_agent=other)
    lead.refresh_from_db()
    found = explain_assignment(lead)
    assert (found.case, found.assignment.run_id) == (UNRECORDED, run.pk)
    assert found.why.endswith("It has eve@sales.test now, changed outside the assignment runs.")


def test_a_lead_never_assigned_says_so():
    lead = LeadFactory()
    data = explain(lead.pk, as_json=True)
    assert data["case"] == NEVER_ASSIGNED
    assert (data["agent"], data["assignment"]) == (None, None)
    assert data["why"] == "Never assigned: no assignment run has given this lead an agent."


def test_an_unknown_lead_exits_1_and_a_bad_argument_2():
    LeadFactory(email="jo@client.test")
    with pytest.raises(CommandError, match=r"^No lead with email 'nobody@client.test'\.$") as unknown:
        explain("nobody@client.test")
    assert unknown.value.returncode == 1
    with pytest.raises(CommandError, match=r"^No lead with id '999999'\.$") as unknown_id:
        explain(999999)
    assert unknown_id.value.returncode == 1
    with pytest.raises(CommandError, match="neither a lead id nor an email") as bad:
        explain("jo")
    assert bad.value.returncode == 2


def test_the_change_page_shows_why_this_agent_to_a_manager_and_not_to_the_agent(client, routed):
    lead, run = routed
    client.force_login(make_manager())
    page = re.sub(r">\s+<", "><", client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode())
    assert 'class="fieldset-heading">Why this agent</h2>' in page
    assert (
        '<tr class="chosen"><td>ann@sales.test</td><td>3</td><td>1.00</td><td>1</td><td>-</td><td>-</td>'
        "<td>0</td><td>1</td><td>chosen</td></tr>"
    ) in page
    assert "<tr><td>bob@sales.test</td><td>5</td><td>1.00</td><td>1</td><td>10</td>" in page
    assert "<tr><td>cat@sales.test</td><td>absent: holiday, until 2026-11-26 12:00 UTC</td></tr>" in page
    assert f"Run {run.pk} (assign, by the command assign_leads): seed 42" in page
    assert "Rule “France”: pool EMEA." in page
    assert "reaching (3 + 1) / 1 = 4." in page

    client.force_login(make_agent_login(lead.assigned_agent))
    own = client.get(f"/admin/leads/lead/{lead.pk}/change/")
    assert own.status_code == 200
    assert "Why this agent" not in own.content.decode()


def test_the_add_page_has_no_why_this_agent_section(admin_client):
    page = admin_client.get("/admin/leads/lead/add/")
    assert page.status_code == 200
    assert "Why this agent" not in page.content.decode()


def test_a_lead_taken_back_with_nowhere_to_go_says_why_it_waits():
    gone = AgentFactory(email="gone@sales.test", is_active=False)
    away = AgentFactory(email="away@sales.test")
    back = clock.now() + timedelta(days=1)
    report = pool_report(
        None,
        eligible=[],
        skipped=[skipped_row(gone, skipped="inactive"), skipped_row(away, skipped="absent", until=back)],
        leads=1,
    )
    report |= {
        "why_waiting": "nobody is eligible: absent (absent), inactive (inactive)",
        "next_available": back.isoformat(),
    }
    run = record_run(pools={"every agent": report})
    lead = LeadFactory()
    record_change(lead, run, to_agent=gone)
    record_change(lead, run, to_agent=None, from_agent=gone, reason=LeadAssignment.Reason.RECLAIMED_FROM_INACTIVE)
    data = explain(lead.pk, as_json=True)
    assert (data["case"], data["agent"], data["pool"]["waiting"]) == ("without-agent", None, 1)
    assert data["why"] == (
        f"No rule matched: pool every agent. Run {run.pk} took the lead away (taken from {gone.name}, now without "
        "an agent, taken back from an inactive agent). It waits: nobody is eligible: absent (absent), inactive "
        "(inactive). The pool's first agent back: 2026-11-25 12:00 UTC."
    )
