"""The routing rules' admin: ordered by position; the first rule a lead meets decides its pool (leads.routing).

It also serves "Where would a lead go?" (leads/admin/where.py, `admin:leads_routingrule_where`), linked from the
rules list (admin/leads/routingrule/change_list.html).
"""

from functools import partial

from django.contrib import admin
from django.urls import path

from leads.admin.where import where_view
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

    def get_urls(self):
        where = self.admin_site.admin_view(partial(where_view, model_admin=self))
        return [path("where/", where, name="leads_routingrule_where"), *super().get_urls()]
