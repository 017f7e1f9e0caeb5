"""Routing vectorized over a frame of leads (RuleSet.match_frame, route_frame, route_queryset): the assignment
routes every open lead in one pass. The rules, and the routing of one lead in plain Python, are leads.routing's;
both fold and match alike (leads/tests/test_routing.py proves it).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from imports.values import STRING, name_keys
from leads.routing import DOMAIN, FRAME_COLUMNS, MAX_FOLDED, Rule, RuleSet


def match_frame(rules: RuleSet, frame: pd.DataFrame) -> pd.Series:
    """RuleSet.match_frame: the position of the rule deciding each lead (<NA>: none matches)."""
    folded = _folded(frame, rules.condition_names)
    decided = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    open_rows = np.ones(len(frame), dtype=bool)
    for rule in rules.rules:
        if not open_rows.any():
            break
        hit = open_rows & _matches(rule, folded, len(frame))
        decided[hit] = rule.position
        open_rows &= ~hit
    return decided


def route_frame(rules: RuleSet, frame: pd.DataFrame) -> pd.Series:
    """RuleSet.route_frame: each lead's pool, <NA> for the pool of every agent."""
    positions = match_frame(rules, frame)
    teams = {rule.position: rule.team_id for rule in rules.rules}
    pools = positions.map(teams).astype("Int64")
    if rules.default_team_id is not None:
        pools = pools.fillna(rules.default_team_id)
    return pools


def lead_frame(leads, as_of: datetime) -> pd.DataFrame:
    """A queryset of leads as the frame routing reads (`id` and FRAME_COLUMNS), in one query, the class at `as_of`
    from the SQL classification (leads.classification)."""
    rows = (
        leads.with_classification(as_of, name="_lead_class")
        .order_by()
        .values_list("id", "source", "country", "email", "company", "_lead_class")
    )
    return pd.DataFrame(list(rows), columns=["id", *FRAME_COLUMNS])


def _folded(frame: pd.DataFrame, needed) -> dict[str, pd.Series]:
    """The frame's columns folded for matching, only those some rule reads (folding a million emails costs
    seconds)."""

    def column(name: str) -> pd.Series:
        values = frame[name] if name in frame else pd.Series("", index=frame.index)
        return name_keys(values.astype(STRING).fillna(""), max_length=MAX_FOLDED)

    sources = {
        "source": lambda: column("source"),
        "country": lambda: column("country"),
        "email_domain": lambda: column("email").str.extract(DOMAIN.pattern)[0].fillna("").astype(STRING),
        "company_contains": lambda: column("company"),
        "classification": lambda: column("classification"),
    }
    return {name: make() for name, make in sources.items() if name in needed}


def _matches(rule: Rule, folded: dict[str, pd.Series], rows: int) -> np.ndarray:
    hit = np.ones(rows, dtype=bool)
    for name in ("source", "country", "classification"):
        wanted = getattr(rule, name)
        if wanted:
            hit &= folded[name].isin(wanted).to_numpy(dtype=bool, na_value=False)
    if rule.email_domain:
        domain = folded["email_domain"]
        any_domain = np.zeros(len(hit), dtype=bool)
        for alternative in rule.email_domain:
            same = (domain == alternative) | domain.str.endswith("." + alternative)
            any_domain |= same.to_numpy(dtype=bool, na_value=False)
        hit &= any_domain
    if rule.company_contains:
        company = folded["company_contains"]
        any_part = np.zeros(len(hit), dtype=bool)
        for alternative in rule.company_contains:
            any_part |= company.str.contains(alternative, regex=False).to_numpy(dtype=bool, na_value=False)
        hit &= any_part
    return hit
