"""Weighted water-filling on counts (leads.assignment.planning.weighted_fill_counts), against the rule itself:
lead by lead, each goes to an agent whose load after taking it, divided by its weight, is the lowest."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.assignment.planning import fill_counts, weighted_fill_counts


def one_by_one(loads, weights, rooms, n):
    """The rule applied one lead at a time, in exact fractions; a level shared by more agents than leads left
    is returned as ties, like the function under test."""
    gives, left = [0] * len(loads), n
    while left > 0:
        nexts = {
            i: Fraction(loads[i] + gives[i] + 1) / Fraction(weights[i])
            for i in range(len(loads))
            if rooms[i] is None or gives[i] < rooms[i]
        }
        if not nexts:
            return gives, [], 0
        key = min(nexts.values())
        level = sorted(i for i, k in nexts.items() if k == key)
        if len(level) > left:
            return gives, level, left
        for i in level:
            gives[i] += 1
        left -= len(level)
    return gives, [], 0


weights = st.builds(Decimal, st.sampled_from(["0.5", "1", "1.5", "2", "0.25", "3", "0.1", "1.25", "0.33", "7"]))
agents = st.lists(
    st.tuples(st.integers(0, 60), weights, st.one_of(st.none(), st.integers(0, 40))), min_size=1, max_size=8
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(agents=agents, n=st.integers(0, 300))
def test_it_gives_exactly_what_the_rule_gives_lead_by_lead(agents, n):
    loads, ws, rooms = (list(column) for column in zip(*agents))
    assert weighted_fill_counts(loads, ws, rooms, n) == one_by_one(loads, ws, rooms, n)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(agents=agents, n=st.integers(0, 300), data=st.data())
def test_no_single_move_of_a_given_lead_would_lower_the_highest_weighted_load(agents, n, data):
    loads, ws, rooms = (list(column) for column in zip(*agents))
    gives, ties, rest = weighted_fill_counts(loads, ws, rooms, n)
    for i in data.draw(st.lists(st.sampled_from(ties), min_size=rest, max_size=rest, unique=True)) if rest else []:
        gives[i] += 1
    room = None if None in rooms else sum(rooms)
    assert sum(gives) == (n if room is None else min(n, room))
    after = [Fraction(load + g) for load, g in zip(loads, gives)]
    for i, given_i in enumerate(gives):
        for j in range(len(loads)):
            if given_i and (rooms[j] is None or gives[j] < rooms[j]):
                assert (after[j] + 1) / Fraction(ws[j]) >= after[i] / Fraction(ws[i])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    agents=st.lists(st.tuples(st.integers(0, 60), st.one_of(st.none(), st.integers(0, 40))), min_size=1, max_size=8),
    n=st.integers(0, 300),
)
def test_with_equal_weights_it_is_the_plain_water_filling(agents, n):
    loads, rooms = (list(column) for column in zip(*agents))
    gives, ties, rest = weighted_fill_counts(loads, [1] * len(loads), rooms, n)
    plain_gives, plain_ties, plain_rest = fill_counts(loads, rooms, n)
    assert (gives, rest) == (plain_gives, plain_rest)
    if rest:  # fill_counts also names the agents at the level when no lead is left for them
        assert ties == sorted(plain_ties)


def test_a_half_weight_new_hire_gets_half_a_share():
    gives, ties, rest = weighted_fill_counts([0, 0, 0], [Decimal("1"), Decimal("1"), Decimal("0.5")], [None] * 3, 500)
    assert (gives, ties, rest) == ([200, 200, 100], [], 0)


def test_a_million_leads_over_a_hundred_agents_are_counted_exactly():
    loads = [(i * 37) % 500 for i in range(100)]
    ws = [Decimal(("0.5", "1", "1.5", "2.25")[i % 4]) for i in range(100)]
    rooms = [None if i % 3 else 20_000 + i for i in range(100)]
    gives, ties, rest = weighted_fill_counts(loads, ws, rooms, 1_000_003)
    assert sum(gives) + rest == 1_000_003 and rest < len(ties)
    assert all(r is None or g <= r for g, r in zip(gives, rooms))
    levels = [Fraction(load + g) / Fraction(w) for load, g, w in zip(loads, gives, ws)]
    uncapped = [level for level, g, r in zip(levels, gives, rooms) if r is None or g < r]
    assert max(uncapped) - min(uncapped) <= 2  # one lead's worth at the smallest weight


def test_a_weight_of_zero_or_below_is_refused():
    with pytest.raises(ValueError, match="above 0"):
        weighted_fill_counts([0, 0], [1, 0], [None, None], 3)
