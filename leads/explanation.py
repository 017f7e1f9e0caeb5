"""Why did this agent get this lead? Read back from what the run recorded, never guessed again.

The lead's latest audit row (LeadAssignment) names the run, the reason, the rule and the pool; the run
(AssignmentRun) keeps its seed, its moment (as_of), its balance policy (flags["balance"]) and, pool by pool, the
agents it saw (eligibility.PoolReport.to_dict): the eligible ones with their load before the run, weight, share,
caps and the leads given, and the skipped ones with why. Today's loads are never consulted: they have moved on.

Water-filling gives each lead to the eligible agent whose (load + 1) / share is lowest; an agent that received
`given` leads went from load L up to (L + given) / share, and agents that stood at that same level with room left
but got nothing there lost a tie, which the run's seed decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from django.utils import timezone

from core.normalize import normalize_email
from leads.assignment.eligibility import EVERY_AGENT, RECEIVED, SKIP_PHRASES
from leads.models import Lead, LeadAssignment

# What an explanation is about (Explanation.case).
NEVER_ASSIGNED = "never-assigned"
ROUTED = "routed"
MANUAL = "manual"
UNRECORDED = "unrecorded"  # a run that kept no record of the lead's pool (before routing)
WITHOUT_AGENT = "without-agent"  # the latest change took the lead's agent away

BALANCE_PHRASES = {
    "open_load": "open leads held, divided by the weight",
    RECEIVED: "leads received over the balance window, divided by the weight times the part of it present",
}


@dataclass
class Explanation:
    lead: Lead
    case: str
    assignment: LeadAssignment | None = None
    pool: dict | None = None  # the run's record of the lead's pool (PoolReport.to_dict), with "label"
    eligible: list[dict] = field(default_factory=list)  # as recorded, with "level", "chosen" and "tied"
    skipped: list[dict] = field(default_factory=list)  # as recorded, with "why"
    why: str = ""

    @property
    def run(self):
        return self.assignment.run if self.assignment else None

    @property
    def rule(self) -> str | None:
        """The rule that chose the pool (None: no rule matched, or nothing about it was recorded)."""
        return (self.assignment.rule or None) if self.pool is not None else None

    @property
    def as_of(self) -> datetime | None:
        run = self.run
        return (run.as_of or run.started_at) if run else None

    @property
    def balance(self) -> str | None:
        return self.run.flags.get("balance") if self.run and isinstance(self.run.flags, dict) else None

    def to_dict(self) -> dict:
        lead, change, run = self.lead, self.assignment, self.run
        assignment = None
        if change is not None:
            assignment = {
                "id": change.pk,
                "at": change.changed_at.isoformat(),
                "reason": change.reason,
                "reason_text": change.reason_phrase,
                "change": change.change_text,
                "from_agent": change.from_agent.email if change.from_agent_id else None,
                "to_agent": change.to_agent.email if change.to_agent_id else None,
                "by": change.by_text,
                "why": change.why_text,
                "run": run.pk,
                "action": run.action,
            }
        pool = None
        if self.pool is not None:
            pool = {k: self.pool.get(k) for k in ("label", "team", "team_id", "leads", "placed", "waiting")}
            pool |= {k: self.pool.get(k) for k in ("next_available", "why_waiting")}
        return {
            "lead": {"id": lead.pk, "name": lead.name, "email": lead.email, "status": lead.status},
            "agent": lead.assigned_agent.email if lead.assigned_agent_id else None,
            "case": self.case,
            "assignment": assignment,
            "rule": self.rule,
            "pool": pool,
            "seed": run.seed if run else None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "balance": self.balance,
            "eligible": self.eligible,
            "skipped": self.skipped,
            "why": self.why,
        }


def find_lead(ref: str) -> Lead | None:
    """A lead by id (digits) or by email, compared as Lead.email stores it (trimmed, lower-cased)."""
    ref = ref.strip()
    leads = Lead.objects.select_related("assigned_agent")
    if ref.isdigit():
        return leads.filter(pk=int(ref)).first()
    return leads.filter(email=normalize_email(ref)).first()


def explain_assignment(lead: Lead) -> Explanation:
    """Why `lead` has (or lacks) its agent, from its latest audit row and that row's run."""
    change = (
        LeadAssignment.objects.filter(lead=lead)
        .select_related("from_agent", "to_agent", "run", "run__user")
        .order_by("-changed_at", "-id")
        .first()
    )
    if change is None:
        return _never_assigned(lead)
    if change.reason == LeadAssignment.Reason.MANUAL:
        return _manual(lead, change)
    pools = change.run.pools if isinstance(change.run.pools, dict) else {}
    label = change.pool or EVERY_AGENT
    if label not in pools:
        return _unrecorded(lead, change, pools)
    return _routed(lead, change, {**pools[label], "label": label})


def _never_assigned(lead: Lead) -> Explanation:
    why = "Never assigned: no assignment run has given this lead an agent."
    if lead.assigned_agent_id:
        why += f" Its agent {lead.assigned_agent.email} was set outside the assignment runs (no audit row)."
    return Explanation(lead, NEVER_ASSIGNED, why=why)


