"""Users in each role, for the role, dashboard and browser tests."""

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from agents.roles import AGENTS, SALES_MANAGERS

roles_migration = importlib.import_module("crm.migrations.0001_roles")
routing_permissions_migration = importlib.import_module("crm.migrations.0002_routing_permissions")


def ensure_roles() -> None:
    """The groups as the migration makes them; tests that flush the database (live_server) remove them."""
    roles_migration.create_roles(apps, None)
    routing_permissions_migration.grant(apps, None)


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
