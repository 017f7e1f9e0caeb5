"""The SLA policies' admin: the default policy (no team) first, then one per team, every step in the list and
editable there. The values are checked by SlaPolicy.problems, like the policies file (leads.sla_policies)."""

from django.contrib import admin

from leads.models import SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "pool",
        "first_touch_hours",
        "remind_at_hours",
        "escalate_after_hours",
        "reassign_after_hours",
        "max_reassignments",
        "recycle_stale_after_days",
    ]
    list_display_links = ["pool"]
    list_editable = [
        "first_touch_hours",
        "remind_at_hours",
        "escalate_after_hours",
        "reassign_after_hours",
        "max_reassignments",
        "recycle_stale_after_days",
    ]
    list_select_related = ["team"]
    search_fields = ["team__name"]
    fields = ["team", *list_editable]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team":
            kwargs["empty_label"] = "Default (no team)"
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="pool", ordering="team__name")
    def pool(self, policy):
        return policy.team.name if policy.team_id else "Default (every pool without its own)"
