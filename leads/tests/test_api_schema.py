"""The intake API against its own OpenAPI schema: every operation with generated inputs (schemathesis).

The schema is read from the app itself (`/api/v1/openapi.json` through the WSGI application, crm.wsgi) when the
module is collected: schemathesis makes one test per operation from it. (Its fixture loader,
`schemathesis.pytest.from_fixture`, which could read it inside a test with a key, stops on pytest 9.2's node ids;
the schema needs no key, the operations get one each test.) Each operation runs with valid and invalid inputs
(generation mode "all"), its coverage phase (boundaries, missing and unknown fields, wrong types, unexpected
methods, requests without the key) and its fuzzing phase, mixed with the dictionaries below: the values that
typically break one engine and not another (NUL bytes, 4-byte characters, values at and above their column's
length), odd but valid emails (so leads are really written, not only refused), huge and negative ids, dates at the
edges the import accepts. Every answer must be no 5xx, a documented status with the documented content type,
body and headers, and the documented error shapes (422 `{"errors": [{"field", "message"}]}`, `{"detail"}` else).

Fixed seed, derandomized, no example database: the same inputs on every run and every machine (CI), on the
suite's frozen clock. Run on each engine: DATABASE_URL=postgres://... or mysql://... (README, Development).
"""

from collections import Counter

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from jsonschema_rs import validator_for

from crm.wsgi import application
from leads.models import ApiKey, Lead

pytestmark = pytest.mark.django_db

EXAMPLES = 25  # per operation and mode of the fuzzing phase: the module takes 30-60 s an engine here
SEED = 20261124

# Mostly values the import accepts, so that leads are really written (engine-specific failures happen there),
# with the ones it must refuse among them.
EMAILS = [
    "jo@example.org",
    " JO@Example.ORG ",  # the same lead: trimmed, lower-cased
    "o'brien+tag@mail.example.co.uk",
    "ü@exämple.de",
    "😀@example.org",  # 4 bytes in UTF-8 (MariaDB's utf8mb3 has no room for it)
    "x@y.z",
    f"{'a' * 64}@{'b' * 185}.org",  # 254 characters: the column's length
    f"{'a' * 64}@{'b' * 186}.org",  # 255
    "jo\x00@example.org",  # NUL: PostgreSQL refuses it in text
    "jo@@example.org",
]
TEXTS = [
    "Jo Ng",
    "Zoë Ōtsuka-Ñúñez",
    "😀" * 50,  # 50 characters of 4 bytes each
    "J" * 100,  # the length of source and country
    "\u202eevil\u202c",
    "e\u0301\u0301\u0301",
    '=HYPERLINK("x")',
    "+44 20 7946 0018",
    "   ",
    "n/a",
    "NULL",
    "Jo\x00Ng",
    "😀" * 201,
    "J" * 10_000,
]
STATUSES = ["new", "Open", "contacted", "closed won", "Closed - Not Converted", "junk", "maybe", "NEW\x00"]
DATES = [
    "2026-11-20T10:00:00+02:00",
    "2026-11-24 12:00:00",
    "11/20/2026 3:04 PM",
    "20.11.2026",
    "2015-06-01",
    "1900-01-01T00:00:00Z",
    "1899-12-31T23:59:59Z",
    "2026-11-24T12:00:01Z",  # a second after the frozen clock: the future
    "2026-02-30",
    "2026-11-20T10:00:00+25:00",
    "9999-12-31T23:59:59+14:00",
]
IDS = [1, 2, 3, 0, -1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]

_FIELDS = {"name": "texts", "first_name": "texts", "last_name": "texts", "phone": "texts", "company": "texts"}
_FIELDS |= {"source": "texts", "country": "texts", "status": "statuses", "created_at": "dates", "email": "emails"}
PROBABILITY = 0.75  # of a dictionary's value for a key, else schemathesis's own


def _bindings(prefix: str) -> dict:
    return {f"{prefix}{key}": {"dictionary": d, "probability": PROBABILITY} for key, d in _FIELDS.items()}


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
            "allow-x00": True,
            "with-security-parameters": False,  # every request has the key; ignored_auth tries without it
        },
        "dictionaries": {
            "emails": {"values": EMAILS},
            "texts": {"values": TEXTS},
            "statuses": {"values": STATUSES},
            "dates": {"values": DATES},
            "ids": {"values": IDS},
        },
        "parameters": {
            **_bindings("body."),
            **_bindings("body.leads[*]."),
            "query.email": {"dictionary": "emails", "probability": 0.5},
            "path.id": {"dictionary": "ids", "probability": 0.5},
        },
        "checks": {
            # The schema says what a lead's keys and types are; the import's rules (email, status, dates,
            # lengths, a name for a new lead) answer 422, naming each broken rule.
            "positive_data_acceptance": {"expected-statuses": [200, 201, 422]},
            "negative_data_rejection": {"expected-statuses": [400, 401, 413, 422]},
        },
        "operations": [
            {
                "include-operation-id": ["leads_api_get_lead", "leads_api_find_lead"],
                "checks": {"positive_data_acceptance": {"expected-statuses": [200, 404]}},
            },
            {
                # A batch answers 200 with its broken leads in "rejected", by index: leads_are_all_answered below
                # checks that each lead outside the schema is among them, which is what that check would ask.
                "include-operation-id": "leads_api_post_batch",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [200]},
                    "negative_data_rejection": {"enabled": False},
                },
            },
        ],
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)
hypothesis_settings = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
_DOCUMENTED_LEAD = schema.raw_schema["paths"]["/api/v1/leads"]["post"]["requestBody"]["content"]["application/json"]
_is_a_lead = validator_for(_DOCUMENTED_LEAD["schema"]).is_valid


