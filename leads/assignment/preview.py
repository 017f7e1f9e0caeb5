"""Where would this lead go? The rule, the pool, and the agent that would get it now, with the reasons: what the
admin's form shows, computed by the rules a run uses (leads.routing, eligibility) on the loads as they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from leads.assignment.eligibility import SKIP_PHRASES, Eligibility, PoolAgent, PoolReport, read_eligibility
from leads.loads import counted_loads
from leads.routing import Route, RuleSet


@dataclass(frozen=True)
class LeadPreview:
    as_of: datetime
    route: Route
    pool: PoolReport  # eligible rows carry "next_key": (load + 1) / share, the level the lead would bring it to
    chosen: list[dict]  # the eligible agents with the lowest next key: one gets the lead; several tie (the seed picks)
    why: str

    @property
    def agent(self) -> dict | None:
        return self.chosen[0] if len(self.chosen) == 1 else None


def next_key(eligibility: Eligibility, agent: PoolAgent) -> Fraction:
    """The weighted level an agent would reach with one more lead: water-filling gives the lead to the lowest."""
    return Fraction(eligibility.load(agent) + 1) / eligibility.share(agent)


def where_would_it_go(lead, *, as_of: datetime) -> LeadPreview:
    """`lead`: a Lead, saved or not (source, country, email, company, status, created_at)."""
    route = RuleSet.load().route_lead(lead, as_of)
    eligibility = read_eligibility({a.id: a for a in counted_loads()}, as_of=as_of)
    pool = PoolReport(team_id=route.team_id, team=route.team_name, leads=1)
    keys = {}
    for agent in eligibility.members(route.team_id):
        row = eligibility.describe(agent)
        if agent.eligible:
            keys[agent.id] = next_key(eligibility, agent)
            row["next_key"] = str(keys[agent.id])
            pool.eligible.append(row)
        else:
            pool.skipped.append(row)
    rule = f"rule {route.rule.position} “{route.rule.name}”" if route.rule else "no rule matched"
    if not keys:
        pool.next_available = eligibility.next_available(route.team_id)
        return LeadPreview(
            as_of, route, pool, [], f"{rule}: pool {route.pool_label}; {pool.why_waiting()}, so it would wait."
        )
    lowest = min(keys.values())
    chosen = [row for row in pool.eligible if keys[row["id"]] == lowest]
    pool.placed = 1
    if len(chosen) == 1:
        why = (
            f"{rule}: pool {route.pool_label}; {chosen[0]['email']} has the lowest weighted load with one more lead "
            f"(({chosen[0]['load']} + 1) / {chosen[0]['share']} = {float(lowest):.3g})."
        )
    else:
        names = ", ".join(row["email"] for row in chosen)
        why = (
            f"{rule}: pool {route.pool_label}; {names} tie at the lowest weighted load ({float(lowest):.3g}): "
            "the run's seed picks one."
        )
    skipped = ", ".join(f"{row['email']} ({SKIP_PHRASES[row['skipped']]})" for row in pool.skipped)
    if skipped:
        why += f" Skipped: {skipped}."
    return LeadPreview(as_of, route, pool, chosen, why)
