"""The intake API through Django's test client: the contract of each endpoint and every error case."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.tests.factories import AgentFactory
from core import clock
from leads.models import ApiKey, AssignmentRun, Lead, LeadAssignment
from leads.tests.factories import LeadFactory
from leads.verification import verify_assignments

pytestmark = pytest.mark.django_db


@pytest.fixture
def key():
    return ApiKey.issue(name="Web form", source="website")


@pytest.fixture
def api(client, key):
    """post(path, body) and get(path) with the key; a body that is not bytes or str is sent as JSON."""

    class Api:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key[1]}"}

        def post(self, path, body, **extra):
            data = body if isinstance(body, bytes | str) else json.dumps(body)
            return client.post(f"/api/v1/{path}", data, content_type="application/json", **self.headers, **extra)

        def get(self, path, **extra):
            return client.get(f"/api/v1/{path}", **self.headers, **extra)

    return Api()


@pytest.fixture
def agents():
    return [AgentFactory(email="ann@sales.test"), AgentFactory(email="bob@sales.test")]


# ---------------------------------------------------------------------------------------------------------
# POST /leads


def test_a_new_lead_is_created_cleaned_and_assigned_at_once(api, agents):
    response = api.post("leads", {"email": " Jo@Example.ORG ", "first_name": "Jo", "last_name": "Ng", "status": "Open"})
    assert response.status_code == 201
    body = response.json()
    lead = Lead.objects.get()
    assert body == {
        "id": lead.pk,
        "email": "jo@example.org",
        "result": "created",
        "classification": "fresh",
        "agent": lead.assigned_agent.email,
    }
    assert (lead.name, lead.status, lead.source) == ("Jo Ng", "new", "website")  # the key's source
    assert lead.created_at == clock.now()  # no created_at: the request's moment
    change = LeadAssignment.objects.get()
    assert (change.lead_id, change.to_agent_id, change.reason) == (
        lead.pk,
        lead.assigned_agent_id,
        "assigned-on-arrival",
    )
    assert change.run.source == AssignmentRun.Source.API
    assert verify_assignments(as_of=clock.now()).ok


def test_arrivals_fill_the_least_loaded_agent_first(api, agents):
    ann, bob = agents
    LeadFactory.create_batch(3, assigned_agent=ann)
    response = api.post("leads", {"email": "x@example.org", "name": "X"})
    assert response.json()["agent"] == bob.email


def test_the_same_email_again_updates_and_never_moves_the_lead(api, agents):
    first = api.post("leads", {"email": "jo@example.org", "name": "Jo"}).json()
    again = api.post("leads", {"email": "JO@example.org", "phone": "+1 555 0100"})
    assert again.status_code == 200
    assert again.json() == {**first, "result": "updated"}
    same = api.post("leads", {"email": "jo@example.org", "phone": "+1 555 0100", "name": "Jo"})
    assert same.status_code == 200
    assert same.json()["result"] == "unchanged"
    lead = Lead.objects.get()
    assert (lead.name, lead.phone, lead.phone_key) == ("Jo", "+1 555 0100", "00105551")
    assert LeadAssignment.objects.count() == 1


def test_an_empty_value_never_erases_a_stored_one(api, agents):
    LeadFactory(email="jo@example.org", name="Jo", company="Acme", source="fair")
    response = api.post("leads", {"email": "jo@example.org", "company": "", "source": "n/a", "name": "  "})
    assert response.json()["result"] == "unchanged"
    assert Lead.objects.values_list("name", "company", "source").get() == ("Jo", "Acme", "fair")


def test_the_keys_source_fills_only_an_empty_source(api):
    LeadFactory(email="has@example.org", source="fair")
    LeadFactory(email="empty@example.org", source="")
    api.post("leads", {"email": "has@example.org"})
    api.post("leads", {"email": "empty@example.org"})
    api.post("leads", {"email": "own@example.org", "name": "Own", "source": "ads"})
    assert dict(Lead.objects.values_list("email", "source")) == {
        "has@example.org": "fair",
        "empty@example.org": "website",
        "own@example.org": "ads",
    }


def test_a_closed_new_lead_is_not_assigned(api, agents):
    body = api.post("leads", {"email": "won@example.org", "name": "Won", "status": "closed won"}).json()
    assert (body["classification"], body["agent"]) == ("closed", None)


def test_without_an_active_agent_the_lead_is_saved_unassigned(api):
    AgentFactory(is_active=False)
    response = api.post("leads", {"email": "jo@example.org", "name": "Jo"})
    assert response.status_code == 201
    assert response.json()["agent"] is None


def test_with_assignment_on_arrival_off_nothing_is_assigned(api, agents, settings):
    settings.ASSIGN_ON_ARRIVAL = False
    assert api.post("leads", {"email": "jo@example.org", "name": "Jo"}).json()["agent"] is None
    assert not LeadAssignment.objects.exists()


def test_a_bad_lead_gets_422_naming_every_broken_rule_and_nothing_is_written(api, agents):
    response = api.post(
        "leads", {"email": "nope", "status": "maybe", "created_at": "tomorrow", "phone": 555, "country": None}
    )
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {"field": "phone", "message": "must be a string, not a number"},
            {"field": "country", "message": "must be a string, not null (leave the key out to keep the stored value)"},
            {"field": "email", "message": "'nope' is not a valid email address"},
            {
                "field": "status",
                "message": "'maybe' is not a known status (new, contacted, qualified, converted, lost)",
            },
            {"field": "created_at", "message": "'tomorrow' is not a readable date"},
        ]
    }
    assert not Lead.objects.exists()


def test_a_new_lead_without_a_name_gets_422(api):
    response = api.post("leads", {"email": "jo@example.org"})
    assert response.status_code == 422
    assert response.json() == {"errors": [{"field": "name", "message": "missing (a new lead needs a name)"}]}
    assert not Lead.objects.exists()


def test_an_update_needs_no_name(api):
    LeadFactory(email="jo@example.org")
    assert api.post("leads", {"email": "jo@example.org"}).status_code == 200


def test_a_created_date_is_read_by_the_import_rules(api):
    api.post("leads", {"email": "jo@example.org", "name": "Jo", "created_at": "2026-11-20T10:00:00+02:00"})
    assert Lead.objects.get().created_at.isoformat() == "2026-11-20T08:00:00+00:00"


def test_too_long_a_value_is_refused(api):
    response = api.post("leads", {"email": "jo@example.org", "name": "J" * 201})
    assert response.json() == {"errors": [{"field": "name", "message": "longer than 200 characters"}]}


@pytest.mark.parametrize("body", [b"not json", b"", b"{", b"\xff\xfe\x00", b"[" * 100_000])
def test_a_body_that_is_not_json_gets_400(api, body):
    response = api.post("leads", body)
    assert response.status_code == 400
    assert response.json() == {"detail": "The body is not JSON."}


@pytest.mark.parametrize("body", [[], "text", 3, None, [{"email": "jo@example.org"}]])
def test_a_json_body_that_is_not_an_object_gets_400(api, body):
    response = api.post("leads", json.dumps(body))
    assert response.status_code == 400
    assert "JSON object" in response.json()["detail"]


def test_a_body_above_the_limit_gets_413(api, settings):
    settings.API_MAX_BODY_KB = 1
    response = api.post("leads", {"email": "jo@example.org", "name": "J" * 1100})
    assert response.status_code == 413
    assert response.json() == {"detail": "The body is larger than 1 KB."}
    assert api.post("leads", '{"email": "jo@example.org", "name": "Jo"}' + " " * 950).status_code == 201


# ---------------------------------------------------------------------------------------------------------
# Keys and the rate limit


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer crm_wrong", "Basic abc", "crm_x"])
def test_a_missing_or_wrong_key_gets_401_in_json(client, key, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post("/api/v1/leads", "{}", content_type="application/json", **extra)
    assert response.status_code == 401
    assert response.json() == {"detail": "A valid API key is needed: send Authorization: Bearer <key>."}


def test_a_revoked_key_gets_401(api, key):
    ApiKey.objects.filter(pk=key[0].pk).revoke(as_of=clock.now())
    assert api.post("leads", {"email": "jo@example.org", "name": "Jo"}).status_code == 401
    assert api.get("leads?email=jo@example.org").status_code == 401


def test_each_request_is_counted_on_its_key(api, key):
    api.post("leads", {"email": "jo@example.org", "name": "Jo"})
    api.get("leads?email=jo@example.org")
    record = ApiKey.objects.get(pk=key[0].pk)
    assert (record.requests, record.last_used_at) == (2, clock.now())


def test_a_requests_count_alone_does_not_wait_for_the_disk_on_postgresql(api, key):
    with CaptureQueriesContext(connection) as queries:
        api.get("leads?email=jo@example.org")
    statements = [q["sql"] for q in queries.captured_queries]
    relaxed = [i for i, s in enumerate(statements) if "synchronous_commit" in s]
    if connection.vendor == "postgresql":  # asked for inside the count's own transaction, before its UPDATE
        [at] = relaxed
        assert statements[at - 1].startswith("SAVEPOINT") and statements[at + 1].startswith("UPDATE leads_apikey ")
    else:
        assert relaxed == []


def test_above_the_rate_limit_a_key_gets_429_with_retry_after_until_the_next_minute(api, client, settings):
    settings.API_RATE_LIMIT = 3
    for _ in range(3):
        assert api.get("leads?email=jo@example.org").status_code == 404
    response = api.get("leads?email=jo@example.org")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"  # the frozen clock stands at 12:00:00
    other = ApiKey.issue(name="Other")[1]
    assert client.get("/api/v1/leads?email=x@y.org", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404
    with time_machine.travel(clock.now() + timedelta(seconds=61), tick=False):
        assert api.get("leads?email=jo@example.org").status_code == 404


def test_only_the_keys_hash_is_stored(key):
    record, raw = key
    assert raw.startswith("crm_") and len(raw) > 40
    assert raw not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert record.key_hash == ApiKey.hash_of(raw)


# ---------------------------------------------------------------------------------------------------------
# POST /leads/batch


def test_a_batch_saves_the_valid_leads_and_returns_the_invalid_ones_by_index(api, agents):
    LeadFactory(email="old@example.org", name="Old", assigned_agent=agents[0])
    response = api.post(
        "leads/batch",
        {
            "leads": [
                {"email": "a@example.org", "name": "A"},
                {"email": "bad"},
                "not an object",
                {"email": "old@example.org", "phone": "1"},
                {"email": "b@example.org", "name": "B", "status": "lost"},
                {"email": "old@example.org"},
                {"email": "nameless@example.org"},
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 1, 0)
    assert body["rejected"] == [
        {"index": 1, "errors": [{"field": "email", "message": "'bad' is not a valid email address"}]},
        {"index": 2, "errors": [{"field": None, "message": "must be a JSON object"}]},
        {"index": 6, "errors": [{"field": "name", "message": "missing (a new lead needs a name)"}]},
    ]
    results = {r["index"]: r for r in body["results"]}
    assert sorted(results) == [0, 3, 4, 5]
    assert results[3]["result"] == results[5]["result"] == "updated"  # rows of one email are one lead
    assert results[0]["agent"] is not None and results[4]["agent"] is None  # a lost lead is closed
    assert Lead.objects.count() == 3
    assert Lead.objects.get(email="old@example.org").phone == "1"
    assert verify_assignments(as_of=clock.now()).ok


def test_a_batch_is_one_transaction_and_its_new_leads_one_assignment_run(api, agents, django_assert_max_num_queries):
    leads = [{"email": f"l{i}@example.org", "name": f"L {i}"} for i in range(300)]
    with django_assert_max_num_queries(30):
        body = api.post("leads/batch", {"leads": leads}).json()
    assert body["created"] == 300
    assert AssignmentRun.objects.get().assigned == 300
    loads = sorted(Lead.objects.filter(assigned_agent=a).count() for a in agents)
    assert loads == [150, 150]


def test_a_batch_answers_with_what_it_stored(api, agents, key):
    old = LeadFactory(email="old@example.org", name="Old", source="", status="contacted", assigned_agent=agents[1])
    same = LeadFactory(email="same@example.org", name="Same", phone="1", source="fair")
    response = api.post(
        "leads/batch",
        {
            "leads": [
                {"email": "new@example.org", "name": "New", "status": "lost", "created_at": "2026-11-02"},
                {"email": "old@example.org", "company": "Acme"},
                {"email": "same@example.org", "name": "Same", "phone": ""},
                {"email": "second@example.org", "name": "Second", "company": "First"},
                {"email": "SECOND@example.org", "company": "", "phone": "2"},
            ]
        },
    )
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 1, 1)
    stored = {lead.email: lead for lead in Lead.objects.select_related("assigned_agent")}
    for result in body["results"]:
        lead = stored[result["email"]]
        assert result["id"] == lead.pk
        assert result["classification"] == lead.classification_at(clock.now()).value
        assert result["agent"] == (lead.assigned_agent.email if lead.assigned_agent else None)
    assert [r["result"] for r in body["results"]] == ["created", "updated", "unchanged", "created", "created"]
    assert body["results"][1]["agent"] == "bob@sales.test"  # an update never moves a lead
    new, second = stored["new@example.org"], stored["second@example.org"]
    assert (new.source, new.status, new.created_at.date().isoformat()) == ("website", "lost", "2026-11-02")
    assert (second.company, second.phone, second.phone_key) == ("First", "2", "2")  # empty never erases
    old.refresh_from_db()
    assert (old.company, old.source, old.status) == ("Acme", "website", "contacted")  # the key's source fills
    same.refresh_from_db()
    assert (same.phone, same.source) == ("1", "fair")


@pytest.mark.parametrize(
    ("body", "status"),
    [({"leads": "x"}, 422), ({}, 422), ({"leads": [{}] * 1001}, 413), ([], 400)],
)
def test_a_batch_body_of_the_wrong_shape_is_refused(api, body, status):
    response = api.post("leads/batch", body)
    assert response.status_code == status
    assert not Lead.objects.exists()


def test_a_batch_of_1000_leads_fits(api):
    leads = [{"email": f"l{i}@example.org", "name": f"L {i}", "company": "Acme Corporation"} for i in range(1000)]
    assert api.post("leads/batch", {"leads": leads}).json()["created"] == 1000


# ---------------------------------------------------------------------------------------------------------
# GET /leads/{id}, GET /leads?email=


def test_a_lead_reads_with_its_class_reason_next_change_and_agent(api, agents):
    lead = LeadFactory(
        email="jo@example.org", name="Jo", created_at=clock.now() - timedelta(days=9), assigned_agent=agents[1]
    )
    expected = {
        "id": lead.pk,
        "email": "jo@example.org",
        "name": "Jo",
        "phone": "",
        "company": "",
        "source": "",
        "country": "",
        "status": "new",
        "created_at": "2026-11-15T12:00:00+00:00",
        "classification": "urgent",
        "reason": "new, 9 days old: not worked after 7 days -> urgent; becomes stale on 2026-12-15",
        "next_classification": "stale",
        "next_change_at": "2026-12-15T12:00:00+00:00",
        "agent": "bob@sales.test",
        "assigned_at": None,
    }
    assert api.get(f"leads/{lead.pk}").json() == expected
    assert api.get("leads?email=%20JO@example.org").json() == expected


@pytest.mark.parametrize("path", ["leads/999", "leads/0", "leads/99999999999999999999999", "leads?email=no@x.org"])
def test_an_unknown_lead_gets_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert "No lead" in response.json()["detail"]


@pytest.mark.parametrize("path", ["leads/abc", "leads"])
def test_a_malformed_lookup_gets_422(api, path):
    response = api.get(path)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in {"id", "email"}


# ---------------------------------------------------------------------------------------------------------
# OpenAPI and docs


def test_the_openapi_schema_lists_the_endpoints_and_the_bodies(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/leads", "/api/v1/leads/batch", "/api/v1/leads/{id}"} <= set(schema["paths"])
    body = schema["paths"]["/api/v1/leads"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {
        "email",
        "name",
        "first_name",
        "last_name",
        "phone",
        "company",
        "source",
        "country",
        "status",
        "created_at",
    }
    assert (
        schema["paths"]["/api/v1/leads/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "properties"
        ]["leads"]["maxItems"]
        == 1000
    )
    assert "BearerKey" in schema["components"]["securitySchemes"]


def test_the_docs_page_loads_swagger_from_our_own_static_files(client):
    page = client.get("/api/v1/docs").content.decode()
    assert '<script src="/static/ninja/swagger-ui-bundle.js">' in page
    assert "cdn" not in page.lower() and "https://" not in page
