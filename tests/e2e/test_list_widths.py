"""The main lists fit a laptop screen: every column, the last one included, is on screen at 1366 and 1440 px."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.tests.factories import AgentFactory
from core import clock
from leads.assignment import assign_leads
from leads.models import AssignmentRun
from leads.tests.factories import LeadFactory
from leads.tests.roles import make_user
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LISTS = {
    "leads": ("/admin/leads/lead/", "agent"),
    "lead assignments": ("/admin/leads/leadassignment/", "run"),
    "assignment runs": ("/admin/leads/assignmentrun/", "changes"),
    "agents": ("/admin/agents/agent/", "open leads by class"),
}


@pytest.fixture
def long_rows():
    """Rows as wide as real ones get: long names, emails and companies, every column filled."""
    now = timezone.now()
    agents = [
        AgentFactory(
            name=f"Maximiliane Rosalind Vandenberghe-Okonkwo {i}",
            email=f"maximiliane.vandenberghe-okonkwo.{i}@regional-sales-department.example.com",
            capacity=250,
        )
        for i in range(3)
    ]
    for i, days in enumerate([1, 3, 9, 12, 40, 60]):
        LeadFactory(
            name=f"Bartholomew Alexandrescu-Featherstonehaugh {i}",
            email=f"bartholomew.alexandrescu-featherstonehaugh.{i}@international-holdings-group.example.org",
            company="Consolidated Intercontinental Logistics & Warehousing GmbH",
            phone="+44 (0) 20 7946 0018 ext. 1234",
            created_at=now - timedelta(days=days),
        )
    assign_leads(source=AssignmentRun.Source.COMMAND, seed=1, as_of=clock.now())
    make_user("root", superuser=True, password=PASSWORD)
    return agents


def last_column_overflow(page) -> dict:
    """How far the last header and cells of the result table reach, and whether the table scrolls sideways."""
    return page.evaluate(
        """() => {
            const table = document.querySelector('#result_list');
            const header = table.querySelector('thead th:last-child');
            const cells = [...table.querySelectorAll('tbody tr td:last-child, tbody tr th:last-child')];
            const results = table.closest('.results');
            const visible = Math.min(window.innerWidth, results.getBoundingClientRect().right);
            return {
                visibleRight: visible,
                header: header.textContent.trim(),
                headerRight: header.getBoundingClientRect().right,
                cellsRight: Math.max(...cells.map(c => c.getBoundingClientRect().right)),
                rows: cells.length,
                sideways: results.scrollWidth - results.clientWidth,
                pageSideways: document.documentElement.scrollWidth - window.innerWidth,
            };
        }"""
    )


@pytest.mark.parametrize("width", [1366, 1440])
@pytest.mark.parametrize("name", list(LISTS))
def test_every_column_of_the_main_lists_is_on_screen(page, long_rows, name, width):
    url, last_header = LISTS[name]
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "root")
    page.goto(url)
    found = last_column_overflow(page)
    assert found["header"].lower() == last_header
    assert found["rows"] >= 1
    assert found["headerRight"] <= found["visibleRight"] <= width, found
    assert found["cellsRight"] <= found["visibleRight"], found
    assert found["sideways"] <= 0, found
    assert found["pageSideways"] <= 0, found
