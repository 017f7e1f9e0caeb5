"""The import engine (imports/reading.py, values.py, rows.py, pipeline.py) with the lead and agent schemas, file by
file and value by value, without a database."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.importing import AGENT_SCHEMA
from conftest import FROZEN_AT
from core.normalize import name_key
from imports import pipeline, reading, rows, values
from leads.importing import LEAD_SCHEMA, STATUS_SYNONYMS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NOW = FROZEN_AT
LEAD_HEADER = "name,email,created_at"
SCHEMAS = {"lead": LEAD_SCHEMA, "agent": AGENT_SCHEMA}
# Each field's headers, compared as the reader compares them.
LEAD_HEADERS = {f.name: tuple(reading.header_key(h) for h in f.headers) for f in LEAD_SCHEMA.fields}
AGENT_HEADERS = {f.name: tuple(reading.header_key(h) for h in f.headers) for f in AGENT_SCHEMA.fields}


def write(tmp_path, text: str, name="leads.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def clean(path, kind="lead", **kwargs):
    """All chunks of a file, concatenated: (source, valid rows, rejected rows, blank lines skipped)."""
    source, chunks = pipeline.read_clean(path, SCHEMAS[kind], now=NOW, **kwargs)
    chunks = list(chunks)
    valid = pd.concat([c.valid for c in chunks])
    rejects = pd.concat([c.rejects for c in chunks])
    return source, valid, rejects, sum(c.skipped_blank for c in chunks)


def clean_leads_text(tmp_path, body: str, header=LEAD_HEADER, **kwargs):
    return clean(write(tmp_path, header + "\n" + body + "\n"), **kwargs)


# Reading the file -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field_name", sorted(LEAD_HEADERS))
def test_every_lead_header_alias_maps_to_its_field(tmp_path, field_name):
    for alias in LEAD_HEADERS[field_name]:
        for spelling in (alias, alias.upper().replace(" ", "_"), f"  {alias.title().replace(' ', '-')} "):
            others = [
                h for h in ("full name", "email", "created") if reading.header_key(h) not in LEAD_HEADERS[field_name]
            ]
            path = write(tmp_path, ",".join([spelling, *others]) + "\n")
            source = reading.open_source(path, LEAD_SCHEMA)
            assert source.columns[field_name] == spelling, (alias, spelling)


@pytest.mark.parametrize("field_name", sorted(AGENT_HEADERS))
def test_every_agent_header_alias_maps_to_its_field(tmp_path, field_name):
    for alias in AGENT_HEADERS[field_name]:
        headers = [alias] if field_name == "email" else [alias, "Email Address"]
        source = reading.open_source(write(tmp_path, ",".join(headers) + "\n"), AGENT_SCHEMA)
        assert source.columns[field_name] == alias


def test_first_and_last_name_are_joined_by_a_space(tmp_path):
    _, valid, _, _ = clean_leads_text(
        tmp_path,
        "Ada,Lovelace,ada@example.org,2026-01-02\nGrace,,grace@example.org,2026-01-02",
        header="First Name,Last_Name,Email,Created",
    )
    assert valid["name"].tolist() == ["Ada Lovelace", "Grace"]


def test_unknown_columns_are_ignored_and_listed(tmp_path):
    source, _, _, _ = clean_leads_text(
        tmp_path, "A,a@example.org,2026-01-02,x", header="name,email,created,Owner Notes"
    )
    assert source.ignored_columns == ["Owner Notes"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_each_encoding_is_detected(tmp_path, encoding):
    path = write(tmp_path, "Name,Email,Created\nJosé Müller,jose@example.org,2026-01-02\n", encoding=encoding)
    assert reading.detect_encoding(path) == encoding
    _, valid, _, _ = clean(path)
    assert valid["name"].tolist() == ["José Müller"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(tmp_path, delimiter):
    text = delimiter.join(["Name", "Email", "Company", "Created"]) + "\n"
    text += delimiter.join(["Ada", "ada@example.org", '"Acme, Inc; Ltd | x"', "2026-01-02"]) + "\n"
    source, valid, _, _ = clean(write(tmp_path, text))
    assert source.delimiter == delimiter
    assert valid["company"].tolist() == ["Acme, Inc; Ltd | x"]


def test_quoted_fields_may_hold_delimiters_and_newlines_and_lines_stay_right(tmp_path):
    text = 'name,email,company,created\n"Ada, Countess",ada@example.org,"Line one\nline two",2026-01-02\n'
    text += "Bob,bad-address,Acme,2026-01-02\n"
    _, valid, rejects, _ = clean(write(tmp_path, text))
    assert valid["name"].tolist() == ["Ada, Countess"]
    assert valid["company"].tolist() == ["Line one\nline two"]
    assert rejects.index.tolist() == [4]  # the quoted newline made the first record span lines 2-3


def test_blank_lines_and_lines_of_only_delimiters_are_skipped_and_not_counted(tmp_path):
    _, valid, rejects, blank = clean_leads_text(
        tmp_path, "A,a@example.org,2026-01-02\n\n,,\n  , ,\nB,b@example.org,2026-01-02"
    )
    assert len(valid) == 2 and len(rejects) == 0 and blank == 3
    assert valid.index.tolist() == [2, 6]


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(reading.RefusedFile, match="no such file"):
        reading.open_source(tmp_path / "nope.csv", LEAD_SCHEMA)


@pytest.mark.parametrize("content", [b"", b"   \n\n"])
def test_an_empty_file_is_refused(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(reading.RefusedFile, match="empty"):
        reading.open_source(path, LEAD_SCHEMA)


def test_an_xlsx_renamed_csv_is_refused(tmp_path):
    path = tmp_path / "leads.csv"
    pd.DataFrame({"name": ["A"], "email": ["a@example.org"], "created": ["2026-01-01"]}).to_excel(tmp_path / "x.xlsx")
    path.write_bytes((tmp_path / "x.xlsx").read_bytes())
    with pytest.raises(reading.RefusedFile, match="xlsx"):
        reading.open_source(path, LEAD_SCHEMA)


def test_a_binary_file_is_refused(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"name,email\x00\x01\x02\xff\xfe" * 20)
    with pytest.raises(reading.RefusedFile, match="not a text file"):
        reading.open_source(path, LEAD_SCHEMA)


@pytest.mark.parametrize(
    ("header", "kind", "missing"),
    [
        ("Name,Created", "lead", "email"),
        ("Agent Name,Enabled", "agent", "email"),
    ],
)
def test_a_missing_required_column_is_refused_naming_it_and_the_headers_found(tmp_path, header, kind, missing):
    with pytest.raises(reading.RefusedFile) as error:
        reading.open_source(write(tmp_path, header + "\nx,y\n"), SCHEMAS[kind])
    message = str(error.value)
    assert f"missing required column(s): {missing}" in message
    assert f"found headers: {header.replace(',', ', ')}" in message
    assert "\n" not in message


# Cleaning values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["", "NULL", "null", "N/A", "n/a", "NA", "nan", "NaN", "None", "-", "  -  "])
def test_missing_markers_are_missing(tmp_path, marker):
    _, valid, _, _ = clean_leads_text(
        tmp_path, f"Ada,ada@example.org,{marker},2026-01-02", header="name,email,phone,created"
    )
    assert valid["phone"].isna().all()


def test_cells_are_trimmed_and_runs_of_spaces_in_names_collapse(tmp_path):
    _, valid, _, _ = clean_leads_text(tmp_path, "  Ada    King  ,  ADA@Example.ORG ,2026-01-02")
    assert valid["name"].tolist() == ["Ada King"]
    assert valid["email"].tolist() == ["ada@example.org"]


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("", "email: missing (every row needs an email)"),
        ("NULL", "email: missing (every row needs an email)"),
        ("ada.example.org", "email: 'ada.example.org' is not a valid email address"),
        ("ada@example", "email: 'ada@example' is not a valid email address"),
        ("ada@@example.org", "email: 'ada@@example.org' is not a valid email address"),
        ("ada lovelace@example.org", "email: 'ada lovelace@example.org' is not a valid email address"),
    ],
)
def test_rows_without_a_plausible_email_are_rejected_naming_the_value(tmp_path, email, reason):
    _, valid, rejects, _ = clean_leads_text(tmp_path, f"Ada,{email},2026-01-02")
    assert valid.empty
    assert rejects["reason"].tolist() == [reason]
    assert rejects["email"].tolist() == [email]  # the original cell is kept


def test_a_lead_without_a_name_or_date_is_left_for_the_loader_to_check_against_the_database(tmp_path):
    _, chunks = pipeline.read_clean(
        write(
            tmp_path,
            "name,email,created_at\nNULL,ada@example.org,2026-01-02\nBo,bo@example.org,\n"
            "Cy,cy@example.org,2026-01-02\n",
        ),
        LEAD_SCHEMA,
        now=NOW,
    )
    (chunk,) = chunks
    assert chunk.rejects.empty and chunk.valid.index.tolist() == [2, 3, 4]
    assert chunk.valid["name"].isna().tolist() == [True, False, False]
    assert chunk.valid["name_key"].isna().tolist() == [True, False, False]  # an update never blanks the key
    assert chunk.raw_incomplete.index.tolist() == [2, 3]


def test_a_file_of_emails_and_a_few_columns_is_read_for_an_update(tmp_path):
    _, valid, rejects, _ = clean(write(tmp_path, "Email,Lead Status\nada@example.org,Won\n"))
    assert rejects.empty
    assert valid[["email", "status"]].values.tolist() == [["ada@example.org", "converted"]]
    assert valid["name"].isna().all() and valid["created_at"].isna().all()


def test_every_broken_rule_of_a_row_is_named(tmp_path):
    _, _, rejects, _ = clean_leads_text(tmp_path, ",nope,soon", header="name,email,created")
    assert rejects["reason"].iloc[0] == (
        "email: 'nope' is not a valid email address; created: 'soon' is not a readable date"
    )


def test_values_longer_than_the_column_are_rejected(tmp_path):
    _, _, rejects, _ = clean_leads_text(
        tmp_path, f"Ada,ada@example.org,{'1' * 51},2026-01-02", header="name,email,phone,created"
    )
    assert rejects["reason"].tolist() == ["phone: longer than 50 characters"]


@pytest.mark.parametrize(
    ("word", "status"),
    [(word, status) for status, words in STATUS_SYNONYMS.items() for word in words],
)
def test_each_status_synonym_maps_to_its_status(tmp_path, word, status):
    _, valid, _, _ = clean_leads_text(
        tmp_path,
        f"Ada,ada@example.org,{word.upper()},2026-01-02\nBo,bo@example.org, {word.title()} ,2026-01-02",
        header="name,email,status,created",
    )
    assert valid["status"].tolist() == [status, status]


def test_a_missing_status_stays_missing_for_the_loader_to_default(tmp_path):
    _, valid, _, _ = clean_leads_text(
        tmp_path, "Ada,ada@example.org,N/A,2026-01-02", header="name,email,status,created"
    )
    assert valid["status"].isna().all()


def test_an_unknown_status_is_rejected_naming_the_value(tmp_path):
    _, _, rejects, _ = clean_leads_text(
        tmp_path, "Ada,ada@example.org,Bad Timing,2026-01-02", header="name,email,Lead Status,created"
    )
    assert rejects["reason"].tolist() == [
        "Lead Status: 'Bad Timing' is not a known status (new, contacted, qualified, converted, lost)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20 09:15", datetime(2026, 11, 20, 9, 15, tzinfo=UTC)),
        ("2026-11-20 09:15:07", datetime(2026, 11, 20, 9, 15, 7, tzinfo=UTC)),
        ("2026-11-20T09:15:07", datetime(2026, 11, 20, 9, 15, 7, tzinfo=UTC)),
        ("2026-11-20T09:15:07.250", datetime(2026, 11, 20, 9, 15, 7, 250000, tzinfo=UTC)),
        ("2026-11-20T09:15:07.123456789", datetime(2026, 11, 20, 9, 15, 7, 123456, tzinfo=UTC)),
        ("2026-11-20T09:15:07Z", datetime(2026, 11, 20, 9, 15, 7, tzinfo=UTC)),
        ("2026-11-20T09:15+02:00", datetime(2026, 11, 20, 7, 15, tzinfo=UTC)),
        ("2026-11-20 09:15:07-05:30", datetime(2026, 11, 20, 14, 45, 7, tzinfo=UTC)),
        ("11/03/2026", datetime(2026, 11, 3, tzinfo=UTC)),
        ("1/3/2026 14:05", datetime(2026, 1, 3, 14, 5, tzinfo=UTC)),
        ("11/03/2026 02:05:09 PM", datetime(2026, 11, 3, 14, 5, 9, tzinfo=UTC)),
        ("11/03/2026 12:05 am", datetime(2026, 11, 3, 0, 5, tzinfo=UTC)),
        ("03.11.2026", datetime(2026, 11, 3, tzinfo=UTC)),
        ("03.11.2026 08:30", datetime(2026, 11, 3, 8, 30, tzinfo=UTC)),
    ],
)
def test_each_date_format_is_read(text, expected):
    parsed = values.parse_datetimes(pd.Series([text]), dayfirst=False, time_zone="UTC")
    assert parsed.iloc[0].to_pydatetime() == expected


def _two(n: int) -> st.SearchStrategy[str]:
    """A number as a file may write it: one or two digits, or zero-padded."""
    return st.sampled_from([str(n), f"{n:02d}"]) if n < 100 else st.just(str(n))


@st.composite
def date_texts(draw) -> str:
    """Date cells near and around every readable shape: fields in and out of range, every separator, zone and
    meridiem, and now and then a stray character."""
    year = draw(st.sampled_from([1899, 1900, 1969, 1970, 2024, 2026, 2099]))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
    y, m, d, hh, mm, ss = (
        str(year),
        draw(_two(month)),
        draw(_two(day)),
        draw(_two(hour)),
        f"{minute:02d}",
        f"{second:02d}",
    )
    sep = draw(st.sampled_from(["T", " ", "  ", "t", "\t"]))
    time_part = draw(
        st.sampled_from(
            ["", f"{sep}{hh}:{mm}", f"{sep}{hh}:{mm}:{ss}", f"{sep}{hh}:{mm}:{ss}.123", f"{sep}{hh}:{mm}:{ss}.1234567"]
        )
    )
    zone = draw(st.sampled_from(["", "Z", "z", " Z", "+02:00", "-0530", "+14:00", "+25:00", "-12", "+00:99"]))
    meridiem = draw(st.sampled_from(["", " AM", " pm", "PM", "  am"]))
    shape = draw(st.sampled_from(["iso", "slash", "dot"]))
    if shape == "iso":
        text = f"{y}-{m}-{d}{time_part}{zone}"
    elif shape == "slash":
        text = f"{m}/{d}/{y}{time_part.replace('T', ' ') if draw(st.booleans()) else time_part}{meridiem}"
    else:
        text = f"{d}.{m}.{y}{time_part}"
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["x", "٣", "\u00a0", "-", ":"])) + text[at:]
    return text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(date_texts(), min_size=1, max_size=12),
    st.booleans(),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
)
def test_the_exact_formats_read_every_date_as_the_patterns_do(texts, dayfirst, time_zone):
    cells = pd.Series(texts, dtype=values.STRING)
    fast = values.parse_datetimes(cells, dayfirst=dayfirst, time_zone=time_zone)
    patterns = values.parse_datetimes(cells, dayfirst=dayfirst, time_zone=time_zone, fast=False)
    assert fast.astype(str).tolist() == patterns.astype(str).tolist()  # as text: NaT is then equal to NaT


def test_dayfirst_reads_slashed_dates_as_day_month_year():
    parsed = values.parse_datetimes(pd.Series(["11/03/2026", "25/12/2025"]), dayfirst=True, time_zone="UTC")
    assert [p.to_pydatetime() for p in parsed] == [
        datetime(2026, 3, 11, tzinfo=UTC),
        datetime(2025, 12, 25, tzinfo=UTC),
    ]


def test_values_without_a_zone_are_in_the_configured_time_zone():
    parsed = values.parse_datetimes(
        pd.Series(["2026-07-01 12:00", "2026-01-15", "2026-07-01T12:00:00Z"]), dayfirst=False, time_zone="Europe/Berlin"
    )
    assert [p.to_pydatetime() for p in parsed] == [
        datetime(2026, 7, 1, 10, 0, tzinfo=UTC),  # CEST, +02:00
        datetime(2026, 1, 14, 23, 0, tzinfo=UTC),  # CET, +01:00
        datetime(2026, 7, 1, 12, 0, tzinfo=UTC),  # an explicit zone wins
    ]


@pytest.mark.parametrize(
    "text",
    ["not a date", "31/31/2026", "2026-02-30", "yesterday", "2026-11-20 25:00", "13/13/2026 1:00 PM", "20261120"],
)
def test_unreadable_dates_are_rejected_naming_the_value(tmp_path, text):
    _, _, rejects, _ = clean_leads_text(tmp_path, f"Ada,ada@example.org,{text}", header="name,email,Create Date")
    assert rejects["reason"].tolist() == [f"Create Date: '{text}' is not a readable date"]


def test_dates_in_the_future_are_rejected(tmp_path):
    _, valid, rejects, _ = clean_leads_text(
        tmp_path, "A,a@example.org,2026-11-24 12:00\nB,b@example.org,2026-11-24 12:01"
    )
    assert valid["email"].tolist() == ["a@example.org"]
    assert rejects["reason"].tolist() == ["created_at: '2026-11-24 12:01' is in the future"]


@pytest.mark.parametrize(
    ("word", "active"),
    [(w, True) for w in ["yes", "TRUE", "y", "1", "Active", "enabled"]]
    + [(w, False) for w in ["No", "false", "N", "0", "inactive", "Disabled"]]
    + [("", None)],
)
def test_agent_active_words(tmp_path, word, active):
    _, valid, _, _ = clean(write(tmp_path, f"name,email,active\nA,a@example.org,{word}\n"), kind="agent")
    value = valid["is_active"].iloc[0]
    assert (None if pd.isna(value) else bool(value)) == active


@pytest.mark.parametrize(("cell", "capacity"), [("0", 0), ("12", 12), ("12.0", 12), ("", None), ("N/A", None)])
def test_agent_capacity_is_a_whole_number_or_missing(tmp_path, cell, capacity):
    _, valid, _, _ = clean(write(tmp_path, f"name,email,capacity\nA,a@example.org,{cell}\n"), kind="agent")
    value = valid["capacity"].iloc[0]
    assert (None if pd.isna(value) else int(value)) == capacity


@pytest.mark.parametrize(
    ("column", "cell", "reason"),
    [
        ("active", "maybe", "active: 'maybe' is not yes/no, true/false, y/n, 1/0, active/inactive, enabled/disabled"),
        ("max leads", "-5", "max leads: '-5' is not a whole number 0 or more"),
        ("max leads", "2.5", "max leads: '2.5' is not a whole number 0 or more"),
        ("max leads", "lots", "max leads: 'lots' is not a whole number 0 or more"),
        ("max leads", "99999999999", "max leads: '99999999999' is not a whole number 0 or more"),
    ],
)
def test_bad_agent_values_are_rejected_naming_column_and_value(tmp_path, column, cell, reason):
    _, valid, rejects, _ = clean(write(tmp_path, f"name,email,{column}\nA,a@example.org,{cell}\n"), kind="agent")
    assert valid.empty
    assert rejects["reason"].tolist() == [reason]


def test_duplicates_merge_with_later_non_empty_values_winning(tmp_path):
    _, valid, _, _ = clean_leads_text(
        tmp_path,
        "Mary Jackson,mary@example.org,(757) 555-0101,Langley,New,2026-11-20\n"
        "Bo,bo@example.org,,,,2026-11-20\n"
        "Mary J.,MARY@example.org,,NASA Langley,N/A,2026-11-21\n",
        header="name,email,phone,company,status,created",
    )
    merged = rows.merge_duplicates(valid, "email")
    assert merged.index.tolist() == [2, 3]
    mary = merged.iloc[0]
    assert (mary["name"], mary["phone"], mary["company"], mary["status"]) == (
        "Mary J.",
        "(757) 555-0101",
        "NASA Langley",
        "new",
    )
    assert mary["created_at"].day == 21


def test_the_sample_crm_export_is_cleaned_as_documented():
    source, valid, rejects, blank = clean(FIXTURES / "leads_crm_export.csv")
    assert source.encoding == "utf-8-sig" and source.ignored_columns == ["Owner Notes"]
    assert blank == 1
    assert rejects.index.tolist() == [5, 10, 11, 12]
    assert rows.merge_duplicates(valid, "email")["email"].tolist() == [
        "mary.jackson@example.org",
        "dorothy.vaughan@example.org",
        "christine@example.org",
        "hedy@example.org",
        "rozsa@example.hu",
    ]


# name_key, vectorized -------------------------------------------------------------------------------------

NAMES = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from([*" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\xa0\u2003éøłđðþæœıÅß", "ﬁ", "Ǆ", "ẞ"]),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=20))
def test_vectorized_name_keys_agree_with_name_key(names):
    keys = values.name_keys(pd.Series(names, dtype=values.STRING))
    assert keys.tolist() == [name_key(n)[:200] for n in names]


def test_name_keys_fold_accents_and_letters_like_name_key():
    keys = values.name_keys(pd.Series(["  José   MÜLLER ", "Søren Łukasz", "Ada"], dtype=values.STRING))
    assert keys.tolist() == ["jose muller", "soren lukasz", "ada"]


def test_excel_unicode_text_utf16_with_tabs_is_read(tmp_path):
    path = write(tmp_path, "Name\tEmail\tCreated\nJosé\tjose@example.org\t2026-01-02\n", encoding="utf-16")
    source, valid, _, _ = clean(path)
    assert (source.encoding, source.delimiter) == ("utf-16", "\t")
    assert valid["name"].tolist() == ["José"]


def test_a_row_with_an_unquoted_comma_is_rejected_on_its_own_keeping_all_its_cells(tmp_path):
    _, valid, rejects, _ = clean_leads_text(
        tmp_path,
        "Ada,ada@example.org,Analytical,2026-01-02\nBo,bo@example.org,Acme, Inc.,2026-01-03\n"
        "Cy,cy@example.org,Cyberdyne,2026-01-04",
        header="name,email,company,created",
    )
    assert valid["email"].tolist() == ["ada@example.org", "cy@example.org"]
    assert rejects.index.tolist() == [3]
    bo = rejects.loc[3]
    # The cells that fit stay under the file's columns; the one beyond the header is kept in `extra_cells`.
    assert (bo["name"], bo["email"], bo["company"], bo["created"]) == ("Bo", "bo@example.org", "Acme", " Inc.")
    assert bo["extra_cells"] == "2026-01-03"
    assert bo["reason"] == (
        "line has 5 cells, the header has 4 (an unquoted \",\" inside a value?); created: 'Inc.' is not a readable date"
    )


def test_a_longer_row_in_a_semicolon_file_is_rejected_naming_the_semicolon(tmp_path):
    path = write(tmp_path, "Name;Email;Created\nAda;ada@example.org;2026-01-02\nBo;bo@example.org;2026-01-02;x;y\n")
    source, valid, rejects, _ = clean(path)
    assert source.delimiter == ";"
    assert valid["email"].tolist() == ["ada@example.org"]
    assert rejects["reason"].tolist() == ['line has 5 cells, the header has 3 (an unquoted ";" inside a value?)']
    assert rejects["extra_cells"].tolist() == ["x;y"]


def test_a_row_longer_than_the_fast_reader_takes_is_rejected_and_the_rest_of_the_file_is_read(tmp_path):
    width = 3 + reading.SURPLUS_CELLS + 4
    cells = ["Bo", "bo@example.org", "2026-01-02", *[f"x{i}" for i in range(width - 4)], '"a; b, ""c"""']
    text = (
        "Ada,ada@example.org,2026-01-02\n" + ",".join(cells) + '\n"Cy\nCyan",cy@example.org,2026-01-02\n\n'
        "Di,di@example.org,2026-01-02,late,extra\nEd,ed@example.org,2026-01-02"
    )
    _, valid, rejects, blank = clean_leads_text(tmp_path, text, chunk_rows=1)
    assert valid.index.tolist() == [2, 4, 8] and valid["name"].tolist() == ["Ada", "Cy Cyan", "Ed"]
    assert blank == 1
    assert rejects.index.tolist() == [3, 7]
    assert rejects["reason"].str.split(" [(]", regex=True).str[0].tolist() == [
        f"line has {width} cells, the header has 3",
        "line has 5 cells, the header has 3",
    ]
    assert rejects.loc[3, "extra_cells"] == ",".join(cells[3:-1]) + ',"a; b, ""c"""'


