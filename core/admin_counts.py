"""Changelists of millions of rows, paged on an estimated count, as large admin sites do.

Django's changelist counts its result exactly on every page, and on PostgreSQL an exact COUNT(*) reads every
row of the result: seconds at ten million leads, most of the page's time. EstimatedCountPaginator asks the
engine (core.sql's Dialect.estimated_count) first: a result of at most ADMIN_EXACT_COUNT_UP_TO rows is counted
exactly as before; a longer one is paged on the estimate, and the page says so (the admin templates in
core/templates/admin/estimated_count/, which an app's admin/<app>/pagination.html, search_form.html and
actions.html extend). A ModelAdmin opts in with `paginator = EstimatedCountPaginator`.

An estimate may be off either way, so the page numbers it gives may be too: a page past the real end is an
empty page that says so (never an error), and the pages after the estimated last one stay reachable.
"""

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

from core.sql import dialect


class EstimatedCountPaginator(Paginator):
    @cached_property
    def cap(self) -> int:
        # Never within one page: the admin lists a one-page result unsliced, which on a low estimate of a long
        # result would fetch all of it.
        return max(settings.ADMIN_EXACT_COUNT_UP_TO, self.per_page)

    @cached_property
    def _counted(self) -> tuple[int, bool, bool]:
        """(count, estimated, lower bound)."""
        if not isinstance(self.object_list, QuerySet):
            return super().count, False, False
        queryset = self.object_list.order_by().values("pk")  # the rows without their columns, joins or order
        conn = connections[queryset.db]
        sql, params = queryset.query.get_compiler(connection=conn).as_sql()
        engine = dialect(conn)
        with conn.cursor() as cursor:
            rows = engine.estimated_count(cursor, sql, params, self.cap)
        if rows is None:
            return self.object_list.count(), False, False
        if rows <= self.cap:
            return rows, False, False
        return rows, True, engine.estimated_count_is_lower_bound

    @property
    def count(self) -> int:
        return self._counted[0]

    @property
    def estimated(self) -> bool:
        """The count is an estimate (or, with `lower_bound`, how far counting went), not the exact number."""
        return self._counted[1]

    @property
    def lower_bound(self) -> bool:
        """The count only says that the result has more rows than `cap` (it is cap + 1)."""
        return self._counted[2]

    def validate_number(self, number):
        # Past the estimated last page there may still be rows: such a page is read, empty or not.
        try:
            return super().validate_number(number)
        except EmptyPage:
            if not self.estimated or int(number) < 1:
                raise
            return int(number)

    def page(self, number):
        if not self.estimated:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)
