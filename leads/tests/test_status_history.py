"""What a lead remembers (leads.status_history): its status history, first_touched_at and last_activity_at, on
every path that writes a status: the admin's forms, the intake API (one lead and a batch) and the import."""

import importlib
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import FROZEN_AT
from core import sql
from imports.models import ImportRun
from leads.models import ApiKey, Lead, LeadStatusChange
from leads.status_history import StatusChange, record_status_changes
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

NOW = FROZEN_AT
LATER = NOW + timedelta(days=2)
migration = importlib.import_module("leads.migrations.0013_status_history")


def history(lead=None):
    """The rows as (email, from, to, changed_at, source), oldest first."""
    rows = LeadStatusChange.objects.order_by("changed_at", "id")
    if lead is not None:
        rows = rows.filter(lead=lead)
    return [(r.lead.email, r.from_status, r.to_status, r.changed_at, r.source) for r in rows.select_related("lead")]


def moments(email):
    return Lead.objects.filter(email=email).values_list("first_touched_at", "last_activity_at").get()


# ---------------------------------------------------------------------------------------------------------
# The admin


def change_form(lead, **changes) -> dict:
    data = {
        "name": lead.name,
        "email": lead.email,
        "phone": lead.phone,
        "company": lead.company,
        "source": lead.source,
        "country": lead.country,
        "status": lead.status,
        "created_at_0": f"{lead.created_at:%Y-%m-%d}",
        "created_at_1": f"{lead.created_at:%H:%M:%S}",
        "assignment_history-TOTAL_FORMS": "0",
        "assignment_history-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


def test_the_change_form_records_a_change_of_status_by_its_login(admin_client, admin_user):
    lead = LeadFactory(email="jo@example.org")
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    assert admin_client.post(url, change_form(lead, status="contacted")).status_code == 302
    assert history() == [("jo@example.org", "new", "contacted", NOW, "admin")]
    assert LeadStatusChange.objects.get().user == admin_user
    assert moments("jo@example.org") == (NOW, NOW)


def test_a_later_change_keeps_the_first_touch_and_moves_the_last_activity(admin_client):
    lead = LeadFactory(email="jo@example.org")
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    admin_client.post(url, change_form(lead, status="contacted"))
    with time_machine.travel(LATER, tick=False):
        assert admin_client.post(url, change_form(lead, status="qualified")).status_code == 302
    assert [row[1:4] for row in history()] == [("new", "contacted", NOW), ("contacted", "qualified", LATER)]
    assert moments("jo@example.org") == (NOW, LATER)


def test_an_edit_without_a_new_status_is_activity_but_no_history(admin_client):
    lead = LeadFactory(email="jo@example.org", status="contacted")
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    assert admin_client.post(url, change_form(lead, company="Acme")).status_code == 302
    assert history() == []
    assert moments("jo@example.org") == (None, NOW)


def test_a_return_to_new_is_recorded_and_keeps_the_first_touch(admin_client):
    lead = LeadFactory(email="jo@example.org")
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    admin_client.post(url, change_form(lead, status="contacted"))
    with time_machine.travel(LATER, tick=False):
        admin_client.post(url, change_form(lead, status="new"))
    assert [row[1:3] for row in history()] == [("new", "contacted"), ("contacted", "new")]
    assert moments("jo@example.org") == (NOW, LATER)


def test_the_add_form_records_the_creation(admin_client):
    data = change_form(LeadFactory.build(email="jo@example.org", created_at=NOW), status="qualified")
    assert admin_client.post(reverse("admin:leads_lead_add"), data).status_code == 302
    assert history() == [("jo@example.org", "", "qualified", NOW, "admin")]
    assert moments("jo@example.org") == (NOW, NOW)  # created worked: touched at once


def test_the_change_page_shows_the_history_newest_first(admin_client, admin_user):
    lead = LeadFactory(email="jo@example.org")
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    admin_client.post(url, change_form(lead, status="contacted"))
    with time_machine.travel(LATER, tick=False):
        admin_client.post(url, change_form(lead, status="lost"))
    page = admin_client.get(url).content.decode()
    assert "Status history" in page and "Why this agent" in page
    table = page[page.index('id="status-history-table"') :]
    assert table.index("Contacted → Lost") < table.index("New → Contacted")
    assert f"<td>{admin_user.get_username()}</td>" in table


def test_the_add_page_has_no_history_section(admin_client):
    page = admin_client.get(reverse("admin:leads_lead_add")).content.decode()
    assert "Status history" not in page


def test_the_history_list_is_read_only_for_everyone(admin_client):
    lead = LeadFactory(email="jo@example.org")
    admin_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), change_form(lead, status="contacted"))
    change = LeadStatusChange.objects.get()
    listing = admin_client.get(reverse("admin:leads_leadstatuschange_changelist"), {"source": "admin"})
    assert listing.status_code == 200 and lead.name in listing.content.decode()
    assert admin_client.get(reverse("admin:leads_leadstatuschange_add")).status_code == 403
    delete = admin_client.post(reverse("admin:leads_leadstatuschange_delete", args=[change.pk]), {"post": "yes"})
    assert delete.status_code == 403
    page = admin_client.get(reverse("admin:leads_leadstatuschange_change", args=[change.pk])).content.decode()
    assert 'name="to_status"' not in page  # shown, not editable
    assert LeadStatusChange.objects.count() == 1


