"""Finding leads by name: the query and the stored key are normalized the same way (core.normalize.name_key).

The match is "the name contains the query", run in SQL on the indexed name_key
column, so no name is ever normalized in Python at look-up time.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Q

from core.normalize import name_key, normalize_email, phone_key
from leads.classification import Explanation, explain
from leads.models import Lead

# Up to this many matches, fetch them through the name-key index (see name_matches).
FEW_MATCHES = 5000


def name_contains(query: str) -> Q:
    """Leads whose name contains the query, ignoring case, accents and extra spaces."""
    return Q(name_key__contains=name_key(query))


def name_matches(query: str) -> tuple[Q, int | None]:
    """The condition for "name contains the query" that reads fastest, and how many leads match.

    A contains match cannot seek in an index, but it can scan the small name-key
    index instead of the table. That one scan collects the ids of the matches;
    when they are few (FEW_MATCHES), every later query (a page "most recent first",
    the paginator's count, the date hierarchy's probes) is a primary-key look-up
    of those ids instead of another scan. When they are many, the plain condition
    is better: walking the created_at index finds a page of them at once. The
    count is None then (not counted yet).
    """
    contains = name_contains(query)
    ids = list(Lead.objects.filter(contains).order_by().values_list("pk", flat=True)[: FEW_MATCHES + 1])
    if len(ids) <= FEW_MATCHES:
        return Q(pk__in=ids), len(ids)
    return contains, None


# A term made only of these, with at least this many digits, is also looked for as a phone number.
_PHONE_TERM = re.compile(r"[0-9 +().\-/]+")
PHONE_MIN_DIGITS = 4


def search_conditions(term: str) -> list[Q]:
    """What the admin search looks for, each condition answered from an index on every engine.

    The name contains the term (the name-key index scanned, as in name_matches); the email starts with the
    term (the unique email index), which also finds the exact email; the company starts with the term, ignoring
    accents, case and spaces (company_key index); a phone number ends with the term's digits, leading zeros
    (a trunk prefix) dropped (phone_key index: the digits last first, so the end is a prefix).
    """
    conditions = []
    if name_key(term):
        conditions.append(name_contains(term))
    email = normalize_email(term)
    if email and " " not in email:
        conditions.append(Q(email__prefix=email))
    if name_key(term):
        conditions.append(Q(company_key__prefix=name_key(term)))
    digits = phone_key(term)[::-1].lstrip("0")
    if _PHONE_TERM.fullmatch(term.strip()) and len(digits) >= PHONE_MIN_DIGITS:
        conditions.append(Q(phone_key__prefix=digits[::-1]))
    return conditions


def search_matches(term: str) -> Q:
    """The admin search (search_conditions), as one condition that later queries answer fast.

    Like name_matches: each condition collects its ids through its own index; when all of them together are
    few (FEW_MATCHES), the list's page, count and date probes are primary-key look-ups of those ids. When they
    are many, the conditions are OR-ed, and walking the created_at index finds a page of them at once.
    """
    conditions = search_conditions(term)
    if not conditions:
        return Q(pk__in=[])
    ids: set[int] = set()
    for condition in conditions:
        found = Lead.objects.filter(condition).order_by().values_list("pk", flat=True)[: FEW_MATCHES + 1]
        ids.update(found)
        if len(ids) > FEW_MATCHES:
            return reduce(or_, conditions)
    return Q(pk__in=sorted(ids))


@dataclass(frozen=True)
class LookupMatch:
    lead: Lead
    explanation: Explanation

    def to_dict(self) -> dict:
        lead = self.lead
        return {
            "id": lead.pk,
            "name": lead.name,
            "email": lead.email,
            "phone": lead.phone,
            "company": lead.company,
            "status": lead.status,
            "created_at": lead.created_at.isoformat(),
            **self.explanation.to_dict(),
            "agent": lead.assigned_agent.email if lead.assigned_agent else None,
        }


@dataclass(frozen=True)
class LookupResult:
    query: str
    key: str  # the query as matched against Lead.name_key
    as_of: datetime
    matches: list[LookupMatch]  # most recent first, at most `limit`
    total: int  # every match, also those beyond the limit


# The most matches one look-up lists: far more than anyone reads, and a LIMIT every engine can hold.
MAX_LIMIT = 100_000


def lookup_leads(query: str, *, as_of: datetime, limit: int = 50) -> LookupResult:
    """Leads whose name contains the query, most recent first, at most `limit` of them, with the total."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be from 1 to {MAX_LIMIT}")
    key = name_key(query)
    if not key:
        return LookupResult(query, key, as_of, [], 0)
    condition, total = name_matches(query)
    if total == 0:
        return LookupResult(query, key, as_of, [], 0)
    if total is None:
        total = Lead.objects.filter(condition).count()
    found = Lead.objects.filter(condition).select_related("assigned_agent").order_by("-created_at", "-id")
    leads = list(found[:limit])
    matches = [LookupMatch(lead, explain(lead.status, lead.created_at, as_of)) for lead in leads]
    return LookupResult(query, key, as_of, matches, total)