def test_the_fast_reader_and_the_csv_module_read_the_same_rows_and_lines(tmp_path):
    text = (
        'name,email,created\n"A\nB",a@example.org,2026-01-02\n\nC,c@example.org,2026-01-02,more\n'
        ' , , \n"D ""x""",d@example.org,"2026-01-02\n"\nE,e@example.org\n'
    )
    source = reading.open_source(write(tmp_path, text), LEAD_SCHEMA)
    fast = pd.concat(reading.iter_raw_chunks(source, chunk_rows=2))
    by_csv = pd.concat(reading._iter_raw_chunks_by_csv(source, chunk_rows=2, skip=1))
    extra = reading.EXTRA_COLUMN
    pd.testing.assert_frame_equal(fast.drop(columns=[extra]), by_csv.drop(columns=[extra]))
    assert fast[extra].dropna().to_dict() == by_csv[extra].dropna().to_dict() == {5: ["more"]}
    assert fast.index.tolist() == [2, 4, 5, 6, 7, 9]


def test_blank_cells_after_the_last_column_hold_nothing_and_are_not_a_longer_row(tmp_path):
    _, valid, rejects, _ = clean_leads_text(
        tmp_path, "Ada,ada@example.org,2026-01-02,\nBo,bo@example.org,2026-01-02, ,"
    )
    assert valid["name"].tolist() == ["Ada", "Bo"] and rejects.empty


