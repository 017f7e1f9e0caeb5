"""The intake API (django-ninja), mounted at /api/v1/ (crm/urls.py); README "Intake API".

Thin: it authenticates the key and counts its request (in the authentication, see BearerKey), reads the body
within its size limit and hands the leads to leads.intake, which cleans, saves and assigns them. Errors are
JSON: `{"detail": text}`, and for leads that break rules `{"errors": [{"field", "message"}]}` (422).

Rate limit: API_RATE_LIMIT requests per key per clock minute, counted in the key's own row (ApiKey.window_*)
by one UPDATE that also records its use (requests, last used). The row lock makes the count exact across
processes and servers on every engine, with no cache server to run: ninja's cache throttle reads and writes its
history in two steps (two processes can both pass) and the project's default cache is per process.
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from django.db import OperationalError, connection, transaction
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer
from pydantic import ConfigDict

from core import clock, sql
from core.sql import is_lock_timeout, lock_timeout_message
from imports.records import record_keys
from leads.importing import LEAD_SCHEMA
from leads.intake import CREATED, intake_leads
from leads.models import ApiKey, Lead

MAX_BATCH = 1_000  # leads in one batch


class BearerKey(HttpBearer):
    """`Authorization: Bearer <key>`: a key that exists and is not revoked. Each request it authenticates is
    counted on it (count_request) here rather than in a ninja throttle: ninja runs throttles outside its exception
    handling, so a count that timed out on a lock would answer 500 instead of 503."""

    def authenticate(self, request, token):
        key = ApiKey.objects.usable().filter(key_hash=ApiKey.hash_of(token)).first()
        if key is not None:
            count_request(key, clock.request_as_of(request))
        return key


# Written out: the ORM's UPDATE with a CASE cost more to build than to run, on every request. The window's count
# is set before its start moves (MariaDB assigns left to right, reading the values just set).
_COUNT_REQUEST = (
    "requests = requests + 1, last_used_at = %s, "
    "window_requests = CASE WHEN window_start = %s THEN window_requests + 1 ELSE 1 END, window_start = %s"
)


def count_request(key: ApiKey, now) -> None:
    """Record a request on its key (requests, last used) and count it in the key's clock minute: one UPDATE,
    whose row lock makes the count exact across processes. Raises Throttled (429) beyond API_RATE_LIMIT.
    The count's commit does not wait for the disk (core.sql commit_without_flush): a database server that crashes
    may forget the last fraction of a second of request counts, which is cheaper to lose than a log flush per
    request (on PostgreSQL, a third of a single lead's POST)."""
    minute = connection.ops.adapt_datetimefield_value(now.replace(second=0, microsecond=0))
    stamp = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic(), connection.cursor() as cursor:
        dialect = sql.dialect()
        dialect.commit_without_flush(cursor)
        [made] = dialect.update_returning(
            cursor,
            ApiKey._meta.db_table,
            _COUNT_REQUEST,
            [stamp, minute, minute],
            key=("id", key.pk),
            returning="window_requests",
        )
    if made > settings.API_RATE_LIMIT:
        raise Throttled(wait=60 - now.second - now.microsecond / 1_000_000)  # until the next minute


class OfflineSwagger(Swagger):
    """ninja's offline Swagger page (its template, Swagger UI from its static files: crm.settings puts both on the
    paths). ninja renders that template only when it is an installed app, and falls back to a CDN page otherwise;
    it is no installed app here (its import, pydantic's, would cost every process's start-up), so the fallback is
    the offline template itself, rendered the same way."""

    template_cdn = str(settings.NINJA_DIR / "templates" / "ninja" / "swagger.html")


api = NinjaAPI(
    title="CRM intake API",
    version="1",
    description="Leads pushed by forms and tools: cleaned by the CSV import's rules, deduplicated by email, "
    "assigned on arrival.",
    urls_namespace="api-v1",
    auth=BearerKey(),
    docs=OfflineSwagger(),
)


# ---------------------------------------------------------------------------------------------------------
# Shapes (the response schemas; the request bodies are read by hand, see _body, and documented by _LEAD_BODY)


class Detail(Schema):
    model_config = ConfigDict(extra="forbid")  # the error shapes are exact: additionalProperties false
    detail: str


class FieldError(Schema):
    model_config = ConfigDict(extra="forbid")
    field: str | None
    message: str


class Errors(Schema):
    model_config = ConfigDict(extra="forbid")
    errors: list[FieldError]


class LeadResult(Schema):
    id: int
    email: str
    result: str
    classification: str
    agent: str | None


class BatchLeadResult(LeadResult):
    index: int


class Rejected(Schema):
    index: int
    errors: list[FieldError]


class BatchResult(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: list[Rejected]
    results: list[BatchLeadResult]


class LeadDetail(Schema):
    id: int
    email: str
    name: str
    phone: str
    company: str
    source: str
    country: str
    status: str
    created_at: str
    classification: str
    reason: str
    next_classification: str | None
    next_change_at: str | None
    agent: str | None
    assigned_at: str | None


_LEAD_BODY = {
    "type": "object",
    "properties": {key: {"type": "string"} for key in record_keys(LEAD_SCHEMA)},
    "required": [LEAD_SCHEMA.identity],
    "additionalProperties": False,
}
_BATCH_BODY = {
    "type": "object",
    "properties": {"leads": {"type": "array", "maxItems": MAX_BATCH, "items": _LEAD_BODY}},
    "required": ["leads"],
}


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer"},
    }
}
# What every operation may answer besides its own results; a body's operations add 400 and 413 (_BODY_FAILURES).
_FAILURES = {401: Detail, 422: Errors, 429: Detail, 503: Detail}
_BODY_FAILURES = {400: Detail, 413: Detail, **_FAILURES}
_FAILURE_DOCS = {
    400: {"description": "The body is not JSON, or not the JSON object expected."},
    401: {"description": "No valid API key: missing, wrong or revoked."},
    413: {
        "description": "The body is larger than API_MAX_BODY_KB (API_MAX_BATCH_BODY_KB), or a batch holds more "
        "than 1,000 leads."
    },
    422: {
        "description": "Broken rules, each named with its field (the key as sent; null for a batch item that is "
        "no object); nothing is written."
    },
    429: {
        "description": "More than API_RATE_LIMIT requests of this key in this clock minute.",
        "headers": _RETRY_AFTER,
    },
    503: {"description": "The database stayed locked longer than it waits.", "headers": _RETRY_AFTER},
}
# The lead a POST answers with, followed by id and by email (OpenAPI links: clients and stateful tests follow them).
_LEAD_LINKS = {
    "links": {
        "GetLeadById": {"operationId": "leads_api_get_lead", "parameters": {"id": "$response.body#/id"}},
        "FindLeadByEmail": {"operationId": "leads_api_find_lead", "parameters": {"email": "$response.body#/email"}},
    }
}


