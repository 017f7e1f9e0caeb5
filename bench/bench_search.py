#!/usr/bin/env python
"""The lead search (name, email, company, phone) at scale, on SQLite.

    python bench/bench_search.py --sizes 1000000

A generated leads file (bench/generate.py) is imported with the product's import (which fills the search
keys), then the admin changelist is timed with each kind of search term (a logged-in superuser through
Django's test client: the whole request), beside the raw indexed query that finds the same leads' ids.
Median of 3 runs after one warm-up.
"""

import sys

from bench_classify import median_seconds, page, queries_of, raw
from common import ensure_data, markdown_table, parse_sizes, setup_django, timed


def bench(n: int) -> list[list]:
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from leads.importing import import_leads
    from leads.models import Lead

    folder = ensure_data(n)
    with timed(f"import {n} leads"):
        import_leads(path=folder / "leads.csv")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    if not hasattr(bench, "test_environment"):
        setup_test_environment()
        bench.test_environment = True
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.com", "bench"))
    # Terms taken from a lead in the middle of the table.
    lead = Lead.objects.order_by("pk")[n // 2]
    email_prefix = lead.email.split("@")[0]
    phone_end = "".join(ch for ch in lead.phone if ch.isdigit())[-7:]
    company = lead.company_key.split()[0]
    glob = "SELECT id FROM leads_lead WHERE {} GLOB %s"
    cases = [
        (f"email beginning '{email_prefix}'", email_prefix, raw(glob.format("email"), [email_prefix + "*"])),
        (f"phone end '{phone_end}'", phone_end, raw(glob.format("phone_key"), [phone_end[::-1] + "*"])),
        (
            f"company '{company}' (many matches)",
            company,
            raw(glob.format("company_key") + " ORDER BY created_at DESC LIMIT 100", [company + "*"]),
        ),
        ("name 'jose muller'", "jose muller", None),
        ("no match 'zzzq'", "zzzq", raw(glob.format("email"), ["zzzq*"])),
    ]
    rows = []
    for label, term, baseline in cases:
        print(f"  {n}: {label}", file=sys.stderr)
        product = page(client, f"/admin/leads/lead/?q={term}")
        rows.append(
            [
                f"{n:,}",
                f"changelist ?q= {label}",
                median_seconds(product),
                queries_of(product),
                "raw indexed query" if baseline else "",
                median_seconds(baseline) if baseline else "",
            ]
        )
    return rows


def main() -> None:
    sizes = parse_sizes("1000000")
    rows = []
    for n in sizes:
        rows += bench(n)
    print("## Lead search (bench/bench_search.py, SQLite)\n")
    print(
        "The admin search through the indexed keys (`leads.lookup.search_conditions`): the whole changelist "
        "request as a superuser, beside the raw indexed query (GLOB prefix on the same index) that finds the "
        "matching ids; leads imported from bench/generate.py data with the product's import. Median of 3 warm "
        "runs, seconds; shared 2-core machine, noisy.\n"
    )
    print(markdown_table(["leads", "product path", "seconds", "queries", "raw baseline", "seconds"], rows))


if __name__ == "__main__":
    main()