def test_a_longer_first_row_does_not_shift_the_other_rows(tmp_path):
    # Read with the header as column names, pandas would take a longer first row's first cell as the index.
    _, valid, rejects, _ = clean_leads_text(
        tmp_path, "Acme, Inc.,a@example.org,2026-01-02\nBo,bo@example.org,2026-01-02"
    )
    assert rejects.index.tolist() == [2]
    assert (valid.index.tolist(), valid["name"].tolist(), valid["email"].tolist()) == ([3], ["Bo"], ["bo@example.org"])


def test_a_longer_row_of_agents_is_rejected_too(tmp_path):
    path = write(tmp_path, "name\temail\tactive\nAda\tada@example.org\tyes\tno\nBo\tbo@example.org\tno\n")
    _, valid, rejects, _ = clean(path, kind="agent")
    assert valid["email"].tolist() == ["bo@example.org"]
    assert rejects["reason"].tolist() == ["line has 4 cells, the header has 3 (an unquoted tab inside a value?)"]
    assert rejects["extra_cells"].tolist() == ["no"]


def test_cleaning_in_a_separate_process_gives_the_same_rows_and_rejects():
    expected = clean(FIXTURES / "leads.csv")
    _, chunks = pipeline.read_clean(FIXTURES / "leads.csv", LEAD_SCHEMA, now=NOW, chunk_rows=100, in_process=True)
    chunks = list(chunks)
    pd.testing.assert_frame_equal(pd.concat([c.valid for c in chunks]), expected[1])
    pd.testing.assert_frame_equal(pd.concat([c.rejects for c in chunks]), expected[2])


