"""Linking an agent to its admin login from the agent's page."""

from django.contrib.auth import get_user_model

from crm.roles import grant_agent_role


class AgentLoginAdminMixin:
    """Offer the staff logins in a drop-down for Agent.user.

    Sales managers have no permission on users, so a raw-id look-up would refuse them; a list of the staff
    logins is short and lets them link an agent without asking a superuser for an id.
    """

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
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
