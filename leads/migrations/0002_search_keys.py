"""The search keys of company and phone, filled for the leads already stored.

The keys are computed like the import computes them (imports.values.name_keys / phone_keys, vectorized over
a batch) and written with one UPDATE per batch; only leads with a company or a phone need one.
"""

import pandas as pd
from django.db import migrations

import core.fields

BATCH = 5000


def fill_search_keys(apps, schema_editor):
    from imports import values

    Lead = apps.get_model("leads", "Lead")
    manager = Lead._base_manager.using(schema_editor.connection.alias)
    pending = manager.exclude(company="", phone="").order_by("pk").values_list("pk", "company", "phone")
    last = 0
    while True:
        rows = list(pending.filter(pk__gt=last)[:BATCH])
        if not rows:
            return
        frame = pd.DataFrame(rows, columns=["pk", "company", "phone"])
        company_keys = values.name_keys(frame["company"].astype(values.STRING)).tolist()
        phone_keys = values.phone_keys(frame["phone"].astype(values.STRING)).fillna("").tolist()
        leads = [
            Lead(pk=pk, company_key=company_key, phone_key=phone_key)
            for pk, company_key, phone_key in zip(frame["pk"].tolist(), company_keys, phone_keys, strict=True)
        ]
        manager.bulk_update(leads, ["company_key", "phone_key"], batch_size=BATCH)
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="company_key",
            field=core.fields.NameKeyField(
                db_default="",
                help_text="Company without accents, case or extra spaces.",
                max_length=200,
                source="company",
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="phone_key",
            field=core.fields.PhoneKeyField(
                db_default="", help_text="The phone's digits, last first.", max_length=50, source="phone"
            ),
        ),
        migrations.RunPython(fill_search_keys, migrations.RunPython.noop, elidable=True),
    ]