def test_the_history_list_drills_down_by_date_through_index_probes_not_by_truncating_every_row(admin_client):
    lead = LeadFactory(email="jo@example.org")
    for days in (40, 3, 2):
        with time_machine.travel(FROZEN_AT - timedelta(days=days)):
            admin_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), change_form(lead, status="contacted"))
            admin_client.post(reverse("admin:leads_lead_change", args=[lead.pk]), change_form(lead, status="new"))
    url = reverse("admin:leads_leadstatuschange_changelist")
    day = (FROZEN_AT - timedelta(days=3)).astimezone()
    with CaptureQueriesContext(connection) as queries:
        listing = admin_client.get(url, {"changed_at__year": day.year, "changed_at__month": day.month})
    assert listing.status_code == 200
    sql = " ".join(q["sql"] for q in queries).upper()
    assert "TRUNC" not in sql and "DATE_FORMAT" not in sql and "DISTINCT" not in sql
    expected = sorted(
        {
            c.changed_at.astimezone().day
            for c in LeadStatusChange.objects.all()
            if c.changed_at.astimezone().month == day.month
        }
    )
    offered = sorted(int(d) for d in set(re.findall(r"changed_at__day=(\d+)", listing.content.decode())))
    assert offered == expected and day.day in offered


# ---------------------------------------------------------------------------------------------------------
# The intake API


@pytest.fixture
def key():
    return ApiKey.issue(name="Web form", source="website")


@pytest.fixture
def post(client, key):
    def post(path, body):
        response = client.post(
            f"/api/v1/{path}", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key[1]}"
        )
        assert response.status_code in (200, 201), response.content
        return response.json()

    return post


def test_the_api_records_a_creation_and_a_change_of_status_by_its_key(post, key):
    post("leads", {"email": "jo@example.org", "name": "Jo"})
    assert moments("jo@example.org") == (None, NOW)
    with time_machine.travel(LATER, tick=False):
        post("leads", {"email": "jo@example.org", "status": "Working"})  # a synonym of contacted
        post("leads", {"email": "jo@example.org", "status": "contacted", "phone": "1"})  # the same status
    assert history() == [
        ("jo@example.org", "", "new", NOW, "api"),
        ("jo@example.org", "new", "contacted", LATER, "api"),
    ]
    assert set(LeadStatusChange.objects.values_list("api_key", flat=True)) == {key[0].pk}
    assert moments("jo@example.org") == (LATER, LATER)


def test_an_unchanged_lead_posted_again_is_no_activity(post):
    post("leads", {"email": "jo@example.org", "name": "Jo", "status": "contacted"})
    with time_machine.travel(LATER, tick=False):
        assert post("leads", {"email": "jo@example.org", "name": "Jo"})["result"] == "unchanged"
    assert len(history()) == 1
    assert moments("jo@example.org") == (NOW, NOW)


def test_a_batch_records_each_lead_once(post):
    LeadFactory(email="old@example.org", status="contacted")
    LeadFactory(email="same@example.org", status="qualified", source="fair")
    body = post(
        "leads/batch",
        {
            "leads": [
                {"email": "new@example.org", "name": "New", "status": "lost"},
                {"email": "old@example.org", "status": "qualified"},
                {"email": "same@example.org", "status": "qualified"},
                {"email": "twice@example.org", "name": "Twice"},
                {"email": "TWICE@example.org", "status": "contacted"},  # merged: one lead, later values win
            ]
        },
    )
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 1, 1)
    assert sorted(row[:3] for row in history()) == [
        ("new@example.org", "", "lost"),
        ("old@example.org", "contacted", "qualified"),
        ("twice@example.org", "", "contacted"),
    ]
    assert moments("new@example.org") == (NOW, NOW)
    assert moments("old@example.org") == (NOW, NOW)  # touched before the history: stamped when next changed
    assert moments("same@example.org")[1] is None  # nothing happened to it


