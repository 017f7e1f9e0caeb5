"""The lead changelist's classification pieces: the class badge, the reason, the search, fast date drill-down.

LeadAdmin mixes LeadClassificationAdminMixin in; everything here stays cheap at a
million leads: the class is a SQL annotation (no query per row), the search
goes through the indexed keys (name, email, company, phone), and the date hierarchy probes the
created_at index instead of truncating every row.
"""

from datetime import date, datetime

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import F, Max, Min
from django.utils import timezone
from django.utils.html import format_html

from core import clock
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


class ProbedDatesQuerySetMixin:
    """The date hierarchy's queries, answered from the created_at index.

    Django's date hierarchy asks for MIN and MAX together, which SQLite answers
    with a full scan (it seeks the index only for a lone MIN or MAX), and for
    datetimes(), which truncates every row of the list (on SQLite in a Python
    function): about a second at a million leads. Here the bounds are two ordered
    LIMIT 1 queries, and each year/month/day of one level (a few dozen at most)
    is one EXISTS on an index range.
    """

    def aggregate(self, *args, **kwargs):
        if not args and set(kwargs) == {"first", "last"}:
            first, last = kwargs["first"], kwargs["last"]
            if isinstance(first, Min) and isinstance(last, Max) and _field(first) == _field(last) is not None:
                return self._bounds(_field(first))
        return super().aggregate(*args, **kwargs)

    def _bounds(self, field_name: str) -> dict:
        # Cached: the date hierarchy asks for the bounds, then datetimes() needs them again.
        cache = self.__dict__.setdefault("_probed_bounds", {})
        if field_name not in cache:
            values = self.order_by().values_list(field_name, flat=True)
            cache[field_name] = {
                "first": values.order_by(field_name).first(),
                "last": values.order_by(f"-{field_name}").first(),
            }
        return cache[field_name]

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if kind not in ("year", "month", "day"):
            return super().datetimes(field_name, kind, order, tzinfo)
        tz = tzinfo or timezone.get_current_timezone()
        bounds = self._bounds(field_name)
        if bounds["first"] is None:
            return []
        first, last = (timezone.localtime(bounds[k], tz) for k in ("first", "last"))
        start = _bucket_start(first.date(), kind, tz)
        buckets = []
        while start <= last:
            end = _next_bucket(start, kind, tz)
            # The bucket's range goes first: SQLite seeks the index with the first range it meets,
            # and the list itself may already be filtered to a wider one (a month, for days).
            bucket = self.model._default_manager.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
            if (bucket & self).exists():
                buckets.append(start)
            start = end
        return buckets if order == "ASC" else buckets[::-1]


def _field(aggregate) -> str | None:
    expressions = [e for e in aggregate.get_source_expressions() if e is not None]  # the filter slot is None
    if len(expressions) == 1 and isinstance(expressions[0], F) and aggregate.filter is None:
        return expressions[0].name
    return None


def _bucket_start(day: date, kind: str, tz) -> datetime:
    if kind == "year":
        day = day.replace(month=1, day=1)
    elif kind == "month":
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _next_bucket(start: datetime, kind: str, tz) -> datetime:
    if kind == "year":
        return datetime(start.year + 1, 1, 1, tzinfo=tz)
    if kind == "month":
        return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=tz)
    return _bucket_start(date.fromordinal(start.date().toordinal() + 1), "day", tz)


_probed_classes = {}


class LeadChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        base = type(queryset)
        if base not in _probed_classes:
            _probed_classes[base] = type(f"Probed{base.__name__}", (ProbedDatesQuerySetMixin, base), {})
        queryset.__class__ = _probed_classes[base]  # clones keep the class
        return queryset


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
        return LeadChangeList

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