def test_a_file_refused_while_cleaning_in_a_separate_process_is_refused_here(tmp_path):
    path = write(tmp_path, 'name,email,created\nA,a@example.org,2026-01-02\n"B,b@example.org,2026-01-02\n')
    _, chunks = pipeline.read_clean(path, LEAD_SCHEMA, now=NOW, in_process=True)
    with pytest.raises(reading.RefusedFile, match="line 3: a quote"):
        list(chunks)


def test_a_quote_left_open_after_a_long_row_refuses_the_file_like_the_fast_reader_does(tmp_path):
    long_row = "Bo,bo@example.org,2026-01-02" + ",x" * (reading.SURPLUS_CELLS + 2)
    path = write(tmp_path, f'name,email,created\nA,a@example.org,2026-01-02\n{long_row}\n"C,c@example.org\nD,d\n')
    with pytest.raises(reading.RefusedFile, match=r'line 4: a quote [(]"[)] is opened and never closed'):
        clean(path)
    with pytest.raises(reading.RefusedFile, match=r'line 3: a quote [(]"[)] is opened and never closed'):
        clean(write(tmp_path, 'name,email,created\nA,a@example.org,2026-01-02\n"C,c@example.org\nD,d\n'))


def test_several_longer_rows_in_one_batch_keep_their_own_extra_cells(tmp_path):
    _, _, rejects, _ = clean_leads_text(
        tmp_path, "A,a@example.org,2026-01-02,p,q\nB,b@example.org,2026-01-02,r,s\nC,c@example.org,2026-01-02,t"
    )
    assert rejects["extra_cells"].tolist() == ["p,q", "r,s", "t"]


