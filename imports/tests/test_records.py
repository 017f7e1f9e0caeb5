"""JSON records are cleaned by the rows' own rules, each broken rule reported on the key it is about."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from imports.reading import SourceFile
from imports.records import check_record_keys, clean_records, record_keys
from imports.rows import Reasons, clean_chunk
from imports.values import Context
from leads.importing import LEAD_SCHEMA

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CONTEXT = Context(now=NOW)


def clean(*records):
    return clean_records(list(records), LEAD_SCHEMA, CONTEXT)


def test_every_key_of_a_record_is_a_header_its_field_is_read_from():
    check_record_keys(LEAD_SCHEMA)
    assert list(record_keys(LEAD_SCHEMA))[:4] == ["email", "name", "first_name", "last_name"]


def test_a_valid_record_is_cleaned_like_a_file_row():
    result = clean(
        {"email": " Ann@Example.ORG ", "name": "Ann  Lee", "status": "Closed Won", "created_at": "11/20/2026"}
    )
    assert result.errors == {}
    row = result.valid.iloc[0]
    assert row["email"] == "ann@example.org"
    assert row["name"] == "Ann Lee"
    assert row["status"] == "converted"
    assert row["created_at"] == pd.Timestamp("2026-11-20", tz="UTC")
    assert row["name_key"] == "ann lee"
    assert pd.isna(row["phone"])


def test_first_and_last_name_make_the_name():
    result = clean({"email": "a@b.org", "first_name": "Ann", "last_name": "Lee"})
    assert result.valid.iloc[0]["name"] == "Ann Lee"


def test_each_broken_rule_names_its_key_with_the_import_message_without_the_label():
    result = clean({"email": "nope", "status": "maybe", "created_at": "2999-01-01"})
    assert result.errors == {
        0: [
            {"field": "email", "message": "'nope' is not a valid email address"},
            {
                "field": "status",
                "message": "'maybe' is not a known status (new, contacted, qualified, converted, lost)",
            },
            {"field": "created_at", "message": "'2999-01-01' is in the future"},
        ]
    }
    assert result.valid.empty


def test_a_rule_of_a_field_read_from_parts_names_the_parts():
    result = clean({"email": "a@b.org", "first_name": "A" * 150, "last_name": "B" * 150})
    assert result.errors == {0: [{"field": "first_name/last_name", "message": "longer than 200 characters"}]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "must be a string, not a number"),
        (1.5, "must be a string, not a number"),
        (True, "must be a string, not a boolean"),
        (None, "must be a string, not null (leave the key out to keep the stored value)"),
        (["x"], "must be a string, not a list"),
        ({"x": 1}, "must be a string, not an object"),
        ("\ud800", "is not valid text (it holds an unpaired surrogate)"),
    ],
)
def test_a_value_that_is_not_a_string_is_refused_on_its_key(value, message):
    result = clean({"email": "a@b.org", "phone": value})
    assert result.errors == {0: [{"field": "phone", "message": message}]}


def test_a_non_string_identity_is_refused_once_not_also_as_missing():
    result = clean({"email": 42, "name": "Ann"})
    assert result.errors == {0: [{"field": "email", "message": "must be a string, not a number"}]}


def test_an_unknown_key_is_refused_naming_the_known_ones():
    result = clean({"email": "a@b.org", "emial": "x"})
    [error] = result.errors[0]
    assert error["field"] == "emial"
    assert error["message"].startswith("unknown field (known: email, name, first_name, last_name, phone")


@pytest.mark.parametrize("record", [{}, {"phone": ""}, {"phone": "n/a", "company": " "}])
def test_a_record_with_no_value_lacks_its_email(record):
    assert clean(record).errors == {0: [{"field": "email", "message": "missing (every row needs an email)"}]}


def test_the_valid_records_of_a_batch_keep_their_positions():
    result = clean({"email": "a@b.org"}, {"email": "bad"}, {"email": "c@d.org", "phone": "1"})
    assert list(result.valid.index) == [0, 2]
    assert list(result.errors) == [1]
    assert pd.isna(result.valid.loc[0, "phone"])


def test_reasons_keep_what_each_rule_is_about_and_the_joined_text_is_unchanged():
    index = pd.Index([2, 3], name="line")
    reasons = Reasons(index)
    reasons.add(pd.Series([True, True], index=index), "Email: missing (every row needs an email)", about="Email")
    reasons.about("Status").add(
        pd.Series([False, True], index=index), "Status: {} is odd", pd.Series(["a", "b"], index)
    )
    reasons.add_messages(pd.Series(["line has 4 cells"], index=pd.Index([3])))
    assert reasons.text.to_dict() == {
        2: "Email: missing (every row needs an email)",
        3: "Email: missing (every row needs an email); Status: 'b' is odd; line has 4 cells",
    }
    listed = reasons.listed
    assert listed.loc[3].to_dict("records") == [
        {"field": "Email", "message": "missing (every row needs an email)"},
        {"field": "Status", "message": "'b' is odd"},
        {"field": None, "message": "line has 4 cells"},
    ]


def test_a_file_chunk_lists_its_broken_rules_by_column_label():
    frame = pd.DataFrame(
        {
            "E-mail": pd.array(["bad", "ok@x.org"], dtype="string[pyarrow]"),
            "Lead Status": pd.array(["open", "weird"], dtype="string[pyarrow]"),
        },
        index=pd.Index([2, 3], name="line"),
    )
    source = SourceFile(
        Path("x.csv"), "utf-8", ",", ["E-mail", "Lead Status"], {"email": "E-mail", "status": "Lead Status"}
    )
    chunk = clean_chunk(frame, source, LEAD_SCHEMA, CONTEXT)
    assert chunk.rejects["reason"].to_dict() == {
        2: "E-mail: 'bad' is not a valid email address",
        3: "Lead Status: 'weird' is not a known status (new, contacted, qualified, converted, lost)",
    }
    assert chunk.broken[["field"]].reset_index().values.tolist() == [[2, "E-mail"], [3, "Lead Status"]]
