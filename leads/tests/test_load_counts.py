"""The load counters the database keeps (leads.load_counts): exact after every path that writes a lead."""

import json
from datetime import datetime, timedelta
from io import StringIO
from itertools import count

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import ProtectedError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from agents.models import Agent
from core import sql
from leads import load_counts
from leads.assignment import assign_leads, assign_on_arrival, assign_to_agent, unassign_leads
from leads.choices import OPEN_STATUSES
from leads.importing import import_leads
from leads.load_counts import read_counts, rebuild_load_counts
from leads.loads import counted_loads
from leads.models import AgentLoadCount, ApiKey, Lead, LeadStatus
from leads.tests.scenarios import AS_OF, make_agents, make_leads
from leads.verification import verify_assignments

pytestmark = pytest.mark.django_db
LEADS = Lead._meta.db_table
SERIAL = count()


def real_counts() -> dict[int, tuple[int, int]]:
    """agent id -> (open, new) from the leads themselves, agents holding none left out."""
    out: dict[int, list[int]] = {}
    for agent_id, status in Lead.objects.filter(assigned_agent__isnull=False).values_list(
        "assigned_agent_id", "status"
    ):
        row = out.setdefault(agent_id, [0, 0])
        row[0] += status in OPEN_STATUSES
        row[1] += status == LeadStatus.NEW
    return {agent_id: tuple(row) for agent_id, row in out.items() if row != [0, 0]}


def counted() -> dict[int, tuple[int, int]]:
    return {agent_id: row for agent_id, row in read_counts().items() if row != (0, 0)}


def assert_exact():
    assert counted() == real_counts()
    assert verify_assignments(as_of=AS_OF).counters_ok