def test_the_history_rows_hold_every_value_given_whatever_the_number_of_statements(monkeypatch, admin_user):
    leads = LeadFactory.create_batch(7)
    key = ApiKey.issue(name="Form", source="web")[0]
    # Two rows per statement where the engine writes a multi-row VALUES (PostgreSQL writes one statement anyway).
    monkeypatch.setattr(type(sql.dialect()), "max_query_params", lambda self: 16)
    changes = [StatusChange(lead.pk, "new", "contacted") for lead in leads[:5]]
    changes += [StatusChange(leads[5].pk, "", "new"), StatusChange(leads[6].pk, "lost", "lost")]  # the last: none
    with CaptureQueriesContext(connection) as queries:
        written = record_status_changes(changes=changes, as_of=LATER, source="admin", user=admin_user, api_key=key)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert written == 6
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 3)
    rows = LeadStatusChange.objects.order_by("lead_id").values_list(
        "lead_id", "from_status", "to_status", "changed_at", "source", "user_id", "api_key_id", "import_run_id"
    )
    expected = [(c.lead_id, c.from_status, c.to_status, LATER, "admin", admin_user.pk, key.pk, None) for c in changes]
    assert list(rows) == sorted(expected[:6])
    assert set(Lead.objects.filter(first_touched_at=LATER).values_list("pk", flat=True)) == {
        lead.pk for lead in leads[:5]
    }


def test_a_history_row_without_a_login_or_key_leaves_both_empty():
    lead = LeadFactory()
    record_status_changes(changes=[StatusChange(lead.pk, "new", "qualified")], as_of=LATER, source="admin")
    assert LeadStatusChange.objects.values_list("user_id", "api_key_id", "import_run_id").get() == (None, None, None)


def batch(size: int, start: int) -> list[dict]:
    new = [{"email": f"n{start + i}@example.org", "name": "N", "status": "contacted"} for i in range(size)]
    moved = [{"email": f"o{start + i}@example.org", "status": "qualified"} for i in range(size)]
    return new + moved


def test_the_batch_queries_do_not_grow_with_its_leads(post):
    for i in range(60):
        LeadFactory(email=f"o{i}@example.org")
    counts = []
    for size, start in ((3, 0), (30, 30)):
        with CaptureQueriesContext(connection) as queries:
            post("leads/batch", {"leads": batch(size, start)})
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert LeadStatusChange.objects.count() == 66


# ---------------------------------------------------------------------------------------------------------
# The import


def import_file(tmp_path, text: str, *, at=NOW, name="leads.csv") -> dict:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    with time_machine.travel(at, tick=False):
        call_command("import_leads", str(path), "--json", stdout=out)
    return json.loads(out.getvalue())


FIRST = """email,name,status,created_at
ann@example.org,Ann,new,2026-11-01
bob@example.org,Bob,contacted,2026-11-02
cy@example.org,Cy,qualified,2026-11-03
"""
SECOND = """email,name,status,created_at
ann@example.org,Ann,contacted,2026-11-01
bob@example.org,Bob,qualified,2026-11-02
cy@example.org,Cy,qualified,2026-11-03
"""


def test_a_first_import_records_each_lead_created(tmp_path):
    summary = import_file(tmp_path, FIRST)
    assert summary["created"] == 3
    assert history() == [
        ("ann@example.org", "", "new", NOW, "import"),
        ("bob@example.org", "", "contacted", NOW, "import"),
        ("cy@example.org", "", "qualified", NOW, "import"),
    ]
    assert set(LeadStatusChange.objects.values_list("import_run", flat=True)) == {summary["run"]}
    assert moments("ann@example.org") == (None, NOW)
    assert moments("bob@example.org") == (NOW, NOW)


def test_a_re_import_records_only_the_statuses_it_changes(tmp_path):
    import_file(tmp_path, FIRST)
    summary = import_file(tmp_path, SECOND, at=LATER)
    assert (summary["updated"], summary["unchanged"]) == (2, 1)
    assert [row for row in history() if row[3] == LATER] == [
        ("ann@example.org", "new", "contacted", LATER, "import"),
        ("bob@example.org", "contacted", "qualified", LATER, "import"),
    ]
    assert (
        LeadStatusChange.objects.filter(changed_at=LATER).get(lead__email="bob@example.org").import_run_id
        == (summary["run"])
    )
    assert moments("ann@example.org") == (LATER, LATER)  # new -> contacted: touched now
    assert moments("bob@example.org") == (NOW, LATER)  # contacted -> qualified: the first touch stays
    assert moments("cy@example.org") == (NOW, NOW)  # unchanged: no activity


