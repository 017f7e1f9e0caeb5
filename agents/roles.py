"""The two staff roles, as Django groups created by crm/migrations/0001_roles.py.

A user linked to an Agent (Agent.user), or put in the Agents group, is *scoped*: in the admin they see and
edit only the leads assigned to them. Superusers and members of Sales managers are never scoped, even when
they also hold leads themselves.
"""

SALES_MANAGERS = "Sales managers"
AGENTS = "Agents"


def is_manager(user) -> bool:
    """Sees the whole team: superusers and Sales managers."""
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    return SALES_MANAGERS in _group_names(user)


def is_scoped_agent(user) -> bool:
    """Sees only their own leads: linked to an Agent, or in the Agents group, and not a manager.

    Membership of the Agents group alone is enough, so an agent login that nobody has linked yet sees
    no leads at all rather than every lead its permissions would allow.
    """
    if not user.is_authenticated or is_manager(user):
        return False
    return AGENTS in _group_names(user) or agent_id_of(user) is not None


def grant_agent_role(user) -> None:
    """Put a login that was just linked to an agent in the Agents group, so it can open its own leads.

    Scoping already follows the link; the group carries the view/change permissions that make the leads
    visible at all. Managers and superusers keep the role they have.
    """
    from django.contrib.auth.models import Group

    if user is None or is_manager(user):
        return
    group = Group.objects.filter(name=AGENTS).first()
    if group is not None:
        user.groups.add(group)


def _group_names(user) -> frozenset[str]:
    # Cached on the user object, which lives for one request: the admin asks several times per page.
    if not hasattr(user, "_crm_group_names"):
        user._crm_group_names = frozenset(user.groups.values_list("name", flat=True))
    return user._crm_group_names


def agent_id_of(user) -> int | None:
    """The id of the Agent linked to this login, if any (cached on the user object)."""
    if not hasattr(user, "_crm_agent_id"):
        from agents.models import Agent

        user._crm_agent_id = Agent.objects.filter(user_id=user.pk).values_list("pk", flat=True).first()
    return user._crm_agent_id