def csv_file(tmp_path, rows, name="leads.csv"):
    path = tmp_path / name
    lines = ["First Name,Last Name,Email,Lead Status,Created Date"]
    lines += [f"Lead,{i},lead{i}@example.org,{status},2026-11-20" for i, status in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------
# The triggers


def test_the_stored_triggers_are_the_ones_the_open_statuses_generate_now():
    dialect, spec = sql.dialect(), load_counts.spec()
    assert dialect.stored_count_triggers(spec) == dialect.expected_count_triggers(spec)
    assert load_counts.triggers_current()


def test_a_change_of_the_open_statuses_without_new_triggers_is_caught(monkeypatch):
    monkeypatch.setattr(load_counts, "OPEN_STATUSES", OPEN_STATUSES - {LeadStatus.QUALIFIED})
    assert not load_counts.triggers_current()


def test_dropped_triggers_are_caught_and_installing_them_again_makes_them_current():
    load_counts.drop_triggers()
    assert not load_counts.triggers_current()
    load_counts.install_triggers()
    assert load_counts.triggers_current()


def test_unassigned_leads_leave_no_counter_rows():
    make_agents([(True, None)])
    make_leads(50)
    assert AgentLoadCount.objects.count() == 0


def test_counted_loads_read_every_agent_in_one_query_missing_rows_as_zero(django_assert_num_queries):
    first, second = make_agents([(True, None), (False, 3)])
    make_leads(3, agent=first)
    make_leads(2, agent=first, status=LeadStatus.CONTACTED)
    make_leads(1, agent=first, status=LeadStatus.LOST)
    with django_assert_num_queries(1):
        loads = {row.id: row for row in counted_loads()}
    assert (loads[first.id].open_leads, loads[first.id].new_leads) == (5, 3)
    assert (loads[second.id].open_leads, loads[second.id].new_leads, loads[second.id].capacity) == (0, 0, 3)
    assert loads[second.id].is_active is False


# ---------------------------------------------------------------------------------------------------------
# Every path that writes a lead


def test_the_csv_import_creating_updating_and_closing_assigned_leads_keeps_them_exact(tmp_path):
    make_agents([(True, None), (True, None), (True, None)])
    import_leads(path=csv_file(tmp_path, [(i, "New") for i in range(30)]), now=AS_OF)
    assert AgentLoadCount.objects.count() == 0  # imported leads have no agent yet
    assign_leads(seed=1, as_of=AS_OF)
    assert_exact()
    statuses = ["Contacted", "Converted", "Lost", "New", "Qualified"]
    changed = [(i, statuses[i % 5]) for i in range(30)] + [(i, "New") for i in range(30, 40)]
    result = import_leads(path=csv_file(tmp_path, changed, "again.csv"), now=AS_OF)
    assert (result.created, result.updated) == (10, 24)
    assert_exact()
    assert sum(row[0] for row in counted().values()) == 18  # 30 minus the 12 closed


def test_the_intake_api_single_and_batch_keeps_them_exact(client):
    make_agents([(True, None), (True, 4)])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {ApiKey.issue(name='Form', source='web')[1]}"}

    def post(path, body):
        response = client.post(f"/api/v1/{path}", json.dumps(body), content_type="application/json", **headers)
        assert response.status_code in (200, 201), response.content
        return response.json()

    for i in range(3):
        post("leads", {"name": f"One {i}", "email": f"one{i}@example.org"})
    post("leads/batch", {"leads": [{"name": f"B {i}", "email": f"b{i}@example.org"} for i in range(10)]})
    assert_exact()
    post("leads", {"email": "one0@example.org", "status": "Lost"})  # an update closing an assigned lead
    post("leads/batch", {"leads": [{"email": f"b{i}@example.org", "status": "Contacted"} for i in range(4)]})
    assert_exact()
    assert sum(row[0] for row in counted().values()) == 12


def test_assignment_runs_and_manual_moves_keep_them_exact():
    first, second, third = make_agents([(True, None), (True, 3), (True, None)])
    make_leads(9, agent=first)
    make_leads(4, agent=first, status=LeadStatus.QUALIFIED)
    make_leads(10)
    assign_leads(seed=3, as_of=AS_OF)
    assert_exact()
    Agent.objects.filter(pk=third.pk).update(is_active=False)
    make_leads(5)
    assign_leads(seed=4, rebalance=True, as_of=AS_OF)
    assert_exact()
    some = list(Lead.objects.open().order_by("id").values_list("id", flat=True)[:6])
    assign_to_agent(lead_ids=some, agent=second)
    assert_exact()
    unassign_leads(lead_ids=some[:4])
    assert_exact()
    lead = Lead.objects.filter(assigned_agent__isnull=True).open().first()
    assign_on_arrival(lead_ids=[lead.pk], as_of=AS_OF)
    assert_exact()


def admin_edit(client, lead, **changes):
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    page = client.get(url).context
    form = page["adminform"].form
    data = {}
    for inline in page["inline_admin_formsets"]:  # the read-only history inline: its management form only
        management = inline.formset.management_form
        data.update({management[name].html_name: management[name].value() for name in management.fields})
    for field in form:
        value = changes.get(field.name, field.value())
        if isinstance(value, datetime):
            data[f"{field.html_name}_0"], data[f"{field.html_name}_1"] = f"{value:%Y-%m-%d}", f"{value:%H:%M:%S}"
        else:
            data[field.html_name] = "" if value is None else value
    response = client.post(url, data)
    assert response.status_code == 302, (response.context["adminform"].form.errors, response.context["errors"])


def test_admin_edits_of_a_leads_status_and_agent_keep_them_exact(admin_client):
    first, second = make_agents([(True, None), (True, None)])
    make_leads(3, agent=first)
    lead = Lead.objects.filter(assigned_agent=first).first()
    admin_edit(admin_client, lead, status=LeadStatus.CONTACTED)
    assert counted()[first.id] == (3, 2)
    # The form shows the agent read-only: it changes through the actions, as audited moves.
    changelist = reverse("admin:leads_lead_changelist")
    admin_client.post(
        changelist,
        {"action": "assign_to_one_agent", ACTION_CHECKBOX_NAME: [lead.pk], "post": "yes", "agent": second.pk},
    )
    admin_edit(admin_client, Lead.objects.filter(assigned_agent=first).first(), status=LeadStatus.CONVERTED)
    assert counted() == {first.id: (1, 1), second.id: (1, 0)}
    admin_client.post(changelist, {"action": "unassign", ACTION_CHECKBOX_NAME: [lead.pk], "post": "yes"})
    assert counted() == {first.id: (1, 1)}
    assert_exact()


def test_deleting_leads_in_the_admin_and_by_queryset_keeps_them_exact(admin_client):
    first, second = make_agents([(True, None), (True, None)])
    make_leads(4, agent=first)
    make_leads(3, agent=second, status=LeadStatus.QUALIFIED)
    ids = list(Lead.objects.filter(assigned_agent=first).values_list("id", flat=True)[:2])
    changelist = reverse("admin:leads_lead_changelist")
    admin_client.post(changelist, {"action": "delete_selected", ACTION_CHECKBOX_NAME: ids, "post": "yes"})
    assert not Lead.objects.filter(pk__in=ids).exists()
    Lead.objects.filter(assigned_agent=second).delete()
    assert counted() == {first.id: (2, 2)}
    assert_exact()


def test_an_agent_holding_leads_cannot_be_deleted_and_one_holding_none_takes_its_counters_along():
    first, second = make_agents([(True, None), (True, None)])
    make_leads(2, agent=first)
    make_leads(1, agent=second)
    with pytest.raises(ProtectedError):
        first.delete()
    Lead.objects.filter(assigned_agent=second).update(assigned_agent=None)
    assert AgentLoadCount.objects.get(pk=second.pk).open_leads == 0
    second.delete()
    assert not AgentLoadCount.objects.filter(pk=second.pk).exists()
    assert_exact()


def test_raw_sql_updates_inserts_and_deletes_keep_them_exact():
    first, second = make_agents([(True, None), (True, None)])
    make_leads(5, agent=first)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {LEADS} SET status = 'lost' WHERE id = (SELECT MIN(id) FROM {LEADS})")
        cursor.execute(f"UPDATE {LEADS} SET assigned_agent_id = %s WHERE status = 'new'", [second.pk])
        cursor.execute(
            f"INSERT INTO {LEADS} (name, name_key, email, phone, company, source, status, created_at, "
            "assigned_agent_id, added_at, updated_at) "
            "VALUES ('Raw', 'raw', 'raw@example.org', '', '', '', 'contacted', %s, %s, %s, %s)",
            [AS_OF, first.pk, AS_OF, AS_OF],
        )
        cursor.execute(
            f"DELETE FROM {LEADS} WHERE status = 'new' AND id = (SELECT MAX(id) FROM {LEADS} WHERE status = 'new')"
        )
    assert counted() == {first.id: (1, 0), second.id: (3, 3)}
    assert_exact()


def test_emptying_the_counters_before_the_leads_leaves_no_counter_rows_behind():
    # Django's flush deletes the tables one by one in no fixed order: the leads' delete trigger must not write
    # rows for counters that are already gone (on SQLite their agents' foreign keys would fail the commit).
    first, second = make_agents([(True, None), (True, None)])
    make_leads(3, agent=first)
    make_leads(2, agent=second, status=LeadStatus.CONTACTED)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AgentLoadCount._meta.db_table}")
        cursor.execute(f"DELETE FROM {LEADS}")
    assert AgentLoadCount.objects.count() == 0


