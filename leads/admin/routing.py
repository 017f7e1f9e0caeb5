"""The routing rules' admin: ordered by position; the first rule a lead meets decides its pool (leads.routing)."""

from django.contrib import admin

from leads.models import RoutingRule


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "name",
        "team",
        "source",
        "country",
        "email_domain",
        "company_contains",
        "classification",
    ]
    list_display_links = ["name"]
    list_select_related = ["team"]
    list_filter = ["team"]
    search_fields = ["name", "team__name"]
    ordering = ["position"]
