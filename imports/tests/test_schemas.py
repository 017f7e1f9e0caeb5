"""Every import schema loads real model fields, with the model's limits: a value as long as the column allows is
stored whole on this engine, one character more is rejected naming the column."""

import pytest

from agents.importing import AGENT_SCHEMA, import_agents
from agents.models import Agent
from imports.loading import staged_columns
from imports.schema import Schema
from imports.values import Text
from leads.importing import LEAD_SCHEMA, import_leads
from leads.models import Lead

SCHEMAS = [(LEAD_SCHEMA, Lead, import_leads), (AGENT_SCHEMA, Agent, import_agents)]


@pytest.mark.parametrize(("schema", "model"), [(s, m) for s, m, _ in SCHEMAS], ids=["lead", "agent"])
def test_each_field_and_key_is_a_model_column_with_its_length_type_and_default(schema: Schema, model):
    assert schema.table == model._meta.db_table
    for field in schema.fields:
        if not field.stored:  # written by an after-upsert step: a many-to-many of the model
            assert model._meta.get_field(field.name).many_to_many, field.name
            assert schema.after_upsert, field.name
            continue
        model_field = model._meta.get_field(field.name)
        assert model_field.column == field.name
        assert field.max_length == (model_field.max_length if field.sql_type == "text" else None), field.name
        if model_field.get_internal_type() in ("CharField", "EmailField"):
            assert field.max_length is not None and field.max_length > 0, field.name
        assert field.nullable == model_field.null, field.name
    for key in schema.keys:
        model_field = model._meta.get_field(key.name)
        assert (key.max_length, key.default) == (model_field.max_length, ""), key.name
        assert any(f.name == key.source for f in schema.fields), key.name
    assert schema.identity in {f.name for f in schema.fields}
    assert model._meta.get_field(schema.identity).unique
    assert {c.name for c in staged_columns(schema) if c.stored} <= {f.column for f in model._meta.concrete_fields}


def test_the_lead_schema_reads_every_column_a_lead_file_gives():
    imported = {f.name for f in LEAD_SCHEMA.fields}
    assert imported == {"email", "name", "phone", "company", "source", "country", "status", "created_at"}
    assert LEAD_SCHEMA.needed_for_new == ("name", "created_at")
    # last_activity_at is stamped like updated_at (Schema.for_model's `stamped`).
    assert LEAD_SCHEMA.insert_timestamps == ("added_at", "updated_at", "last_activity_at")
    assert LEAD_SCHEMA.update_timestamps == ("updated_at", "last_activity_at")
    assert LEAD_SCHEMA.restored == (("first_touched_at", "datetime"),)


def _row(schema, longest: dict[str, str]) -> tuple[str, str]:
    """A header and one row with every text field at the given value, the others at a valid one."""
    valid = {"email": "ada@example.org", "name": "Ada", "created_at": "2026-01-02", "status": "new"}
    valid.update({"is_active": "yes", "capacity": "3"} if schema is AGENT_SCHEMA else {})
    valid.update(longest)
    names = [f.name for f in schema.fields if f.name in valid]
    return ",".join(names), ",".join(valid[n] for n in names)


@pytest.mark.django_db
@pytest.mark.parametrize(("schema", "model", "service"), SCHEMAS, ids=["lead", "agent"])
def test_a_value_as_long_as_the_column_is_stored_whole_and_one_more_is_rejected(tmp_path, schema, model, service):
    # The texts kept as written (a time zone or working hours must also be valid ones, a teams cell names teams).
    texts = [f for f in schema.stored if f.max_length and type(f.cleaner) is Text and f.name not in ("email", "status")]
    assert texts
    at_limit = {f.name: "x" * f.max_length for f in texts}
    path = tmp_path / "at-limit.csv"
    path.write_text("\n".join(_row(schema, at_limit)) + "\n", encoding="utf-8")
    result = service(path=path)
    assert (result.created, result.rejected) == (1, 0), result.rejects
    stored = model.objects.values(*at_limit).get()
    assert stored == at_limit
    email = schema.field("email").max_length
    long_email = "a" * (email - len("@example.org")) + "@example.org"
    for f in [*texts, schema.field("email")]:
        value = ("b" + long_email) if f.name == "email" else "y" * (f.max_length + 1)
        path.write_text("\n".join(_row(schema, {f.name: value})) + "\n", encoding="utf-8")
        result = service(path=path)
        assert result.rejects["reason"].tolist() == [f"{f.name}: longer than {f.max_length} characters"], f.name
    path.write_text("\n".join(_row(schema, {"email": long_email})) + "\n", encoding="utf-8")
    assert service(path=path).created == 1
    assert model.objects.filter(email=long_email).exists()
