"""Assignment runs as the service records them (AssignmentRun.pools: PoolReport.to_dict by pool name), written by
hand, for the tests that read them back (leads.explanation)."""

from datetime import timedelta

from core import clock
from leads.models import AssignmentRun, LeadAssignment


def eligible_row(agent, *, load, given, weight="1.00", share="1", capacity=None, daily_cap=None, room=None, today=0):
    return {
        "id": agent.pk,
        "email": agent.email,
        "name": agent.name,
        "load": load,
        "open_leads": load,
        "weight": weight,
        "share": share,
        "capacity": capacity,
        "daily_cap": daily_cap,
        "received_today": today,
        "room": room,
        "given": given,
    }


def skipped_row(agent, *, skipped, until=None, absence="", load=0):
    row = {
        "id": agent.pk,
        "email": agent.email,
        "name": agent.name,
        "load": load,
        "open_leads": load,
        "weight": "1.00",
        "share": "1",
        "capacity": None,
        "daily_cap": None,
        "received_today": 0,
        "skipped": skipped,
        "until": until.isoformat() if until else None,
    }
    if absence:
        row["absence"] = absence
    return row


def pool_report(team, *, eligible, skipped=(), leads=None):
    placed = sum(row["given"] for row in eligible)
    leads = placed if leads is None else leads
    return {
        "team_id": team.pk if team else None,
        "team": team.name if team else None,
        "leads": leads,
        "placed": placed,
        "waiting": leads - placed,
        "eligible": list(eligible),
        "skipped": list(skipped),
        "next_available": None,
        "why_waiting": "",
    }


def record_run(*, pools, seed=42, balance="open_load", ago=timedelta(hours=1), **fields):
    at = clock.now() - ago
    fields = {"source": "command", "action": "assign", "as_of": at, "started_at": at, **fields}
    flags = {"balance": balance} if balance else {}
    return AssignmentRun.objects.create(seed=seed, flags=flags, pools=pools, **fields)


def record_change(lead, run, *, to_agent, reason=LeadAssignment.Reason.ASSIGNED, pool="", rule="", from_agent=None):
    change = LeadAssignment.objects.create(
        lead=lead,
        run=run,
        from_agent=from_agent,
        to_agent=to_agent,
        reason=reason,
        pool=pool,
        rule=rule,
        changed_at=run.as_of or run.started_at,
    )
    lead.assigned_agent = to_agent
    lead.assigned_at = change.changed_at
    lead.save(update_fields=["assigned_agent", "assigned_at"])
    return change