def test_longer_rows_are_rejected_the_same_when_cleaned_in_a_separate_process(tmp_path):
    long_row = "Di,di@example.org,2026-01-02" + ",x" * (reading.SURPLUS_CELLS + 3)
    path = write(
        tmp_path,
        "name,email,created\nA,a@example.org,2026-01-02\nB,b@example.org,2026-01-02,p\n"
        f"C,c@example.org,2026-01-02\n{long_row}\nE,e@example.org,2026-01-02\n",
    )
    expected = clean(path, chunk_rows=2)
    _, chunks = pipeline.read_clean(path, LEAD_SCHEMA, now=NOW, chunk_rows=2, in_process=True)
    chunks = list(chunks)
    pd.testing.assert_frame_equal(pd.concat([c.valid for c in chunks]), expected[1])
    pd.testing.assert_frame_equal(pd.concat([c.rejects for c in chunks]), expected[2])
    assert expected[2].index.tolist() == [3, 5] and expected[1].index.tolist() == [2, 4, 6]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0001-01-01T00:00:00+14:00", "is before 1900-01-01"),
        ("1899-12-31", "is before 1900-01-01"),
        ("2026-01-01T00:00:00+25:00", "has a time zone offset beyond ±14:00"),
        ("2026-01-01T00:00+99:99", "has a time zone offset beyond ±14:00"),
        ("2026-01-01 10:00:00-1430", "has a time zone offset beyond ±14:00"),
    ],
)
def test_dates_before_1900_and_offsets_beyond_14_hours_are_rejected_and_the_rest_is_read(tmp_path, text, reason):
    _, valid, rejects, _ = clean_leads_text(
        tmp_path,
        f"Ada,ada@example.org,{text}\nBo,bo@example.org,1900-01-01T00:00:00Z\n"
        "Cy,cy@example.org,2026-01-01T00:00:00+14:00\nDi,di@example.org,2026-01-01T00:00:00-12:00",
        header="name,email,Created",
    )
    assert rejects["reason"].tolist() == [f"Created: '{text}' {reason}"]
    assert valid["created_at"].tolist() == [
        pd.Timestamp("1900-01-01", tz="UTC"),
        pd.Timestamp("2025-12-31T10:00", tz="UTC"),
        pd.Timestamp("2026-01-01T12:00", tz="UTC"),
    ]


