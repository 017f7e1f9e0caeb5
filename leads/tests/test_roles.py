"""What each role may do in the admin, through real admin pages, direct URLs included."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent
from agents.roles import AGENTS, SALES_MANAGERS
from agents.tests.factories import AgentFactory
from leads.models import Lead, LeadStatus
from leads.scoping import AGENT_EDITABLE_FIELDS
from leads.tests.factories import LeadFactory
from leads.tests.roles import agent_form, ensure_roles, make_agent_login, make_manager, make_user, roles_migration

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    ann_agent = AgentFactory(name="Ann Agent", email="ann@sales.test")
    bob_agent = AgentFactory(name="Bob Agent", email="bob@sales.test")
    return SimpleNamespace(
        ann_agent=ann_agent,
        bob_agent=bob_agent,
        ann=make_agent_login(ann_agent, "ann"),
        bob=make_agent_login(bob_agent, "bob"),
        manager=make_manager(),
        ann_lead=LeadFactory(name="Alice Ann-Lead", phone="111", assigned_agent=ann_agent),
        bob_lead=LeadFactory(name="Boris Bob-Lead", assigned_agent=bob_agent),
        loose_lead=LeadFactory(name="Ulla Unassigned"),
    )


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


def change_url(lead):
    return url("leads_lead_change", lead.pk)


def action_names(changelist_response) -> set[str]:
    form = changelist_response.context["action_form"]
    return set() if form is None else {name for name, _ in form.fields["action"].choices}


# --- the groups --------------------------------------------------------------------------------------


def perms_of(group_name):
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_roles_migration_creates_both_groups():
    ensure_roles()
    assert perms_of(AGENTS) == {"leads.view_lead", "leads.change_lead"}
    assert perms_of(SALES_MANAGERS) == {
        "leads.view_lead", "leads.add_lead", "leads.change_lead",
        "leads.import_lead", "leads.export_lead", "leads.assign_lead",
        "leads.view_assignmentrun", "leads.view_leadassignment", "leads.view_verificationrun",
        "leads.view_notification",
        "agents.view_agent", "agents.add_agent", "agents.change_agent",
        "agents.import_agent", "agents.export_agent",
        "imports.view_importrun", "imports.revert_importrun",
        # crm/migrations/0004_routing_permissions.py
        "agents.view_team", "agents.add_team", "agents.change_team", "agents.delete_team",
        "agents.view_absence", "agents.add_absence", "agents.change_absence", "agents.delete_absence",
        "leads.view_routingrule", "leads.add_routingrule", "leads.change_routingrule", "leads.delete_routingrule",
        # crm/migrations/0005_sla_permissions.py
        "agents.view_holiday", "agents.add_holiday", "agents.change_holiday", "agents.delete_holiday",
        "leads.view_slapolicy", "leads.add_slapolicy", "leads.change_slapolicy", "leads.delete_slapolicy",
        # crm/migrations/0006_status_history_permissions.py
        "leads.view_leadstatuschange",
    }  # fmt: skip


def test_reversing_the_routing_permissions_takes_only_them_from_sales_managers():
    from leads.tests.roles import routing_permissions_migration

    ensure_roles()
    routing_permissions_migration.revoke(apps, None)
    assert not {p for p in perms_of(SALES_MANAGERS) if "team" in p or "absence" in p or "routingrule" in p}
    assert "leads.assign_lead" in perms_of(SALES_MANAGERS)
    routing_permissions_migration.grant(apps, None)
    routing_permissions_migration.grant(apps, None)
    assert "leads.change_routingrule" in perms_of(SALES_MANAGERS)


def test_running_the_roles_migration_again_duplicates_nothing():
    ensure_roles()
    before = (Group.objects.count(), Permission.objects.count(), Group.permissions.through.objects.count())
    roles_migration.create_roles(apps, None)
    roles_migration.create_roles(apps, None)
    after = (Group.objects.count(), Permission.objects.count(), Group.permissions.through.objects.count())
    assert after == before


def test_reversing_the_roles_migration_removes_only_the_two_groups():
    ensure_roles()
    Group.objects.create(name="Auditors")
    roles_migration.remove_roles(apps, None)
    assert list(Group.objects.values_list("name", flat=True)) == ["Auditors"]
    roles_migration.create_roles(apps, None)
    assert Group.objects.filter(name__in=[AGENTS, SALES_MANAGERS]).count() == 2


def test_the_roles_migration_creates_missing_permissions_itself():
    # As in a fresh database, where post_migrate has not created any permission yet.
    Permission.objects.filter(content_type__app_label__in=["leads", "agents"]).delete()
    Group.objects.filter(name__in=[AGENTS, SALES_MANAGERS]).delete()
    roles_migration.create_roles(apps, None)
    assert "leads.assign_lead" in perms_of(SALES_MANAGERS)


# --- superuser -----------------------------------------------------------------------------------------


def test_a_superuser_sees_every_lead(client, team):
    client.force_login(make_user("root", superuser=True))
    response = client.get(url("leads_lead_changelist"))
    assert response.status_code == 200
    for lead in (team.ann_lead, team.bob_lead, team.loose_lead):
        assert lead.name in response.content.decode()


def test_a_superuser_who_is_also_an_agent_still_sees_every_lead(client, team):
    team.ann.is_superuser = True
    team.ann.save()
    client.force_login(team.ann)
    content = client.get(url("leads_lead_changelist")).content.decode()
    assert team.bob_lead.name in content and team.loose_lead.name in content


# --- sales manager -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("leads_lead_changelist", ()),
        ("leads_lead_add", ()),
        ("agents_agent_changelist", ()),
        ("agents_agent_add", ()),
        ("leads_assignmentrun_changelist", ()),
        ("leads_leadassignment_changelist", ()),
        ("leads_verificationrun_changelist", ()),
        ("lead_overview", ()),
    ],
)
def test_a_manager_opens_the_team_pages(client, team, name, args):
    client.force_login(team.manager)
    assert client.get(url(name, *args)).status_code == 200


def test_a_manager_sees_every_lead_and_opens_any_of_them(client, team):
    client.force_login(team.manager)
    content = client.get(url("leads_lead_changelist")).content.decode()
    for lead in (team.ann_lead, team.bob_lead, team.loose_lead):
        assert lead.name in content
        assert client.get(change_url(lead)).status_code == 200


def test_a_manager_changes_more_than_contact_fields(client, team):
    client.force_login(team.manager)
    form = client.get(change_url(team.bob_lead)).context["adminform"].form
    assert {"created_at", "source", "status", "name", "email"} <= set(form.fields)


def test_a_manager_cannot_delete_leads_or_agents(client, team):
    client.force_login(team.manager)
    assert client.get(url("leads_lead_delete", team.bob_lead.pk)).status_code == 403
    assert client.post(url("leads_lead_delete", team.bob_lead.pk), {"post": "yes"}).status_code == 403
    assert client.get(url("agents_agent_delete", team.bob_agent.pk)).status_code == 403
    assert Lead.objects.filter(pk=team.bob_lead.pk).exists()


def test_a_manager_cannot_manage_users_or_groups(client, team):
    client.force_login(team.manager)
    assert client.get(url("auth_user_changelist")).status_code == 403
    assert client.get(url("auth_group_changelist")).status_code == 403


def test_a_manager_links_an_agent_to_a_login(client, team):
    carl_agent = AgentFactory(name="Carl Agent", email="carl@sales.test")
    carl = make_user("carl", groups=[AGENTS])
    client.force_login(team.manager)
    page = client.get(url("agents_agent_change", carl_agent.pk))
    choices = {str(value): label for value, label in page.context["adminform"].form.fields["user"].choices}
    assert choices[str(carl.pk)] == "carl"
    response = client.post(
        url("agents_agent_change", carl_agent.pk),
        agent_form(carl_agent, user=carl.pk),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    carl_agent.refresh_from_db()
    assert carl_agent.user == carl


def test_linking_a_login_to_an_agent_gives_it_the_agents_role_and_only_that_agents_leads(client, team):
    carl_agent = AgentFactory(name="Carl Agent", email="carl@sales.test")
    carl_lead = LeadFactory(name="Carl Lead", assigned_agent=carl_agent)
    carl = make_user("carl")  # a bare staff login, in no group yet
    client.force_login(team.manager)
    response = client.post(
        url("agents_agent_change", carl_agent.pk),
        agent_form(carl_agent, user=carl.pk),
    )
    assert response.status_code == 302
    assert list(carl.groups.values_list("name", flat=True)) == [AGENTS]
    client.force_login(carl)
    listed = client.get(url("leads_lead_changelist")).context["cl"].result_list
    assert [lead.pk for lead in listed] == [carl_lead.pk]


def test_the_admin_login_picker_lists_only_logins_that_may_be_agents(client, team):
    carl_agent = AgentFactory(name="Carl Agent", email="carl@sales.test")
    make_user("carl")
    make_user("root", superuser=True)
    make_manager("other-manager")
    client.force_login(team.manager)
    page = client.get(url("agents_agent_change", carl_agent.pk))
    labels = [label for value, label in page.context["adminform"].form.fields["user"].choices if value]
    assert labels == ["carl"]
    page = client.get(url("agents_agent_change", team.ann_agent.pk))
    labels = [label for value, label in page.context["adminform"].form.fields["user"].choices if value]
    assert labels == ["ann", "carl"]  # its own login, and the free one


def test_a_manager_login_cannot_be_linked_to_an_agent(client, team):
    client.force_login(team.manager)
    carl_agent = AgentFactory(name="Carl Agent", email="carl@sales.test")
    response = client.post(
        url("agents_agent_change", carl_agent.pk),
        {
            "name": carl_agent.name,
            "email": carl_agent.email,
            "is_active": "on",
            "capacity": "",
            "user": team.manager.pk,
        },
    )
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    carl_agent.refresh_from_db()
    assert carl_agent.user is None
    assert list(team.manager.groups.values_list("name", flat=True)) == [SALES_MANAGERS]


def test_a_login_can_belong_to_one_agent_only(client, team):
    client.force_login(team.manager)
    response = client.post(
        url("agents_agent_change", team.bob_agent.pk),
        {"name": "Bob Agent", "email": "bob@sales.test", "is_active": "on", "capacity": "", "user": team.ann.pk},
    )
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    team.bob_agent.refresh_from_db()
    assert team.bob_agent.user == team.bob


# --- agent ---------------------------------------------------------------------------------------------


def test_an_agent_sees_only_their_own_leads(client, team):
    client.force_login(team.ann)
    response = client.get(url("leads_lead_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [team.ann_lead]
    content = response.content.decode()
    assert team.bob_lead.name not in content and team.loose_lead.name not in content


def test_an_agent_cannot_widen_the_list_with_query_parameters(client, team):
    client.force_login(team.ann)
    for params in ({"agent": team.bob_agent.pk}, {"assigned_agent__id__exact": team.bob_agent.pk}, {"q": "Boris"}):
        response = client.get(url("leads_lead_changelist"), params)
        assert team.bob_lead.name not in response.content.decode()


def test_an_agent_gets_404_for_another_agents_lead_by_id(client, team):
    client.force_login(team.ann)
    for lead in (team.bob_lead, team.loose_lead):
        assert client.get(change_url(lead)).status_code == 404
        assert client.get(url("leads_lead_history", lead.pk)).status_code == 404
        assert client.get(url("leads_lead_delete", lead.pk)).status_code == 404
        assert client.post(change_url(lead), {"name": "Hijacked", "status": "lost"}).status_code == 404
    team.bob_lead.refresh_from_db()
    assert team.bob_lead.name == "Boris Bob-Lead"


def test_an_agent_can_change_only_status_and_contact_fields(client, team):
    client.force_login(team.ann)
    response = client.get(change_url(team.ann_lead))
    assert response.status_code == 200
    assert set(response.context["adminform"].form.fields) == set(AGENT_EDITABLE_FIELDS)


def test_an_agent_updates_their_lead_but_posted_read_only_fields_are_ignored(client, team):
    client.force_login(team.ann)
    lead = team.ann_lead
    response = client.post(
        change_url(lead),
        {
            "name": "Alice Renamed",
            "email": "alice@new.test",
            "phone": "222",
            "company": "Acme",
            "status": LeadStatus.CONTACTED,
            # Not in the form: must not change.
            "assigned_agent": team.bob_agent.pk,
            "source": "forged",
            "created_at_0": "2000-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.name, lead.email, lead.phone, lead.company, lead.status) == (
        "Alice Renamed", "alice@new.test", "222", "Acme", LeadStatus.CONTACTED,
    )  # fmt: skip
    assert lead.assigned_agent == team.ann_agent
    assert lead.source == "" and lead.created_at.year != 2000


def test_an_agent_cannot_add_or_delete_leads(client, team):
    client.force_login(team.ann)
    assert client.get(url("leads_lead_add")).status_code == 403
    assert client.post(url("leads_lead_add"), {"name": "X", "email": "x@x.test", "status": "new"}).status_code == 403
    assert client.get(url("leads_lead_delete", team.ann_lead.pk)).status_code == 403
    assert client.post(url("leads_lead_delete", team.ann_lead.pk), {"post": "yes"}).status_code == 403
    assert Lead.objects.count() == 3


def test_an_agent_has_no_bulk_actions(client, team):
    client.force_login(team.ann)
    response = client.get(url("leads_lead_changelist"))
    assert response.context["action_form"] is None
    assert 'name="_selected_action"' not in response.content.decode()
    response = client.post(
        url("leads_lead_changelist"),
        {"action": "delete_selected", "_selected_action": [team.ann_lead.pk, team.bob_lead.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert Lead.objects.count() == 3


def test_an_agent_gets_no_agent_filter(client, team):
    client.force_login(team.ann)
    response = client.get(url("leads_lead_changelist"))
    assert "Bob Agent" not in response.content.decode()


@pytest.mark.parametrize(
    "name",
    [
        "agents_agent_changelist",
        "agents_agent_add",
        "leads_assignmentrun_changelist",
        "leads_leadassignment_changelist",
        "leads_verificationrun_changelist",
        "auth_user_changelist",
        "lead_overview",
    ],
)
def test_an_agent_cannot_open_other_models_or_the_overview(client, team, name):
    client.force_login(team.ann)
    assert client.get(url(name)).status_code == 403


def test_an_agent_cannot_open_their_own_agent_record(client, team):
    client.force_login(team.ann)
    assert client.get(url("agents_agent_change", team.ann_agent.pk)).status_code == 403


def test_an_agent_sees_only_leads_on_the_admin_index(client, team):
    client.force_login(team.ann)
    response = client.get(url("index"))
    models = [m["object_name"] for app in response.context["app_list"] for m in app["models"]]
    assert models == ["MyLeads", "Lead"]  # their own page in the Workspace section, and their leads
    assert "Lead overview" not in response.content.decode()


def test_a_login_in_the_agents_group_without_an_agent_sees_no_leads(client, team):
    client.force_login(make_user("newcomer", groups=[AGENTS]))
    response = client.get(url("leads_lead_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert client.get(change_url(team.bob_lead)).status_code == 404


def test_a_manager_who_also_holds_leads_sees_the_whole_team(client, team):
    team.ann.groups.add(Group.objects.get(name=SALES_MANAGERS))
    client.force_login(team.ann)
    response = client.get(url("leads_lead_changelist"))
    assert len(response.context["cl"].result_list) == 3


def test_unlinking_an_agent_login_in_the_agents_group_leaves_it_seeing_nothing(client, team):
    Agent.objects.filter(pk=team.ann_agent.pk).update(user=None)
    client.force_login(team.ann)
    assert list(client.get(url("leads_lead_changelist")).context["cl"].result_list) == []


def test_an_agent_has_no_permission_on_another_agents_lead_object(rf, team):
    # Defence in depth for pages that fetch a lead without the admin's queryset (inlines, custom views).
    from django.contrib import admin

    request = rf.get("/")
    request.user = team.ann
    lead_admin = admin.site._registry[Lead]
    assert lead_admin.has_change_permission(request, team.ann_lead)
    assert not lead_admin.has_change_permission(request, team.bob_lead)
    assert not lead_admin.has_view_permission(request, team.loose_lead)
    request.user = team.manager
    assert lead_admin.has_change_permission(request, team.bob_lead)


def test_an_agent_filters_their_own_leads_by_class(client, team):
    old = timezone.now() - timedelta(days=12)
    mine = LeadFactory(name="Ann Urgent", assigned_agent=team.ann_agent, created_at=old)
    LeadFactory(name="Bob Urgent", assigned_agent=team.bob_agent, created_at=old)
    client.force_login(team.ann)
    response = client.get(url("leads_lead_changelist"), {"lead_class": "urgent"})
    assert list(response.context["cl"].result_list) == [mine]


# --- import, export, assignment actions ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["leads_lead_import", "leads_lead_export", "agents_agent_import", "agents_agent_export"]
)
def test_a_manager_opens_import_and_export(client, team, name):
    client.force_login(team.manager)
    assert client.get(url(name)).status_code == 200


def test_an_agent_cannot_import_or_export_by_url(client, team):
    client.force_login(team.ann)
    assert client.get(url("leads_lead_import")).status_code == 403
    assert client.post(url("leads_lead_process_import"), {"token": "0" * 32}).status_code == 403
    assert client.get(url("leads_lead_import_rejects", "0" * 32)).status_code == 403
    assert client.get(url("leads_lead_export")).status_code == 403
    assert client.post(url("leads_lead_export"), {"format": "0"}).status_code == 403
    assert client.get(url("agents_agent_import")).status_code == 403
    content = client.get(url("leads_lead_changelist")).content.decode()
    assert "import_link" not in content and "export_link" not in content


def test_a_manager_gets_the_assignment_actions(client, team):
    client.force_login(team.manager)
    response = client.get(url("leads_lead_changelist"))
    assert {"assign_evenly", "assign_to_one_agent", "unassign"} <= action_names(response)


def test_a_manager_assigns_evenly_from_the_changelist(client, team):
    client.force_login(team.manager)
    client.post(url("leads_lead_changelist"), {"action": "assign_evenly", "_selected_action": [team.loose_lead.pk]})
    team.loose_lead.refresh_from_db()
    assert team.loose_lead.assigned_agent is not None


def test_an_agent_cannot_assign_by_posting_the_action(client, team):
    from leads.models import AssignmentRun

    client.force_login(team.ann)
    for action in ("assign_evenly", "unassign"):
        client.post(
            url("leads_lead_changelist"),
            {"action": action, "_selected_action": [team.loose_lead.pk, team.ann_lead.pk]},
        )
    team.loose_lead.refresh_from_db()
    team.ann_lead.refresh_from_db()
    assert team.loose_lead.assigned_agent is None and team.ann_lead.assigned_agent == team.ann_agent
    assert not AssignmentRun.objects.exists()


def test_the_custom_permissions_gate_import_export_and_assignment_for_any_login(client, team):
    # Not an agent, not a manager: a staff login that may view and change leads, nothing more.
    clerk = make_user("clerk")
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_lead", "change_lead"]))
    client.force_login(clerk)
    response = client.get(url("leads_lead_changelist"))
    assert len(response.context["cl"].result_list) == 3
    assert not action_names(response) & {"assign_evenly", "assign_to_one_agent", "unassign"}
    assert client.get(url("leads_lead_import")).status_code == 403
    assert client.get(url("leads_lead_export")).status_code == 403
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["import_lead", "export_lead"]))
    assert client.get(url("leads_lead_import")).status_code == 200
    assert client.get(url("leads_lead_export")).status_code == 200
