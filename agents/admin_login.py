"""Linking an agent to its admin login from the agent's page."""

from django.contrib.auth import get_user_model


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
                "A staff login in the Agents group. That login then sees and updates only this agent's leads.",
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