def test_a_nul_byte_in_an_agent_cell_rejects_the_row_naming_the_column(tmp_path):
    head = "name,email,Notes\n" + "".join(f"A{i},a{i}@example.org,x\n" for i in range(4000))
    _, valid, rejects, _ = clean(
        write(tmp_path, head + "Bo\x00,bo@example.org,y\nCy,cy@example.org,z\x00\n"), kind="agent"
    )
    assert len(valid) == 4000
    assert rejects["reason"].tolist() == [
        "name: contains a NUL byte (binary data)",
        "Notes: contains a NUL byte (binary data)",
    ]


# Limits ---------------------------------------------------------------------------------------------------


def test_a_header_of_50k_columns_is_refused_naming_the_line_and_no_header(tmp_path):
    headers = ["name", "email", "created"] + [f"extra column {i}" for i in range(50_000)]
    path = write(tmp_path, ",".join(headers) + "\nAda,ada@example.org,2026-01-02\n")
    with pytest.raises(reading.RefusedFile) as error:
        reading.open_source(path, LEAD_SCHEMA)
    message = str(error.value)
    assert message == f"{path}: line 1: the header has 50,003 columns, more than the 1,000 an import reads."


def test_a_header_at_the_column_limit_is_read_and_a_missing_email_names_only_a_few_headers(tmp_path):
    headers = ["name", "email", "created"] + [f"x{i}" for i in range(reading.MAX_COLUMNS - 3)]
    source = reading.open_source(write(tmp_path, ",".join(headers) + "\n"), LEAD_SCHEMA)
    assert len(source.headers) == reading.MAX_COLUMNS and len(source.ignored_columns) == reading.MAX_COLUMNS - 3
    with pytest.raises(reading.RefusedFile) as error:
        reading.open_source(write(tmp_path, ",".join(headers[3:]) + "\n"), LEAD_SCHEMA)
    assert str(error.value).endswith("(found headers: x0, x1, x2, x3, x4 and 992 more).")