def _manual(lead: Lead, change: LeadAssignment) -> Explanation:
    to = change.to_agent.email if change.to_agent_id else "nobody"
    why = (
        f"A manager's decision: {change.by_text} gave this lead to {to} by hand ({change.why_text}). "
        "No pool and no water-filling were involved."
    )
    return Explanation(lead, MANUAL, change, why=why + _agent_since(lead, change))


def _unrecorded(lead: Lead, change: LeadAssignment, pools: dict) -> Explanation:
    run = change.run
    known = f"reason {change.reason_phrase}, by {change.by_text}"
    if run.seed is not None:
        known += f", seed {run.seed}"
    if pools:
        why = (
            f"Run {run.pk} recorded the pools {', '.join(sorted(pools))} but not {change.pool or EVERY_AGENT}, "
            f"the lead's: what is known is the change ({change.change_text}; {known})."
        )
    else:
        why = (
            f"Run {run.pk} kept no pool record (it was recorded before routing): what is known is the change "
            f"({change.change_text}; {known})."
        )
    return Explanation(lead, UNRECORDED, change, why=why + _agent_since(lead, change))


def _routed(lead: Lead, change: LeadAssignment, pool: dict) -> Explanation:
    run = change.run
    eligible = [dict(row) for row in pool.get("eligible") or []]
    skipped = [{**row, "why": _skip_text(row)} for row in pool.get("skipped") or []]
    chosen = next((row for row in eligible if row.get("id") == change.to_agent_id), None)
    level = _level(chosen, chosen.get("given") or 0) if chosen else None
    for row in eligible:
        given = row.get("given") or 0
        row["level"] = str(_level(row, given))
        row["chosen"] = row is chosen
        # Stood at the chosen agent's last level with room for one more, yet got no lead there: a lost tie.
        row["tied"] = (
            chosen is not None
            and row is not chosen
            and bool(chosen.get("given"))
            and _has_room(row, given)
            and _level(row, given + 1) == level
        )
    rule = f"Rule “{change.rule}”" if change.rule else "No rule matched"
    parts = [f"{rule}: pool {pool['label']}."]
    if change.to_agent_id is None:
        parts.append(f"Run {run.pk} took the lead away ({change.change_text}, {change.reason_phrase}).")
        if pool.get("why_waiting"):
            parts.append(f"It waits: {pool['why_waiting']}.")
        if pool.get("next_available"):
            parts.append(f"The pool's first agent back: {_when(pool['next_available'])}.")
        return Explanation(lead, WITHOUT_AGENT, change, pool, eligible, skipped, " ".join(parts))
    parts.append("Water-filling gives each lead to the eligible agent whose (load + 1) / share is lowest.")
    if chosen is None or not chosen.get("given"):
        parts.append(
            f"The run's record of the pool does not show {change.to_agent.email} receiving a lead "
            f"({'not among its eligible agents' if chosen is None else 'given 0'}): the record and the audit row "
            "disagree, so no more can be said."
        )
    else:
        load, share, given = chosen["load"], Fraction(chosen["share"]), chosen["given"]
        placed = pool.get("placed") or given
        parts.append(
            f"{chosen['email']} started this run at load {load} with share {_num(share)} and received {given} of "
            f"the pool's {placed} placed lead{'s' if placed != 1 else ''}, reaching ({load} + {given}) / "
            f"{_num(share)} = {_num(level)}."
        )
        if not _has_room(chosen, given):
            cap = chosen.get("daily_cap")
            limit = (
                f"today's daily cap of {cap}"
                if cap is not None and chosen.get("room") == cap - (chosen.get("received_today") or 0)
                else f"capacity of {chosen.get('capacity')}"
            )
            parts.append(f"It then had no room left ({limit}): the pool's other leads went to the others.")
        tied = [row["email"] for row in eligible if row["tied"]]
        seed = f"the seed ({run.seed})" if run.seed is not None else "the run's draw"
        if tied:
            parts.append(
                f"{', '.join(tied)} stood at the same level with room for one more: agents at the same level tie "
                f"and {seed} decided."
            )
        if placed > 1:
            parts.append(f"Which of the pool's leads went to which agent was dealt by {seed}.")
    if skipped:
        parts.append("Skipped: " + ", ".join(f"{row['email']} ({row['why']})" for row in skipped) + ".")
    return Explanation(lead, ROUTED, change, pool, eligible, skipped, " ".join(parts) + _agent_since(lead, change))


def _level(row: dict, given: int) -> Fraction:
    return Fraction(row["load"] + given) / Fraction(row["share"])


def _has_room(row: dict, given: int) -> bool:
    return row.get("room") is None or row["room"] - given > 0


def _skip_text(row: dict) -> str:
    text = SKIP_PHRASES.get(row.get("skipped"), row.get("skipped") or "skipped")
    if row.get("absence"):
        text += f": {row['absence']}"
    if row.get("until"):
        text += f", until {_when(row['until'])}"
    return text


def _agent_since(lead: Lead, change: LeadAssignment) -> str:
    """A note when the lead's agent is no longer the one the latest audit row gave it."""
    if lead.assigned_agent_id == change.to_agent_id:
        return ""
    now = lead.assigned_agent.email if lead.assigned_agent_id else "no agent"
    return f" It has {now} now, changed outside the assignment runs."


def _num(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.3g}"


def _when(iso: str) -> str:
    return f"{timezone.localtime(datetime.fromisoformat(iso)):%Y-%m-%d %H:%M %Z}"