def test_an_unchanged_re_import_writes_nothing(tmp_path):
    import_file(tmp_path, FIRST)
    before = list(Lead.objects.order_by("pk").values())
    summary = import_file(tmp_path, FIRST, at=LATER)
    assert summary["unchanged"] == 3
    assert LeadStatusChange.objects.count() == 3
    assert list(Lead.objects.order_by("pk").values()) == before


def test_an_edit_by_import_without_a_status_is_activity_only(tmp_path):
    import_file(tmp_path, FIRST)
    import_file(tmp_path, "email,company\nann@example.org,Acme\n", at=LATER)
    assert LeadStatusChange.objects.count() == 3
    assert moments("ann@example.org") == (None, LATER)


def test_a_dry_run_records_nothing(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(FIRST, encoding="utf-8")
    call_command("import_leads", str(path), "--dry-run", "--json", stdout=StringIO())
    assert LeadStatusChange.objects.count() == 0


def rows_file(size: int) -> str:
    """Half the leads stored ones whose status moves, half new ones."""
    lines = [f"old{i}@example.org,Old {i},contacted,2026-11-01" for i in range(size)]
    lines += [f"new{i}@example.org,New {i},qualified,2026-11-01" for i in range(size)]
    return "email,name,status,created_at\n" + "\n".join(lines) + "\n"


def test_the_import_queries_do_not_grow_with_its_rows(tmp_path):
    for i in range(200):
        LeadFactory(email=f"old{i}@example.org")
    counts = []
    for size in (5, 200):
        LeadStatusChange.objects.all().delete()
        Lead.objects.filter(email__startswith="new").delete()
        Lead.objects.filter(email__startswith="old").update(status="new", first_touched_at=None)
        with CaptureQueriesContext(connection) as queries:
            import_file(tmp_path, rows_file(size), name=f"{size}.csv")
        counts.append(len(queries))
        assert LeadStatusChange.objects.filter(from_status="new", to_status="contacted").count() == size
        assert LeadStatusChange.objects.filter(from_status="", to_status="qualified").count() == size
        assert Lead.objects.filter(first_touched_at=NOW).count() == 2 * size
    assert counts[0] == counts[1]


def test_a_revert_deletes_the_history_of_the_leads_it_deletes_and_restores_the_first_touch(tmp_path):
    LeadFactory(email="ann@example.org", name="Ann")
    summary = import_file(tmp_path, FIRST.replace("ann@example.org,Ann,new", "ann@example.org,Ann,contacted"))
    assert moments("ann@example.org") == (NOW, NOW)
    with time_machine.travel(LATER, tick=False):
        call_command("revert_import", str(summary["run"]), "--json", stdout=StringIO())
    assert list(Lead.objects.values_list("email", flat=True)) == ["ann@example.org"]
    # The import's change is kept (it happened) and the revert's is recorded; first_touched_at and
    # last_activity_at are restored with the status.
    assert history() == [
        ("ann@example.org", "new", "contacted", NOW, "import"),
        ("ann@example.org", "contacted", "new", LATER, "revert"),
    ]
    assert {c.import_run_id for c in LeadStatusChange.objects.all()} == {summary["run"]}
    lead = Lead.objects.get()
    assert (lead.status, lead.first_touched_at, lead.last_activity_at) == ("new", None, None)
    assert ImportRun.objects.get(pk=summary["run"]).status == ImportRun.Status.REVERTED


def test_a_revert_records_no_status_it_does_not_change(tmp_path):
    LeadFactory(email="ann@example.org", name="Ann", status="contacted")
    summary = import_file(tmp_path, "email,company\nann@example.org,Acme\n")
    with time_machine.travel(LATER, tick=False):
        call_command("revert_import", str(summary["run"]), "--json", stdout=StringIO())
    assert Lead.objects.get().company == ""
    assert history() == []


# ---------------------------------------------------------------------------------------------------------
# The data migration


def test_the_migration_dates_the_leads_stored_before_the_history_from_their_last_write():
    worked = LeadFactory(email="worked@example.org", status="converted")
    untouched = LeadFactory(email="untouched@example.org")
    Lead.objects.filter(pk=worked.pk).update(updated_at=NOW - timedelta(days=3))
    Lead.objects.update(first_touched_at=None, last_activity_at=None)
    migration.fill_from_updated_at(apps, None)
    assert moments("worked@example.org") == (NOW - timedelta(days=3), NOW - timedelta(days=3))
    assert moments("untouched@example.org") == (None, untouched.updated_at)
    assert LeadStatusChange.objects.count() == 0
