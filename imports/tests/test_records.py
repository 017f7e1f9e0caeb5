"""JSON records are cleaned by the rows' own rules, each broken rule reported on the key it is about."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imports import values
from imports.reading import SourceFile
from imports.records import check_record_keys, clean_few, clean_records, record_keys
from imports.rows import Reasons, clean_chunk, merge_duplicate_rows, merge_duplicates
from imports.tests.test_cleaning import date_texts
from imports.values import Context
from leads.importing import LEAD_SCHEMA, STATUS_SYNONYMS

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


# ---------------------------------------------------------------------------------------------------------
# A few records, value by value (clean_few): the same answer as the vectorized cleaning, on every record


def _frame_rows(valid: pd.DataFrame) -> list[tuple[int, dict]]:
    """A cleaned frame's rows as intake reads them back (through pyarrow, as leads.intake._columns does)."""
    table = pa.Table.from_pandas(valid, preserve_index=False)
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    return [(int(p), {name: columns[name][i] for name in columns}) for i, p in enumerate(valid.index)]


def assert_agree(records, schema=LEAD_SCHEMA, context=CONTEXT):
    vectorized = clean_records(records, schema, context)
    few = clean_few(records, schema, context)
    assert few.errors == vectorized.errors
    assert few.valid == _frame_rows(vectorized.valid)
    for (_p, mine), (_q, theirs) in zip(few.valid, _frame_rows(vectorized.valid)):
        assert [type(v) for v in mine.values()] == [type(v) for v in theirs.values()]


_SPACES = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u3000", "\n", "\x1f", ""])
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_MARKERS = st.sampled_from([*sorted(values.MISSING_MARKERS), "NULL", "N/A", " None ", "NaN"])
_WORDS = st.sampled_from([*sorted({w for _v, words in STATUS_SYNONYMS.items() for w in words}), "nope", "Closed-Won"])


@st.composite
def _dirty(draw, strategy) -> str:
    """A value as a client may send it: spaces around and inside, any case, now and then a marker or junk."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(_MARKERS)
    if kind == 1:
        return draw(_TEXT)
    text = draw(strategy)
    text = draw(st.sampled_from([text, text.upper(), text.lower(), text.title(), text.replace(" ", "  ")]))
    return draw(_SPACES) + text + draw(_SPACES)


_EMAILS = st.one_of(
    st.emails().map(str),
    st.sampled_from(["a@b", "a b@c.org", "@x.org", "a@@b.org", "ΑΣ@Ünï.org", "İ@x.org", "a@b..org", "x@y.c\u00a0om"]),
)
_NAMES = st.one_of(_TEXT, st.sampled_from(["Ada  Lovelace", "Zoë Ó'Brien", "ÅSA  ØST", "x" * 300, "Σ ΑΣ"]))
_PHONES = st.one_of(st.from_regex(r"\+?[0-9 ()-]{0,16}", fullmatch=True), _TEXT)
_DATES = st.one_of(
    date_texts(),
    st.sampled_from(
        [
            "now",
            "today",
            "1677-09-21",
            "0001-01-01T00:00+01:00",
            "9999-12-31T23:59-01:00",
            "0000-01-01",
            "29.02.0000",
            "02/30/0000 10:00",
        ]
    ),
    st.sampled_from(["2026-03-29 02:30", "2026-10-25 02:30", "2026-03-08 02:15", "2026-11-01 01:30", "2026-11-25"]),
)
_FIELDS = {
    "email": _EMAILS,
    "name": _NAMES,
    "first_name": _NAMES,
    "last_name": _NAMES,
    "phone": _PHONES,
    "company": _NAMES,
    "source": st.one_of(_TEXT, st.just("y" * 120)),
    "country": _TEXT,
    "status": _WORDS,
    "created_at": _DATES,
}
_ODD = st.sampled_from([None, 5, 1.5, True, [], {}, "\ud800", "a\x00b", "x" * 260])


@st.composite
def dirty_records(draw) -> dict:
    keys = draw(st.lists(st.sampled_from([*_FIELDS, "colour"]), unique=True, max_size=len(_FIELDS)))
    record = {}
    for key in keys:
        if key == "colour" or draw(st.integers(0, 19)) == 0:
            record[key] = draw(_ODD)
        else:
            record[key] = draw(_dirty(_FIELDS[key]))
    return record


@settings(max_examples=250, deadline=None)
@given(
    st.lists(dirty_records(), min_size=1, max_size=3),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
    st.booleans(),
)
def test_a_few_records_cleaned_value_by_value_agree_with_the_vectorized_cleaning(records, time_zone, dayfirst):
    assert_agree(records, context=Context(now=NOW, dayfirst=dayfirst, time_zone=time_zone))


def test_a_record_cleaned_value_by_value_reads_the_same_values():
    few = clean_few(
        [{"email": " Ann@Example.ORG ", "first_name": "Ann ", "last_name": " Lee", "status": "Closed Won"}],
        LEAD_SCHEMA,
        CONTEXT,
    )
    assert few.errors == {}
    assert few.valid[0][1]["name"] == "Ann Lee"
    assert few.valid[0][1]["status"] == "converted"
    assert few.valid[0][1]["name_key"] == "ann lee"


def _upper_code(text: str) -> str:
    if not text.isalpha():
        raise ValueError(f"{text!r} is not a code")
    return text.upper()


_CLEANERS = [
    values.YesNo((("yes", "no"), ("true", "false"), ("1", "0"))),
    values.WholeNumber(500),
    values.DecimalNumber(max_digits=5, decimal_places=2),
    values.DecimalNumber(max_digits=4, decimal_places=1, positive=False),
    values.NameList(separators=",;", max_length=8),
    values.Text(),
    values.Checked(_upper_code),
]
_CELLS = st.one_of(
    _TEXT,
    st.from_regex(r"\+?[0-9]{0,5}([.,][0-9]{0,4})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,22}(\.0*)?", fullmatch=True),
    st.sampled_from(["Yes", "NO", "True", "1", "x", "Europe/Berlin", "Mars/Base", "EMEA; Key accounts;;", "a,,b"]),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_CLEANERS), _CELLS.map(str.strip).filter(lambda v: values.missing_or_trimmed(v) is not None))
def test_each_cleaner_reads_one_value_as_it_reads_a_column_of_it(cleaner, cell):
    reasons = Reasons(pd.RangeIndex(1))
    column = cleaner.clean(pd.Series([cell], dtype=values.STRING), "X", reasons.about("X"), CONTEXT)
    value, messages = cleaner.clean_value(cell, "X", CONTEXT)
    expected = pa.Table.from_pandas(pd.DataFrame({"v": column}), preserve_index=False).column("v").to_pylist()[0]
    assert (value, type(value)) == (expected, type(expected))
    assert messages == [message for added in reasons.messages for message in added]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a@x.org", "b@x.org", "c@x.org"]), *[st.one_of(st.none(), st.text(max_size=3))] * 2),
        min_size=1,
        max_size=8,
    )
)
def test_rows_in_memory_merge_by_identity_as_a_frame_does(cells):
    frame = pd.DataFrame(
        {name: pd.array([row[i] for row in cells], dtype=values.STRING) for i, name in enumerate(["email", "a", "b"])},
        index=pd.Index(range(1, len(cells) + 1), name="line"),
    )
    in_memory = merge_duplicate_rows(_frame_rows(frame), "email")
    assert in_memory == _frame_rows(merge_duplicates(frame, "email"))
