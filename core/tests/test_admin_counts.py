"""EstimatedCountPaginator: exact up to ADMIN_EXACT_COUNT_UP_TO, the engine's estimate beyond (DATABASE_URL)."""

import pytest
from django.contrib.auth.models import User
from django.core.paginator import EmptyPage
from django.db import connection

from core.admin_counts import EstimatedCountPaginator
from core.sql import dialect

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    User.objects.bulk_create([User(username=f"paged{i}") for i in range(5)])
    if not dialect().estimated_count_is_lower_bound:  # the planner's estimate needs the table's statistics
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE auth_user")
    return User.objects.order_by("pk")


def test_a_result_within_the_threshold_is_counted_exactly(users, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 10
    paginator = EstimatedCountPaginator(users, 2)
    assert (paginator.count, paginator.estimated, paginator.num_pages) == (5, False, 3)


def test_a_result_beyond_the_threshold_is_estimated(users, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 2
    paginator = EstimatedCountPaginator(users, 2)
    assert paginator.estimated
    if paginator.lower_bound:  # counted as far as three rows: "more than 2"
        assert paginator.count == 3
    else:  # the planner's estimate, from the statistics of a 5-row table
        assert paginator.count == 5


def test_the_threshold_is_never_below_one_page(users, settings):
    # The admin lists a one-page result unsliced: an estimate there could fetch a whole table.
    settings.ADMIN_EXACT_COUNT_UP_TO = 2
    paginator = EstimatedCountPaginator(users, 100)
    assert (paginator.count, paginator.estimated) == (5, False)


def test_a_filtered_queryset_is_estimated_with_its_conditions(users, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 2
    assert EstimatedCountPaginator(users.filter(username="paged3"), 1).count == 1


def test_a_page_past_the_end_of_an_estimate_is_empty_not_an_error(users, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 2
    paginator = EstimatedCountPaginator(users, 2)
    assert [u.username for u in paginator.page(3).object_list] == ["paged4"]
    assert list(paginator.page(paginator.num_pages + 5).object_list) == []
    with pytest.raises(EmptyPage):
        paginator.page(0)


def test_a_page_past_the_end_of_an_exact_count_is_refused_as_django_does(users, settings):
    settings.ADMIN_EXACT_COUNT_UP_TO = 10
    with pytest.raises(EmptyPage):
        EstimatedCountPaginator(users, 2).page(4)


def test_a_lower_bound_pages_on_beyond_its_last_page(users, settings):
    # SQLite and MariaDB stop counting at 3 rows: two pages of 2, but the third has the fifth user.
    settings.ADMIN_EXACT_COUNT_UP_TO = 2
    paginator = EstimatedCountPaginator(users, 2)
    if not paginator.lower_bound:
        pytest.skip("PostgreSQL estimates the whole table")
    assert paginator.num_pages == 2
    assert [u.username for u in paginator.page(3).object_list] == ["paged4"]