def _documented(responses: dict, body: dict | None = None, links: tuple[int, ...] = ()) -> dict:
    """An operation's response models, and the OpenAPI they cannot say: the failures' descriptions and headers,
    links, the body read by hand (_body)."""
    extra: dict = {"responses": {status: _FAILURE_DOCS[status] for status in responses if status in _FAILURE_DOCS}}
    for status in links:
        extra["responses"][status] = _LEAD_LINKS
    if body is not None:
        extra["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return {"response": responses, "openapi_extra": extra}


# ---------------------------------------------------------------------------------------------------------
# Errors


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    return api.create_response(
        request, {"detail": "A valid API key is needed: send Authorization: Bearer <key>."}, status=401
    )


@api.exception_handler(Throttled)
def _throttled(request, exc):
    response = api.create_response(request, {"detail": exc.message}, status=429)
    response["Retry-After"] = str(math.ceil(exc.wait))  # integer delta-seconds (RFC 9110)
    return response


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    errors = [{"field": str(e.get("loc", ["?"])[-1]), "message": e.get("msg", "invalid")} for e in exc.errors]
    return api.create_response(request, {"errors": errors}, status=422)


@api.exception_handler(OperationalError)
def _busy(request, exc):
    if not is_lock_timeout(exc):
        raise exc
    response = api.create_response(request, {"detail": lock_timeout_message()}, status=503)
    response["Retry-After"] = "5"
    return response


def _body(request, limit_kb: int):
    """The JSON body, read up to its limit: 413 beyond it, 400 when it is not JSON."""
    limit = limit_kb * 1024
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise HttpError(413, f"The body is larger than {limit_kb} KB.")
    data = request.read(limit + 1)
    if len(data) > limit:
        raise HttpError(413, f"The body is larger than {limit_kb} KB.")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise HttpError(400, "The body is not JSON.") from None


# ---------------------------------------------------------------------------------------------------------
# Endpoints


@api.post(
    "/leads",
    **_documented({200: LeadResult, 201: LeadResult, **_BODY_FAILURES}, _LEAD_BODY, links=(200, 201)),
    summary="Create or update one lead",
)
def post_lead(request):
    """Cleaned by the CSV import's rules; the email identifies the lead. 201 when created, 200 when updated or
    unchanged; 422 names every broken rule and writes nothing."""
    body = _body(request, settings.API_MAX_BODY_KB)
    if not isinstance(body, dict):
        raise HttpError(400, "The body must be a JSON object (one lead).")
    result = intake_leads(
        leads=[body], as_of=clock.request_as_of(request), default_source=request.auth.source, api_key=request.auth
    )
    if result.rejected:
        return Status(422, {"errors": result.rejected[0]})
    outcome = result.outcomes[0]
    return Status(201 if outcome.result == CREATED else 200, outcome.to_dict())


@api.post(
    "/leads/batch",
    **_documented({200: BatchResult, **_BODY_FAILURES}, _BATCH_BODY),
    summary="Create or update up to 1,000 leads",
)
def post_batch(request):
    """The valid leads are saved (in one transaction), the invalid ones come back by index with their errors.
    Rows of one email are merged as in the import; the counts count leads."""
    body = _body(request, settings.API_MAX_BATCH_BODY_KB)
    if not isinstance(body, dict):
        raise HttpError(400, 'The body must be a JSON object: {"leads": [...]}.')
    leads = body.get("leads")
    if not isinstance(leads, list):
        return Status(422, {"errors": [{"field": "leads", "message": "must be a list of lead objects"}]})
    if len(leads) > MAX_BATCH:
        raise HttpError(413, f"A batch holds at most {MAX_BATCH:,} leads, not {len(leads):,}.")
    objects = {i: lead for i, lead in enumerate(leads) if isinstance(lead, dict)}
    result = intake_leads(
        leads=list(objects.values()),
        as_of=clock.request_as_of(request),
        default_source=request.auth.source,
        api_key=request.auth,
    )
    positions = list(objects)  # the request's index of each object handed over
    rejected = {positions[i]: errors for i, errors in result.rejected.items()}
    for i, lead in enumerate(leads):
        if not isinstance(lead, dict):
            rejected[i] = [{"field": None, "message": "must be a JSON object"}]
    answer = {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": [{"index": i, "errors": rejected[i]} for i in sorted(rejected)],
        "results": [{**o.to_dict(), "index": positions[o.index]} for o in result.outcomes],
    }
    # Rendered as built, not validated again through BatchResult (a model per lead): the shape is the schema's
    # (leads/tests/test_api_schema.py checks every answer against it).
    return api.create_response(request, answer, status=200)


def _detail(lead: Lead, request) -> dict:
    explanation = lead.explanation_at(clock.request_as_of(request)).to_dict()
    return {
        "id": lead.pk,
        "email": lead.email,
        "name": lead.name,
        "phone": lead.phone,
        "company": lead.company,
        "source": lead.source,
        "country": lead.country,
        "status": lead.status,
        "created_at": lead.created_at.isoformat(),
        **explanation,
        "agent": lead.assigned_agent.email if lead.assigned_agent_id else None,
        "assigned_at": lead.assigned_at.isoformat() if lead.assigned_at else None,
    }


@api.get(
    "/leads/{id}",
    **_documented({200: LeadDetail, 404: Detail, **_FAILURES}),
    summary="One lead",
)
def get_lead(request, id: int):
    """The lead with its class, the reason for it, its next change and its agent."""
    lead = Lead.objects.select_related("assigned_agent").filter(pk=id).first() if 0 < id < 2**63 else None
    if lead is None:
        return Status(404, {"detail": f"No lead with id {id}."})
    return Status(200, _detail(lead, request))


@api.get(
    "/leads",
    **_documented({200: LeadDetail, 404: Detail, **_FAILURES}),
    summary="The lead of an email",
)
def find_lead(request, email: str):
    """The lead with this email (compared as the import stores it: trimmed, lower case)."""
    email = email.strip().lower()
    lead = None if "\x00" in email else Lead.objects.select_related("assigned_agent").filter(email=email).first()
    if lead is None:
        return Status(404, {"detail": f"No lead with email {email!r}."})
    return Status(200, _detail(lead, request))
