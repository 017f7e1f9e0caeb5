from django.conf import settings
from django.db import models

from core.fields import NormalizedEmailField


class AgentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Agent(models.Model):
    name = models.CharField(max_length=200)
    email = NormalizedEmailField(max_length=254, unique=True)
    is_active = models.BooleanField("active", default=True, db_index=True)
    # The most open leads the agent may hold; empty means no limit, 0 means
    # "takes no new leads" (on leave) without deactivating the agent.
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most open leads this agent may hold. Empty: no limit."
    )
    # The agent's own admin login, so an agent sees only their own leads.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="agent"
    )
    # db_default: the agents import writes rows by SQL with the columns of its schema only.
    arrival_emails = models.BooleanField(
        "email me each lead on arrival",
        default=True,
        db_default=True,
        help_text="An email for each lead the intake API assigns; the digests of bulk assignments always go.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgentQuerySet.as_manager()

    class Meta:
        ordering = ["name", "email"]
        permissions = [
            ("import_agent", "Can import agents"),
            ("export_agent", "Can export agents"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(capacity__gte=0), name="agent_capacity_not_negative"),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"
