"""Linking an agent to its admin login from the agent's page."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from agents.roles import SALES_MANAGERS, grant_agent_role


class AgentLoginAdminMixin:
    """Offer the logins that may be this agent's in a drop-down for Agent.user.

    Sales managers have no permission on users, so a raw-id look-up would refuse them; a list of the staff
    logins is short and lets them link an agent without asking a superuser for an id. It holds only logins
    that may become agents: active staff, not superusers, not Sales managers, and not linked to another agent
    (the one linked to this agent stays, so the form keeps its value).
    """

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            free = Q(agent__isnull=True)
            if object_id and str(object_id).isdigit():
                free |= Q(agent__pk=object_id)
            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(free, is_staff=True, is_active=True, is_superuser=False)
                .exclude(groups__name=SALES_MANAGERS)
                .order_by("username")
            )
            kwargs.setdefault("label", "Admin login")
            kwargs.setdefault(
                "help_text",
                "A staff login; it joins the Agents group and then sees and updates only this agent's leads.",
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "user" in form.changed_data:
            grant_agent_role(obj.user)
