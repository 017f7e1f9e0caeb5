"""Users in each role, for the role, dashboard and browser tests."""

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from agents.roles import AGENTS, SALES_MANAGERS

roles_migration = importlib.import_module("crm.migrations.0001_roles")
notifications_migration = importlib.import_module("crm.migrations.0002_managers_view_notifications")
imports_migration = importlib.import_module("crm.migrations.0003_managers_see_and_revert_imports")
routing_permissions_migration = importlib.import_module("crm.migrations.0004_routing_permissions")
sla_permissions_migration = importlib.import_module("crm.migrations.0005_sla_permissions")
history_permissions_migration = importlib.import_module("crm.migrations.0006_status_history_permissions")


def ensure_roles() -> None:
    """The groups as the migration makes them; tests that flush the database (live_server) remove them."""
    roles_migration.create_roles(apps, None)
    notifications_migration.grant(apps, None)
    imports_migration.grant(apps, None)
    routing_permissions_migration.grant(apps, None)
    sla_permissions_migration.grant(apps, None)
    history_permissions_migration.grant(apps, None)


def make_user(username: str, *, groups=(), superuser: bool = False, password: str | None = None):
    ensure_roles()
    user = get_user_model().objects.create_user(
        username=username, password=password, is_staff=True, is_superuser=superuser
    )
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


def make_manager(username: str = "manager", **kwargs):
    return make_user(username, groups=[SALES_MANAGERS], **kwargs)


def make_agent_login(agent, username: str | None = None, **kwargs):
    user = make_user(username or agent.email.split("@")[0], groups=[AGENTS], **kwargs)
    agent.user = user
    agent.save(update_fields=["user"])
    return user


def agent_form(agent, **changes) -> dict:
    """The agent's change form as the admin posts it, with no absence rows."""
    form = {
        "name": agent.name,
        "email": agent.email,
        "is_active": "on",
        "capacity": "",
        "weight": str(agent.weight),
        "time_zone": agent.time_zone,
        "working_hours": agent.working_hours,
        "arrival_emails": "on" if agent.arrival_emails else "",
        "absences-TOTAL_FORMS": "0",
        "absences-INITIAL_FORMS": "0",
    }
    form = {**form, **changes}
    return {name: value for name, value in form.items() if value != "" or name in ("capacity", "user")}
