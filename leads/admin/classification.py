"""The lead changelist's classification pieces: the class badge, the reason, the search, fast date drill-down.

LeadAdmin mixes LeadClassificationAdminMixin in; everything here stays cheap at a
million leads: the class is a SQL annotation (no query per row), the search
goes through the indexed keys (name, email, company, phone), and the date hierarchy probes the
created_at index instead of truncating every row.
"""

from django.contrib import admin
from django.utils.html import format_html

from core import clock
from core.admin_dates import ProbedDatesChangeList
from core.clock import request_as_of
from leads.classification import LeadClass, explain
from leads.lookup import search_matches

BADGE_COLOURS = {
    LeadClass.FRESH: "#2e7d32",
    LeadClass.URGENT: "#c62828",
    LeadClass.ACTIVE: "#1565c0",
    LeadClass.STALE: "#6d4c41",
    LeadClass.CLOSED: "#616161",
}


def class_badge_html(lead_class: str, title: str = ""):
    colour = BADGE_COLOURS.get(lead_class, "#000")
    return format_html(
        '<span class="lead-class lead-class-{}" title="{}" style="background:{};color:#fff;padding:2px 8px;'
        'border-radius:10px;font-size:11px;font-weight:bold;white-space:nowrap">{}</span>',
        lead_class,
        title,
        colour,
        lead_class,
    )


class LeadClassificationAdminMixin:
    # Facet counts would run one COUNT per agent and class over the whole table.
    show_facets = admin.ShowFacets.NEVER

    def get_queryset(self, request):
        return super().get_queryset(request).with_classification(request_as_of(request))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:  # the change page's reason, at the moment its class was annotated at
            obj._as_of = request_as_of(request)
        return obj

    def get_changelist(self, request, **kwargs):
        return ProbedDatesChangeList

    def get_search_results(self, request, queryset, search_term):
        # The term goes through the same normalization as the stored keys; every part is an indexed match.
        if not search_term.strip():
            return queryset, False
        return queryset.filter(search_matches(search_term)), False

    @admin.display(description="class", ordering="lead_class")
    def class_badge(self, obj):
        return class_badge_html(obj.lead_class)

    @admin.display(description="class")
    def classification_reason(self, obj):
        if obj is None or obj.pk is None or obj.created_at is None:
            return "-"
        why = explain(obj.status, obj.created_at, getattr(obj, "_as_of", None) or clock.now())
        return format_html("{} {}", class_badge_html(why.lead_class.value), why.reason)