@pytest.fixture
def api_headers(settings):
    """The key's header. The rate limit is out of the way (429 is tested on its own below), and, as in Django's
    test client, a request's end does not close the test's database connection (its transaction)."""
    settings.API_RATE_LIMIT = 10**9
    raw = ApiKey.issue(name="Schema", source="schema")[1]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {raw}"}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def leads_are_all_answered(ctx, response, case):
    """A batch's 200 answers each lead once, saved or rejected; a lead the schema does not allow is rejected."""
    if case.operation.path != "/api/v1/leads/batch" or response.status_code != 200:
        return None
    leads = case.body["leads"]
    body = response.json()
    saved = [r["index"] for r in body["results"]]
    rejected = [r["index"] for r in body["rejected"]]
    assert sorted(saved + rejected) == list(range(len(leads))), "each lead is saved or rejected, once"
    wrong = [i for i, lead in enumerate(leads) if not _is_a_lead(lead)]
    assert set(wrong) <= set(rejected), f"leads {wrong} break the documented lead schema but were not rejected"
    return True


def saved_leads_are_in_the_database(ctx, response, case):
    """A 200/201 of POST /leads names a stored lead by its id and its email, as the import stores it."""
    if case.operation.path != "/api/v1/leads" or case.method != "POST" or response.status_code not in (200, 201):
        return None
    body = response.json()
    assert body["email"] == case.body["email"].strip().lower()
    assert Lead.objects.filter(pk=body["id"], email=body["email"]).exists()
    return True


CHECKS = [leads_are_all_answered, saved_leads_are_in_the_database]


@schema.parametrize()
@hypothesis_settings
def test_every_operation_answers_as_documented(case, api_headers):
    case.call_and_validate(headers=api_headers, additional_checks=CHECKS)


# Leads the import mostly accepts, of any text: schemathesis's own leads are nearly all refused (a random email
# or status), and values that reach the database are where an engine differs.
_text = st.sampled_from(TEXTS) | st.text(st.characters(codec="utf-8"), max_size=210)
_lead = st.fixed_dictionaries(
    {"email": st.sampled_from(EMAILS) | st.emails()},
    optional={
        **dict.fromkeys(("name", "first_name", "last_name", "phone", "company", "source", "country"), _text),
        "status": st.sampled_from(STATUSES),
        "created_at": st.sampled_from(DATES),
    },
)


@given(leads=st.lists(_lead, min_size=1, max_size=4))
@settings(hypothesis_settings, max_examples=20, derandomize=True, database=None)
def test_leads_of_any_text_are_saved_or_refused_as_documented(api_headers, leads):
    for lead in leads:
        case = schema["/api/v1/leads"]["POST"].Case(body={"name": "Jo", **lead})
        case.call_and_validate(headers=api_headers, additional_checks=CHECKS)
    case = schema["/api/v1/leads/batch"]["POST"].Case(body={"leads": leads})
    case.call_and_validate(headers=api_headers, additional_checks=CHECKS)


class Journeys(schema.as_state_machine()):
    """Sequences of calls: a POST's lead is followed by its answer's links (GET by id, GET by email), where
    schemathesis also checks that a created lead can be read back."""

    headers: dict = {}
    answers: Counter = Counter()  # "GET /api/v1/leads/{id} 200": how many

    def setup(self):
        # Each sequence starts from the same database (a savepoint rolled back at its end): a lead created by
        # one sequence would turn another's 201 into a 200, and hypothesis replays sequences.
        self.scenario = transaction.atomic()
        self.scenario.__enter__()

    def teardown(self):
        transaction.set_rollback(True)
        self.scenario.__exit__(None, None, None)

    def get_call_kwargs(self, case):
        return {"headers": self.headers}

    def after_call(self, response, case):
        self.answers[f"{case.method} {case.path} {response.status_code}"] += 1

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        # The headers named, as call_and_validate does: the key is ours, not generated (ignored_auth).
        case.validate_response(response, additional_checks=CHECKS, headers=self.headers, transport_kwargs=kwargs)


def test_sequences_of_calls_along_the_links_answer_as_documented(api_headers):
    Journeys.headers, Journeys.answers = api_headers, Counter()
    run_state_machine_as_test(
        Journeys,
        settings=settings(hypothesis_settings, max_examples=15, stateful_step_count=6, derandomize=True, database=None),
    )
    # Which leads it creates (and so which links it follows) depends on what schemathesis generated before in
    # the same process; that every request answered as documented is the point.
    assert sum(Journeys.answers.values()) >= 15


def test_429_is_documented_on_every_operation_and_answered_so(api_headers, settings):
    for operation in schema.get_all_operations():
        definition = operation.ok().definition.raw
        too_many = definition["responses"]["429"]
        assert too_many["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Detail"}
        assert too_many["headers"]["Retry-After"]["required"] is True
    settings.API_RATE_LIMIT = 1
    case = schema["/api/v1/leads"]["GET"].Case(query={"email": "jo@example.org"})
    assert case.call(headers=api_headers).status_code == 404
    response = case.call(headers=api_headers)
    assert response.status_code == 429
    assert response.headers["retry-after"] == ["60"]  # the frozen clock stands at 12:00:00
    case.validate_response(response)  # documented status, JSON, {"detail": ...}, Retry-After