@pytest.mark.parametrize("line", [1, 4])
def test_a_line_longer_than_1_mb_is_refused_before_the_rows_are_read_naming_it(tmp_path, line):
    long = "x" * (reading.MAX_LINE_BYTES + 1)
    lines = ["name,email,created", "A,a@example.org,2026-01-02", "B,b@example.org,2026-01-02", "C,c@example.org,2026"]
    lines[line - 1] += long
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(reading.RefusedFile) as error:
        reading.open_source(path, LEAD_SCHEMA)
    assert str(error.value) == (
        f"{path}: line {line} is longer than 1 MB, the most a line may hold (a file without "
        "line breaks, or not a CSV file?)."
    )
    ok = "y" * (reading.MAX_LINE_BYTES - 40)
    _, valid, _, _ = clean(write(tmp_path, f"name,email,created,notes\nA,a@example.org,2026-01-02,{ok}\n"))
    assert len(valid) == 1


# Messages in the product's words -------------------------------------------------------------------------


def test_an_unclosed_quote_is_refused_naming_its_file_line_after_quoted_line_breaks(tmp_path):
    path = write(
        tmp_path,
        'name,email,created\n"A\nB",a@example.org,2026-01-02\n"C\n\nD",c@example.org,2026-01-02\n'
        'E,e@example.org,2026-01-02\n"F,f@example.org,2026-01-02\nG,g@example.org,2026-01-02\n',
    )
    for chunk_rows in (1, 100):
        with pytest.raises(reading.RefusedFile) as error:
            clean(path, chunk_rows=chunk_rows)
        assert str(error.value) == f'{path}: line 8: a quote (") is opened and never closed before the end of the file.'