# ---------------------------------------------------------------------------------------------------------
# The proof and the repair


def test_verify_names_an_agent_whose_counters_disagree_with_both_numbers():
    first, second = make_agents([(True, None), (True, None)])
    make_leads(3, agent=first)
    make_leads(3, agent=second)
    AgentLoadCount.objects.filter(pk=first.pk).update(open_leads=7)
    report = verify_assignments(as_of=AS_OF)
    assert not report.ok and not report.counters_ok
    assert report.counter_errors == {first.email: {"open_leads": [7, 3]}}
    assert any(first.email in p and "counted 7, real 3" in p for p in report.problems)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_assignments", "--json", stdout=out)
    assert json.loads(out.getvalue())["counters_ok"] is False


def test_counters_of_an_agent_without_open_leads_must_be_zero():
    (agent,) = make_agents([(False, None)])
    AgentLoadCount.objects.create(agent=agent, open_leads=0, new_leads=2)
    report = verify_assignments(as_of=AS_OF)
    assert report.counter_errors == {agent.email: {"new_leads": [2, 0]}}


def test_rebuild_load_counts_repairs_what_was_edited_by_hand():
    first, second = make_agents([(True, None), (True, None)])
    make_leads(3, agent=first)
    make_leads(2, agent=second, status=LeadStatus.CONTACTED)
    AgentLoadCount.objects.filter(pk=first.pk).delete()
    AgentLoadCount.objects.filter(pk=second.pk).update(new_leads=5)
    result = rebuild_load_counts()
    assert result.rows == 2
    assert result.repaired == {
        first.email: {"open_leads": [0, 3], "new_leads": [0, 3]},
        second.email: {"open_leads": [2, 2], "new_leads": [5, 0]},
    }
    assert_exact()
    out = StringIO()
    call_command("rebuild_load_counts", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"rows": 2, "repaired": {}}
    out = StringIO()
    call_command("rebuild_load_counts", stdout=out)
    assert "Every counter was already right." in out.getvalue()


# ---------------------------------------------------------------------------------------------------------
# A property: any sequence of writes leaves them exact

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["create", "status", "move", "unassign", "delete", "assign", "rebalance", "raw"]),
        st.integers(0, 10_000),
        st.sampled_from(list(LeadStatus)),
    ),
    min_size=1,
    max_size=12,
)


class CountersFollowEveryWrite(HypothesisTestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(OPERATIONS)
    def test_counters_equal_the_aggregate_after_each_write(self, operations):
        agents = make_agents([(True, None), (True, 2), (False, None)])
        make_leads(4, agent=agents[0])
        make_leads(3)
        for op, n, status in operations:
            leads = list(Lead.objects.order_by("id").values_list("id", flat=True))
            lead = leads[n % len(leads)] if leads else None
            agent = agents[n % len(agents)]
            if op == "create":
                Lead.objects.create(
                    name="P",
                    email=f"p{next(SERIAL)}@example.org",
                    status=status,
                    created_at=AS_OF - timedelta(days=1),
                    assigned_agent=agent if n % 2 else None,
                )
            elif op == "status" and lead:
                Lead.objects.filter(pk=lead).update(status=status)
            elif op == "move" and lead:
                Lead.objects.filter(pk=lead).update(assigned_agent=agent)
            elif op == "unassign" and lead:
                Lead.objects.filter(pk=lead).update(assigned_agent=None)
            elif op == "delete" and lead:
                Lead.objects.filter(pk=lead).delete()
            elif op in ("assign", "rebalance"):
                assign_leads(seed=n, rebalance=op == "rebalance", as_of=AS_OF)
            elif op == "raw":
                with connection.cursor() as cursor:
                    cursor.execute(f"UPDATE {LEADS} SET status = %s WHERE id %% 3 = %s", [status.value, n % 3])
            assert counted() == real_counts(), (op, n, status)
        assert verify_assignments(as_of=AS_OF).counters_ok
