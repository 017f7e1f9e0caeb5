from django.db import models


class LeadStatus(models.TextChoices):
    NEW = "new", "New"  # not yet worked
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    CONVERTED = "converted", "Converted"
    LOST = "lost", "Lost"


CLOSED_STATUSES = frozenset({LeadStatus.CONVERTED, LeadStatus.LOST})
OPEN_STATUSES = frozenset(set(LeadStatus) - CLOSED_STATUSES)
