"""PostgreSQL: a trigram index on the name key, so that "the name contains" (the admin search, find_lead) is an
index look-up instead of a scan of every name (seconds at ten million leads). pg_trgm ships with PostgreSQL and is
a trusted extension (13+): the database's owner may create it. The other engines keep scanning the name-key
index, which is what they can do for a contains match."""

from django.db import migrations

INDEX = "lead_name_key_trgm_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON leads_lead USING gin (name_key gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0014_drop_duplicate_audit_lead_index")]

    operations = [migrations.RunPython(create, drop)]