def test_empty_headers_are_named_by_their_position(tmp_path):
    source, valid, _, _ = clean(write(tmp_path, ",name,email,,created\nx,Ada,ada@example.org,y,2026-01-02\n"))
    assert source.ignored_columns == ["column 1 (no header)", "column 4 (no header)"]
    assert len(valid) == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name,email,created,E-mail", "columns 2 ('email') and 4 ('E-mail') are both the email column: keep one."),
        (
            "First Name,email,first_name,created",
            "columns 1 ('First Name') and 3 ('first_name') are both the first name column: keep one.",
        ),
        ("name,email,created,email", "columns 2 ('email') and 4 ('email') are both the email column: keep one."),
    ],
)
def test_two_columns_for_one_field_refuse_the_file_naming_both(tmp_path, header, message):
    path = write(tmp_path, header + "\nAda,ada@example.org,2026-01-02,bo@example.org\n")
    with pytest.raises(reading.RefusedFile) as error:
        reading.open_source(path, LEAD_SCHEMA)
    assert str(error.value) == f"{path}: line 1: {message}"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_detected_and_read(tmp_path, encoding):
    path = write(tmp_path, "Name\tEmail\tCreated\nJosé\tjose@example.org\t2026-01-02\n", encoding=encoding)
    source, valid, rejects, _ = clean(path)
    assert (source.encoding, source.delimiter) == (encoding, "\t")
    assert valid["name"].tolist() == ["José"] and rejects.empty


@pytest.mark.parametrize("word", ["today", "now", " NOW "])
def test_today_and_now_in_a_date_cell_are_not_readable_dates(tmp_path, word):
    _, _, rejects, _ = clean_leads_text(tmp_path, f"Ada,ada@example.org,{word}", header="name,email,Created")
    assert rejects["reason"].tolist() == [f"Created: '{word.strip()}' is not a readable date"]


@pytest.mark.parametrize("long_row_first", [False, True])
def test_a_cell_over_1_mb_spanning_lines_is_refused_naming_the_line_it_starts_on(tmp_path, long_row_first):
    first = "A,a@example.org,2026-01-02" + (",x" * (reading.SURPLUS_CELLS + 2) if long_row_first else "")
    lines = "\n".join(["y" * 1000] * 1100)  # lines of 1 KB, a cell of 1.1 MB
    path = write(tmp_path, f'name,email,created\n{first}\n"Bo\n{lines}",b@example.org,2026-01-02\n')
    with pytest.raises(reading.RefusedFile) as error:
        clean(path)
    assert str(error.value) == (
        f"{path}: line 3: a cell holds more than 1 MB (1,048,576 characters), the most a "
        "cell may hold (a quote left open?)."
    )


NUMBER_CELLS = st.one_of(
    st.none(), st.from_regex(r"[0-9]{1,18}", fullmatch=True), st.sampled_from(["", " 7", "1e3", "-2", "x", "0.5"])
)


@given(st.lists(NUMBER_CELLS, min_size=1, max_size=20))
def test_numbers_read_digits_in_c_exactly_as_to_numeric_does(cells):
    frame = pd.DataFrame({"n": pd.Series(cells, dtype=values.STRING)})
    expected = pd.to_numeric(frame["n"], errors="coerce").to_numpy(dtype="float64", na_value=float("nan"))
    assert values._numbers(frame, "n").tolist() == pytest.approx(expected.tolist(), nan_ok=True)


OFFSET_CELLS = st.one_of(
    st.none(),
    st.from_regex(
        r"2026-0[1-9]-[0-2][0-9][T ][0-9]{2}:[0-9]{2}(:[0-9]{2})? ?([+-][0-9]{2}(:?[0-9]{2})?|Z)?", fullmatch=True
    ),
    st.text(alphabet="0123456789:+-TZ .\n", max_size=20),
)


@given(st.lists(OFFSET_CELLS, min_size=1, max_size=20))
def test_offsets_out_of_range_agree_with_reading_every_value(cells):
    column = pd.Series(cells, dtype=values.STRING)
    parts = column.str.extract(values._OFFSET)
    minutes = values._numbers(parts, "h") * 60 + values._numbers(parts, "m").fillna(0)
    every = ((minutes > values.MAX_OFFSET_MINUTES) | (values._numbers(parts, "m") > 59)).fillna(False)
    assert values.offsets_out_of_range(column).tolist() == every.astype(bool).tolist()


@given(st.lists(st.one_of(st.none(), st.sampled_from(["New", "open", " won", "x", "", "Lost"])), max_size=20))
def test_choices_are_looked_up_per_distinct_value_as_a_map_would(cells):
    column = pd.Series(cells, dtype=values.STRING, index=range(3, 3 + len(cells)))
    mapping = {"New": "new", "open": "new", "Lost": "lost"}
    assert values._mapped(column, mapping).equals(column.map(mapping).astype(values.STRING))


@given(st.lists(st.one_of(st.none(), st.sampled_from(["Ada  Lovelace", "Zoë Ó'Brien", " x ", "ÅSA", ""])), max_size=30))
def test_name_keys_of_repeated_names_are_read_once_each_and_agree_with_name_key(names):
    column = pd.Series(names, dtype=values.STRING, index=range(7, 7 + len(names)))
    keys = values.name_keys(column)
    assert keys.index.tolist() == column.index.tolist()
    assert keys.tolist() == ["" if n is None else name_key(n)[:200] for n in names]
