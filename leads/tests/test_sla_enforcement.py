"""enforce_sla: remind, escalate, reassign and recycle untouched leads, in working time, idempotently."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.models import Agent, Holiday, Team
from leads.models import AssignmentRun, Lead, LeadAssignment, LeadStatus, Notification, SlaPolicy
from leads.notifications import send_due
from leads.sla import enforce_sla
from leads.tests.roles import make_manager

pytestmark = pytest.mark.django_db

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
# The frozen clock is Tuesday 24 November 2026; the walk-through starts that Friday. Monday 30 is a holiday.
FRIDAY = datetime(2026, 11, 27, 15, 0, tzinfo=PARIS)
HOLIDAY = datetime(2026, 11, 30).date()


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12 if day < 20 else 11, day, hour, minute, tzinfo=PARIS)


def run(as_of: datetime, **kwargs):
    return enforce_sla(as_of=as_of, seed=kwargs.pop("seed", 1), **kwargs)


def counts(result) -> tuple:
    return (result.reminded, result.escalated, result.reassigned, result.recycled)


@pytest.fixture
def desk():
    """EMEA: Ana in Paris (09:00-17:00), Ben in New York (06:00-14:00 there), Cy in Paris; a manager; the default
    policy: remind at 3 working hours, escalate at 4, reassign at 6, at most 2 reassignments."""
    team = Team.objects.create(name="EMEA")
    manager = make_manager("mona")
    manager.email = "mona@acme.example"
    manager.save()
    team.managers.add(manager)
    agents = {}
    for name, zone, hours in (
        ("ana", "Europe/Paris", "Mon-Fri 09:00-17:00"),
        ("ben", "America/New_York", "Mon-Fri 06:00-14:00"),
        ("cy", "Europe/Paris", "Mon-Fri 09:00-17:00"),
    ):
        agents[name] = Agent.objects.create(
            name=name.title(), email=f"{name}@acme.example", time_zone=zone, working_hours=hours
        )
        agents[name].teams.add(team)
    Holiday.objects.create(date=HOLIDAY, name="Company day")
    SlaPolicy.objects.create(
        first_touch_hours=Decimal(4),
        remind_at_hours=Decimal(3),
        escalate_after_hours=Decimal(4),
        reassign_after_hours=Decimal(6),
        max_reassignments=2,
    )
    return team, agents


def assign(lead_agent, at: datetime, *, pool="EMEA", email="jo@client.example") -> Lead:
    lead = Lead.objects.create(
        name="Jo Client", email=email, status=LeadStatus.NEW, created_at=at, assigned_agent=lead_agent
    )
    team = Team.objects.filter(name=pool).first()
    Lead.objects.filter(pk=lead.pk).update(assigned_at=at, updated_at=at, assigned_team=team)
    run_row = AssignmentRun.objects.create(source="command", action="assign", as_of=at)
    LeadAssignment.objects.create(
        lead=lead, to_agent=lead_agent, run=run_row, reason="assigned", changed_at=at, pool=pool
    )
    return lead


def test_a_lead_walks_through_remind_escalate_and_reassign_across_a_weekend_a_holiday_and_two_zones(desk):
    _, agents = desk
    lead = assign(agents["ana"], FRIDAY)  # Friday 15:00 in Paris: 2 working hours left that day

    assert counts(run(paris(28, 12))) == (0, 0, 0, 0)  # Saturday
    assert counts(run(paris(30, 12))) == (0, 0, 0, 0)  # Monday, the holiday
    assert counts(run(paris(1, 9, 59))) == (0, 0, 0, 0)  # Tuesday: 2 h 59 min of working time
    reminded = run(paris(1, 10))
    assert counts(reminded) == (1, 0, 0, 0)
    reminder = Notification.objects.get(kind="sla-reminder")
    assert (reminder.to, reminder.lead_id, reminder.sla_clock) == ("ana@acme.example", lead.id, FRIDAY)
    assert reminder.created_at == paris(1, 10)
    assert counts(run(paris(1, 10))) == (0, 0, 0, 0)  # the same moment again: nothing more

    assert counts(run(paris(1, 11))) == (0, 1, 0, 0)
    assert Notification.objects.get(kind="sla-escalation").to == "mona@acme.example"
    assert counts(run(paris(1, 12))) == (0, 0, 0, 0)  # never repeated

    moved = run(paris(1, 13))  # 6 working hours: 07:00 in New York, where Ben has started; Cy ties with him
    assert counts(moved) == (0, 0, 1, 0)
    lead.refresh_from_db()
    new_agent = lead.assigned_agent.email
    assert new_agent in ("ben@acme.example", "cy@acme.example")
    assert lead.assigned_at == paris(1, 13)
    change = LeadAssignment.objects.get(reason="sla-reassigned")
    assert (change.from_agent.email, change.changed_at, change.pool) == ("ana@acme.example", paris(1, 13), "EMEA")
    assert AssignmentRun.objects.get(pk=moved.run_id).as_of == paris(1, 13)
    # The new agent's clock starts again now: nothing is due at once.
    assert counts(run(paris(1, 13, 30))) == (0, 0, 0, 0)


def test_a_lead_never_returns_to_an_agent_who_held_it_and_is_only_escalated_after_the_last_reassignment(desk):
    _, agents = desk
    lead = assign(agents["ana"], paris(1, 9))  # Tuesday 09:00 in Paris
    holders = ["ana@acme.example"]
    moment = paris(1, 15)  # 6 working hours later (Ben is at work: 09:00 in New York)
    for _ in range(2):
        result = run(moment)
        assert result.reassigned == 1
        lead.refresh_from_db()
        assert lead.assigned_agent.email not in holders
        holders.append(lead.assigned_agent.email)
        moment += timedelta(days=1)  # a working day later (6 h for either zone, at 15:00 in Paris)
    assert sorted(holders) == ["ana@acme.example", "ben@acme.example", "cy@acme.example"]
    # Everyone has held it and max_reassignments (2) is reached: it stays, and the managers hear of it.
    last = run(moment)
    assert (last.reassigned, last.escalated) == (0, 1)
    lead.refresh_from_db()
    assert lead.assigned_agent.email == holders[-1]


def test_a_touched_lead_is_left_alone(desk):
    _, agents = desk
    lead = assign(agents["ana"], paris(1, 9))
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.CONTACTED)
    assert counts(run(paris(3, 17))) == (0, 0, 0, 0)


def test_a_lead_without_activity_is_recycled_to_its_pool(desk):
    _, agents = desk
    SlaPolicy.objects.update(recycle_stale_after_days=10)
    lead = assign(agents["ana"], paris(1, 9))
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.CONTACTED, last_activity_at=paris(2, 9))
    assert counts(run(paris(12, 8))) == (0, 0, 0, 0)  # 9 days 23 hours since its last change
    recycled = run(paris(12, 15))  # Saturday 12 December
    assert counts(recycled) == (0, 0, 0, 1)
    lead.refresh_from_db()
    # Saturday: nobody is at work, so it goes back to its pool unassigned, and the next assign_leads places it.
    assert lead.assigned_agent is None
    assert LeadAssignment.objects.get(reason="recycled-stale").to_agent is None


def test_a_dry_run_writes_nothing_and_reports_what_would_happen(desk):
    _, agents = desk
    assign(agents["ana"], paris(1, 9))
    dry = run(paris(1, 15), dry_run=True)
    assert counts(dry) == (0, 0, 1, 0) and dry.run_id is None
    assert not Notification.objects.exists()
    assert not LeadAssignment.objects.filter(reason="sla-reassigned").exists()
    assert Lead.objects.get().assigned_agent.email == "ana@acme.example"


def test_reminders_and_escalations_are_emailed(desk, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _, agents = desk
    assign(agents["ana"], paris(1, 9))
    run(paris(1, 13))  # 4 working hours: reminded and escalated
    send_due()
    subjects = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert subjects == [
        ("ana@acme.example", "Reminder: Jo Client is waiting for its first touch"),
        ("mona@acme.example", "Escalation: Jo Client untouched by Ana"),
    ]


def test_the_command_prints_the_json_shape_and_refuses_a_bad_moment(desk):
    _, agents = desk
    assign(agents["ana"], paris(1, 9))
    out = StringIO()
    call_command("enforce_sla", "--as-of", paris(1, 12).isoformat(), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"as_of", "reminded", "escalated", "reassigned", "recycled", "run"}
    assert (data["reminded"], data["escalated"]) == (1, 0)
    assert data["as_of"] == paris(1, 12).astimezone(UTC).isoformat() or data["as_of"] == paris(1, 12).isoformat()
    with pytest.raises(CommandError) as failed:
        call_command("enforce_sla", "--as-of", "next tuesday")
    assert failed.value.returncode == 2


def test_without_any_policy_nothing_happens():
    agent = Agent.objects.create(name="Ana", email="ana@acme.example")
    assign(agent, paris(1, 9), pool="")
    assert counts(run(paris(20, 9))) == (0, 0, 0, 0)


def test_sla_states_in_sql_follow_working_time(desk):
    from leads.sla_states import sla_state_condition

    _, agents = desk
    within = assign(agents["ana"], paris(1, 11), email="within@client.example")
    soon = assign(agents["ana"], paris(1, 9), email="soon@client.example")
    late = assign(agents["ana"], FRIDAY)  # 2 h Friday, the holiday Monday skipped, 3 h Tuesday: 5 h
    touched = assign(agents["ana"], FRIDAY, email="touched@client.example")
    Lead.objects.filter(pk=touched.pk).update(status=LeadStatus.CONTACTED)
    at = paris(1, 12)  # Tuesday noon in Paris; first touch 4 h, reminder 3 h
    found = {
        state: set(Lead.objects.filter(sla_state_condition(state, as_of=at)).values_list("id", flat=True))
        for state in ("within", "due-soon", "breached")
    }
    assert found == {"within": {within.id}, "due-soon": {soon.id}, "breached": {late.id}}


def test_verification_reports_breaches_and_fails_on_them_only_when_strict(desk):
    from leads.verification import verify_assignments

    _, agents = desk
    assign(agents["ana"], FRIDAY)
    report = verify_assignments(as_of=paris(1, 12))
    assert report.to_dict()["sla_breached"] == 1
    assert not any("SLA" in p for p in report.problems)
    strict = verify_assignments(as_of=paris(1, 12), strict_sla=True)
    assert any("past their first-touch time" in p for p in strict.problems)


def test_the_lead_list_filters_by_sla_state(desk, client):
    from django.contrib.auth import get_user_model

    _, agents = desk
    late = assign(agents["ana"], FRIDAY)
    admin = get_user_model().objects.create_superuser("root", "root@acme.example", "pw")
    client.force_login(admin)
    with time_machine.travel(paris(1, 12), tick=False):
        page = client.get("/admin/leads/lead/", {"sla": "breached"})
        assert page.status_code == 200
        assert [lead.pk for lead in page.context["cl"].result_list] == [late.pk]
        assert list(client.get("/admin/leads/lead/", {"sla": "within"}).context["cl"].result_list) == []
        assert client.get("/admin/leads/lead/", {"sla": "nonsense"}).url.endswith("?e=1")


def test_managers_read_the_reminders_and_escalations_in_the_notifications_list(desk, client):
    from django.contrib.auth import get_user_model

    _, agents = desk
    lead = assign(agents["ana"], paris(1, 9))
    run(paris(1, 13))
    admin = get_user_model().objects.create_superuser("root", "root@acme.example", "pw")
    client.force_login(admin)
    listing = client.get("/admin/leads/notification/", {"kind": "sla-escalation"})
    assert [n.to for n in listing.context["cl"].result_list] == ["mona@acme.example"]
    escalation = Notification.objects.get(kind="sla-escalation")
    page = client.get(f"/admin/leads/notification/{escalation.pk}/change/")
    assert page.status_code == 200
    assert f"/admin/leads/lead/{lead.pk}/change/" in page.content.decode()


def test_the_overview_shows_breaches_attainment_and_the_median_first_touch(desk, client):
    from django.contrib.auth import get_user_model

    from leads.sla_report import sla_overview

    _, agents = desk
    at = paris(1, 9)  # Tuesday 09:00 in Paris; first touch 4 working hours
    on_time = assign(agents["ana"], at, email="a@client.example")
    late = assign(agents["ana"], at, email="b@client.example")
    assign(agents["ana"], FRIDAY, email="c@client.example")  # untouched, past its time: late, breaching
    assign(agents["ana"], paris(1, 15), email="d@client.example")  # untouched, within its time: not counted
    Lead.objects.filter(pk=on_time.pk).update(status=LeadStatus.CONTACTED, first_touched_at=paris(1, 11))
    Lead.objects.filter(pk=late.pk).update(status=LeadStatus.CONTACTED, first_touched_at=paris(1, 14))
    overview = sla_overview(as_of=paris(1, 16))
    (ana,) = overview.agents
    week = ana.windows[7]
    assert (ana.breaching, week.in_time, week.late) == (1, 1, 2)
    assert week.median_hours == 3.5  # 2 h and 5 h to the first touch
    (pool,) = overview.teams
    assert (pool.label, pool.breaching, pool.windows[30].in_time) == ("EMEA", 1, 1)

    admin = get_user_model().objects.create_superuser("root", "root@acme.example", "pw")
    client.force_login(admin)
    with time_machine.travel(paris(1, 16), tick=False):
        page = client.get("/admin/lead-overview/").content.decode()
    assert 'id="sla"' in page and "?sla=breached" in page
    assert "33% (1/3)" in page
