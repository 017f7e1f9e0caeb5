"""`manage.py import_leads` and the import_leads service, on the real database."""

import csv
import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agents.tests.factories import AgentFactory
from conftest import FROZEN_AT
from core import sql
from imports import loading
from imports.models import ImportRun
from leads.importing import import_leads
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=False)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NOW = FROZEN_AT
JSON_KEYS = {
    "rows",
    "created",
    "updated",
    "unchanged",
    "merged_duplicates",
    "rejected",
    "rejects_file",
    "ignored_columns",
    "dry_run",
    "run",
}


def run(*args) -> dict:
    """The command's --json summary, without its "run" (the id of the import run it recorded)."""
    out = StringIO()
    call_command("import_leads", *map(str, args), "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert ImportRun.objects.filter(pk=summary.pop("run")).exists()
    return summary


def write(tmp_path, text: str, name="leads.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rejects_rows(path: Path, delimiter: str = ",") -> list[dict]:
    """A rejects file: UTF-8 with a BOM, in the delimiter of the imported file."""
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def snapshot():
    return sorted(
        Lead.objects.values_list(
            "email",
            "name",
            "name_key",
            "phone",
            "company",
            "source",
            "status",
            "created_at",
            "assigned_agent_id",
            "updated_at",
        )
    )


def test_it_imports_the_crm_export_sample_as_documented(tmp_path):
    summary = run(FIXTURES / "leads_crm_export.csv", "--rejects", tmp_path / "out" / "rejects.csv")
    assert summary == {
        "rows": 10,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "merged_duplicates": 1,
        "rejected": 4,
        "rejects_file": str(tmp_path / "out" / "rejects.csv"),
        "ignored_columns": ["Owner Notes"],
        "dry_run": False,
    }
    mary = Lead.objects.get(email="mary.jackson@example.org")
    # The later duplicate row's non-empty values win; its empty cells keep the earlier ones.
    assert (mary.name, mary.phone, mary.company, mary.status) == (
        "Mary Jackson",
        "+1 757 555 0101",
        "NASA Langley",
        "new",
    )
    assert mary.created_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert Lead.objects.get(email="dorothy.vaughan@example.org").status == "contacted"
    assert Lead.objects.get(email="christine@example.org").status == "lost"
    rozsa = Lead.objects.get(email="rozsa@example.hu")
    assert (rozsa.status, rozsa.name_key, rozsa.created_at) == ("new", "rozsa peter", datetime(2026, 11, 3, tzinfo=UTC))


def test_the_rejects_file_holds_the_original_columns_line_and_reason(tmp_path):
    rejects = tmp_path / "nested" / "folder" / "rejects.csv"
    run(FIXTURES / "leads_crm_export.csv", "--rejects", rejects)
    rows = rejects_rows(rejects)
    assert list(rows[0]) == [
        "First Name",
        "Last Name",
        "Email",
        "Phone Number",
        "Company Name",
        "Lead Status",
        "Create Date",
        "Owner Notes",
        "line",
        "reason",
    ]
    assert [(r["line"], r["reason"]) for r in rows] == [
        ("5", "Email: 'annie@example' is not a valid email address"),
        ("10", "Create Date: '2031-01-01' is in the future"),
        ("11", "Create Date: 'not a date' is not a readable date"),
        ("12", "Lead Status: 'Bad Timing' is not a known status (new, contacted, qualified, converted, lost)"),
    ]
    assert rows[0]["Company Name"] == "NASA Lewis"


def test_json_output_is_exactly_one_object_with_the_contract_keys():
    out = StringIO()
    call_command("import_leads", str(FIXTURES / "leads_crm_export.csv"), "--json", stdout=out)
    assert set(json.loads(out.getvalue())) == JSON_KEYS
    assert out.getvalue().count("\n") <= 1


def test_the_readable_summary_lists_the_first_rejected_rows():
    out = StringIO()
    call_command("import_leads", str(FIXTURES / "leads_crm_export.csv"), stdout=out)
    text = out.getvalue()
    assert "10 rows: 5 created, 0 updated, 0 unchanged, 1 merged duplicates, 4 rejected." in text
    assert "Ignored columns: Owner Notes" in text
    assert "line 12: Lead Status: 'Bad Timing' is not a known status" in text


def test_a_second_import_reports_everything_unchanged_and_changes_nothing():
    run(FIXTURES / "leads_crm_export.csv")
    before = snapshot()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        summary = run(FIXTURES / "leads_crm_export.csv")
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 0, 5)
    assert snapshot() == before


def test_empty_cells_never_erase_stored_values(tmp_path):
    lead = LeadFactory(
        email="ada@example.org",
        name="Ada Lovelace",
        phone="+44 1",
        company="Analytical",
        source="Referral",
        status="qualified",
    )
    path = write(
        tmp_path,
        f"Name,Email,Phone,Company,Source,Status,Created\n,ADA@example.org,,N/A,NULL,-,{lead.created_at.isoformat()}\n",
    )
    summary = run(path)
    # An existing lead needs no name in the row: every cell is empty, so nothing changes.
    assert (summary["unchanged"], summary["rejected"]) == (1, 0)
    path = write(
        tmp_path,
        "Name,Email,Phone,Company,Source,Status,Created\nAda Lovelace,ADA@example.org,,N/A,NULL,-,"
        f"{lead.created_at.isoformat()}\n",
    )
    summary = run(path)
    assert (summary["updated"], summary["unchanged"]) == (0, 1)
    lead.refresh_from_db()
    assert (lead.phone, lead.company, lead.source, lead.status) == ("+44 1", "Analytical", "Referral", "qualified")


def test_changed_cells_update_the_lead_and_only_updated_leads_get_a_new_updated_at(tmp_path):
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        kept = LeadFactory(email="kept@example.org", name="Kept", created_at=NOW - timedelta(days=3))
        changed = LeadFactory(email="changed@example.org", name="Changed", created_at=NOW - timedelta(days=3))
    created = (NOW - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    path = write(
        tmp_path,
        "Name,Email,Phone,Status,Created\n"
        f"Kept,kept@example.org,,,{created}\n"
        f"Changed  Name,changed@example.org,555-0101,Won,{created}\n"
        f"New Lead,new@example.org,,,{created}\n",
    )
    summary = run(path)
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (1, 1, 1)
    kept.refresh_from_db()
    changed.refresh_from_db()
    new = Lead.objects.get(email="new@example.org")
    assert kept.updated_at == NOW - timedelta(days=1)
    assert (changed.name, changed.name_key, changed.phone, changed.status) == (
        "Changed Name",
        "changed name",
        "555-0101",
        "converted",
    )
    assert changed.updated_at == NOW
    assert (new.status, new.phone, new.added_at, new.updated_at) == ("new", "", NOW, NOW)


def test_the_import_never_touches_the_assignment(tmp_path):
    agent = AgentFactory()
    assigned_at = NOW - timedelta(days=2)
    lead = LeadFactory(email="ada@example.org", assigned_agent=agent, assigned_at=assigned_at)
    run(write(tmp_path, f"Name,Email,Status,Created\nAda,ada@example.org,Lost,{lead.created_at.isoformat()}\n"))
    lead.refresh_from_db()
    assert (lead.status, lead.assigned_agent, lead.assigned_at) == ("lost", agent, assigned_at)


def test_dayfirst_reads_slashed_dates_day_first(tmp_path):
    path = write(tmp_path, "Name,Email,Created\nAda,ada@example.org,03/11/2026\n")
    run(path, "--dayfirst")
    assert Lead.objects.get().created_at == datetime(2026, 11, 3, tzinfo=UTC)
    summary = run(path)
    assert summary["updated"] == 1
    assert Lead.objects.get().created_at == datetime(2026, 3, 11, tzinfo=UTC)


def test_a_dry_run_reports_the_counts_and_writes_nothing(tmp_path):
    LeadFactory(email="mary.jackson@example.org", name="Mary Jackson")
    before = snapshot()
    summary = run(FIXTURES / "leads_crm_export.csv", "--dry-run")
    assert summary["dry_run"] is True
    assert (summary["created"], summary["updated"], summary["rejected"]) == (4, 1, 4)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "xlsx"),
        (b"\x00\x01\x02binary\x00" * 10, "not a text file"),
        (
            b"Name,Phone,Created\nAda,1,2026-01-02\n",
            "missing required column(s): email (found headers: Name, Phone, Created)",
        ),
        (
            ",".join(["name", "email", "created"] + [f"c{i}" for i in range(50_000)]).encode()
            + b"\nAda,a@b.org,2026\n",
            "line 1: the header has 50,003 columns, more than the 1,000 an import reads.",
        ),
        (
            b"name,email,created,E-mail\nAda,ada@example.org,2026-01-02,x@example.org\n",
            "line 1: columns 2 ('email') and 4 ('E-mail') are both the email column: keep one.",
        ),
    ],
)
def test_a_refused_file_exits_2_with_one_line_and_writes_nothing(tmp_path, content, message):
    LeadFactory(email="ada@example.org")
    before = snapshot()
    path = tmp_path / "leads.csv"
    if content is not None:
        path.write_bytes(content)
    rejects = tmp_path / "rejects.csv"
    with pytest.raises(CommandError) as error:
        call_command("import_leads", str(path), "--rejects", str(rejects), "--json", stdout=StringIO())
    assert error.value.returncode == 2
    assert message in str(error.value) and "\n" not in str(error.value)
    assert snapshot() == before
    assert not rejects.exists()


def test_a_crash_in_the_middle_leaves_the_database_as_it_was(tmp_path):
    LeadFactory(email="mary.jackson@example.org", name="Someone Else")
    before = snapshot()
    with (
        mock.patch.object(loading.Staging, "drop", side_effect=KeyboardInterrupt),
        pytest.raises(CommandError, match=r"^Interrupted: nothing was written\.$") as error,
    ):
        run(FIXTURES / "leads_crm_export.csv")
    assert error.value.returncode == 130
    assert snapshot() == before


def test_small_batches_give_the_same_result_as_one_batch(tmp_path):
    first = run(FIXTURES / "leads.csv", "--batch-size", "7", "--dry-run")
    second = run(FIXTURES / "leads.csv")
    assert {k: v for k, v in first.items() if k != "dry_run"} == {k: v for k, v in second.items() if k != "dry_run"}


def test_the_fixture_files_load_and_a_second_run_reports_everything_unchanged(tmp_path):
    first_agents = StringIO()
    call_command(
        "import_agents", str(FIXTURES / "agents.csv"), "--rejects", str(tmp_path / "var" / "a.csv"), stdout=first_agents
    )
    first = run(FIXTURES / "leads.csv", "--rejects", tmp_path / "var" / "l.csv")
    assert first["created"] > 250 and first["rejected"] > 0
    again = run(FIXTURES / "leads.csv")
    assert again["unchanged"] == first["created"] and again["created"] == again["updated"] == 0


ROW = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Ada", "  Grace  Hopper ", "", "NULL", "José"]),
        "email": st.sampled_from(
            ["a@example.org", "B@example.org", "b@example.org ", "c@example.org", "bad", "", "N/A"]
        ),
        "status": st.sampled_from(["", "New", "won", "Bad Timing", "in progress"]),
        "created": st.sampled_from(["2026-01-02", "11/03/2026", "2031-01-01", "nope", "", "2026-11-20T10:00:00Z"]),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(ROW, st.just(None)), max_size=12))
@example(rows=[{"name": "", "email": "", "status": "", "created": ""}, None])
@example(rows=[{"name": "Ada", "email": "a@example.org", "status": "", "created": "2026-01-02"}] * 3)
def test_every_input_row_is_counted_exactly_once(tmp_path, rows):
    lines = ["Name,Email,Status,Created"]
    for row in rows:
        lines.append(",,," if row is None else ",".join(row.values()))
    path = write(tmp_path, "\n".join(lines) + "\n")
    result = import_leads(path=path, now=NOW)
    counted = result.created + result.updated + result.unchanged + result.merged_duplicates + result.rejected
    # A line of only delimiters (every cell empty) is skipped and not counted.
    assert result.rows == counted == sum(1 for row in rows if row and any(v.strip() for v in row.values()))
    assert result.rejected == len(result.rejects)


def test_the_command_exits_2_with_a_one_line_message_for_a_refused_file(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    missing = tmp_path / "missing.csv"
    process = subprocess.run(
        [sys.executable, "manage.py", "import_leads", str(missing), "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
    )
    assert process.returncode == 2
    assert process.stdout == ""
    assert process.stderr.strip() == f"CommandError: {missing}: no such file."


def test_a_file_without_rejected_rows_writes_a_rejects_file_with_only_the_header(tmp_path):
    rejects = tmp_path / "rejects.csv"
    run(write(tmp_path, "Name,Email,Created\nAda,ada@example.org,2026-01-02\n"), "--rejects", rejects)
    assert rejects.read_bytes() == b"\xef\xbb\xbfName,Email,Created,line,reason\n"


def test_rows_with_more_cells_than_the_header_are_rejected_across_batches_and_the_rest_imports(tmp_path):
    lines = ["Name,Email,Company,Created"]
    for i in range(60):
        if i == 5:
            lines.append(f'"Multi\nLine {i}",lead{i}@example.org,"Two\nlines",2026-01-02')  # spans 3 lines
        elif i == 23:
            lines.append(f"Lead {i},lead{i}@example.org,Acme, Inc.,2026-01-02")  # one cell too many
        elif i == 41:
            lines.append(f"Lead {i},lead{i}@example.org,A,B,C,D,E,2026-01-02")  # beyond the fast reader's surplus
        else:
            lines.append(f"Lead {i},lead{i}@example.org,Company {i},2026-01-02")
    path = write(tmp_path, "\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.csv"
    summary = run(path, "--batch-size", "7", "--rejects", rejects)
    assert (summary["rows"], summary["created"], summary["rejected"]) == (60, 58, 2)
    assert summary["rows"] == (
        summary["created"]
        + summary["updated"]
        + summary["unchanged"]
        + summary["merged_duplicates"]
        + summary["rejected"]
    )
    assert (
        Lead.objects.count() == 58
        and not Lead.objects.filter(email__in=["lead23@example.org", "lead41@example.org"]).exists()
    )
    assert Lead.objects.get(email="lead5@example.org").company == "Two\nlines"
    rows = rejects_rows(rejects)
    assert list(rows[0]) == ["Name", "Email", "Company", "Created", "extra_cells", "line", "reason"]
    # Data row i starts on line i + 2, plus the two line breaks inside row 5's quoted cells.
    assert [(r["line"], r["Name"], r["Company"], r["Created"], r["extra_cells"]) for r in rows] == [
        ("27", "Lead 23", "Acme", " Inc.", "2026-01-02"),
        ("45", "Lead 41", "A", "B", "C,D,E,2026-01-02"),
    ]
    assert rows[0]["reason"] == (
        "line has 5 cells, the header has 4 (an unquoted \",\" inside a value?); Created: 'Inc.' is not a readable date"
    )
    assert rows[1]["reason"].startswith('line has 8 cells, the header has 4 (an unquoted "," inside a value?)')
    text = StringIO()
    call_command("import_leads", str(path), "--batch-size", "7", "--dry-run", stdout=text)
    assert "line 27: line has 5 cells, the header has 4" in text.getvalue()


FORMULAS = (
    "name,email,phone,company,source,created\n"
    "\"=cmd|'/C calc'!A0\",bad-1,+1234567-1234567,+SUM(1),@SUM(A1),2026-01-02\n"
    'Ann,bad-2,+44 20 7946 0018,-12.5,"\tTab",2026-01-02\n'
    "Bo,bo@example.org,,Acme,=1+1,2026-01-02,=SUM(1)\n"
)


def test_the_rejects_file_neutralizes_formulas_like_the_export(tmp_path):
    rejects = tmp_path / "rejects.csv"
    summary = run(write(tmp_path, FORMULAS), "--rejects", rejects)
    assert summary["rejected"] == 3
    rows = rejects_rows(rejects)
    assert [(r["name"], r["phone"], r["company"], r["source"], r["extra_cells"]) for r in rows] == [
        ("'=cmd|'/C calc'!A0", "'+1234567-1234567", "'+SUM(1)", "'@SUM(A1)", ""),
        ("Ann", "+44 20 7946 0018", "-12.5", "'\tTab", ""),
        ("Bo", "", "Acme", "'=1+1", "'=SUM(1)"),
    ]


def test_a_fixed_rejects_file_re_imports_as_is_in_the_delimiter_of_the_upload(tmp_path):
    path = write(
        tmp_path,
        "Name;Email;Company;Created\nJosé Müller;jose@example.org;Société; Générale;2026-01-02\n"
        "Zoë Ångström;zoe(at)example.org;Fjärran AB;2026-01-03\n"
        "Ada;ada@example.org;Analytical;2026-01-04\n",
    )
    rejects = tmp_path / "rejects.csv"
    assert run(path, "--rejects", rejects)["rejected"] == 2
    rows = rejects_rows(rejects, delimiter=";")
    assert [(r["Name"], r["Company"], r["extra_cells"], r["line"]) for r in rows] == [
        ("José Müller", "Société", "2026-01-02", "2"),
        ("Zoë Ångström", "Fjärran AB", "", "3"),
    ]
    fixed = rejects.read_text(encoding="utf-8").replace("zoe(at)example.org", "zoe@example.org")
    rejects.write_text(fixed, encoding="utf-8")  # the BOM is kept: it is the first character of the text
    again = run(rejects)
    assert (again["rows"], again["created"], again["rejected"]) == (2, 1, 1)
    assert again["ignored_columns"] == ["extra_cells", "line", "reason"]
    assert Lead.objects.get(email="zoe@example.org").company == "Fjärran AB"


LEADS = "Name,Email,Created\nAda,ada@example.org,2026-01-02\nBad,bad,2026-01-02\n"


@pytest.mark.parametrize(
    "kind",
    ["folder", "uncreatable folder", "device that cannot be written", "input file", "input file by another name"],
)
def test_a_rejects_target_that_cannot_take_the_file_is_refused_before_anything_is_imported(tmp_path, kind):
    path = write(tmp_path, LEADS)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    (tmp_path / "link.csv").symlink_to(path)
    target = {
        "folder": tmp_path,
        "uncreatable folder": tmp_path / "notes.txt" / "out" / "rejects.csv",
        "device that cannot be written": Path("/dev/full"),
        "input file": path,
        "input file by another name": tmp_path / "link.csv",
    }[kind]
    with pytest.raises(CommandError) as error:
        call_command("import_leads", str(path), "--rejects", str(target), stdout=StringIO())
    assert error.value.returncode == 2
    assert str(error.value).startswith(f"--rejects {target}: ") and "\n" not in str(error.value)
    assert str(error.value).endswith("nothing was imported.")
    assert Lead.objects.count() == 0
    assert path.read_text() == LEADS and (tmp_path / "notes.txt").read_text() == "a file, not a folder"


def test_the_command_exits_2_in_one_line_for_an_unwritable_rejects_file(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    path = write(tmp_path, LEADS)
    process = subprocess.run(
        [sys.executable, "manage.py", "import_leads", str(path), "--rejects", "/dev/full"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "DEBUG": "1"},
    )
    assert process.returncode == 2
    assert process.stdout == ""
    assert process.stderr.strip() == (
        "CommandError: --rejects /dev/full: cannot be written (No space left on device); nothing was imported."
    )


def test_an_existing_rejects_file_is_replaced_and_a_missing_folder_created(tmp_path):
    path = write(tmp_path, LEADS)
    old = tmp_path / "old.csv"
    old.write_text("old content that is longer than the new rejects file, to be sure it is truncated " * 3)
    assert run(path, "--rejects", old)["rejects_file"] == str(old)
    assert [r["Name"] for r in rejects_rows(old)] == ["Bad"]
    new = tmp_path / "new" / "folder" / "rejects.csv"
    run(path, "--rejects", new)
    assert [r["Name"] for r in rejects_rows(new)] == ["Bad"]


def test_the_merge_report_covers_only_the_first_merged_emails_with_every_dropped_value(tmp_path):
    rows = [
        ("Cy", "cy@example.org", "2026-01-05"),
        ("Ann", "ann@example.org", "2026-01-02"),
        ("Bo", "bo@example.org", "2026-01-03"),
        ("Cyrus", "cy@example.org", "2026-01-05"),
        ("Bob", "bo@example.org", "2026-01-03"),
        ("Anna", "ann@example.org", "2026-01-04"),
        ("Ann", "ann@example.org", "2026-01-04"),
    ]
    path = write(tmp_path, "Name,Email,Created\n" + "".join(",".join(row) + "\n" for row in rows))
    result = import_leads(path=path, dry_run=True, sample_size=2)
    assert result.merged_duplicates == 4
    assert [(m["email"], m["lines"]) for m in result.merged] == [
        ("cy@example.org", [2, 5]),
        ("ann@example.org", [3, 7, 8]),
    ]
    ann = {f["field"]: f for f in result.merged[1]["fields"]}
    assert sorted(ann) == ["created_at", "name"]
    assert (ann["name"]["kept"], ann["name"]["kept_line"], ann["name"]["dropped"]) == (
        "Ann",
        8,
        [{"value": "Anna", "lines": [7]}],
    )
    assert ann["created_at"]["kept_line"] == 8 and [d["lines"] for d in ann["created_at"]["dropped"]] == [[3]]
    assert import_leads(path=path, dry_run=True).merged == []


def test_a_date_out_of_range_is_rejected_and_the_lead_list_and_look_up_still_work(tmp_path, admin_client):
    path = write(
        tmp_path,
        "Name,Email,Status,Created\n"
        "Year Zero,zero@example.org,new,0001-01-01T00:00:00+14:00\n"
        "Far East,east@example.org,new,2026-01-01T00:00:00+25:00\n"
        "Ada Good,ada@example.org,new,2026-01-01T00:00:00+14:00\n",
    )
    rejects = tmp_path / "rejects.csv"
    summary = run(path, "--rejects", rejects)
    assert (summary["rows"], summary["created"], summary["rejected"]) == (3, 1, 2)
    with open(rejects, newline="", encoding="utf-8") as handle:
        assert [(r["line"], r["reason"]) for r in csv.DictReader(handle)] == [
            ("2", "Created: '0001-01-01T00:00:00+14:00' is before 1900-01-01"),
            ("3", "Created: '2026-01-01T00:00:00+25:00' has a time zone offset beyond ±14:00"),
        ]
    assert Lead.objects.get().created_at == datetime(2025, 12, 31, 10, tzinfo=UTC)
    changelist = "/admin/leads/lead/"
    for query in ("", "?o=6", "?q=ada", "?status=new", "?lead_class=stale"):
        assert admin_client.get(changelist + query).status_code == 200, query
    out = StringIO()
    call_command("lookup_lead", "ada", "--json", stdout=out)
    assert [match["email"] for match in json.loads(out.getvalue())] == ["ada@example.org"]


def test_emails_differing_only_by_an_accent_are_two_leads_on_every_engine(tmp_path):
    run(write(tmp_path, "Name,Email,Created\nPlain User,user@example.com,2026-01-02\n"))
    summary = run(write(tmp_path, "Name,Email,Created\nAccent User,üser@example.com,2026-01-03\n"))
    assert (summary["created"], summary["updated"]) == (1, 0)
    assert Lead.objects.get(email="user@example.com").name == "Plain User"
    both = write(
        tmp_path,
        "Name,Email,Created\nOther Plain,usér@example.com,2026-01-02\n"
        "Other Accent,usèr@example.com,2026-01-03\nPlain Again,user@example.com,2026-01-02\n",
    )
    summary = run(both)
    assert (summary["created"], summary["updated"], summary["unchanged"], summary["merged_duplicates"]) == (2, 1, 0, 0)
    assert sorted(Lead.objects.values_list("email", "name")) == [
        ("user@example.com", "Plain Again"),
        ("usèr@example.com", "Other Accent"),
        ("usér@example.com", "Other Plain"),
        ("üser@example.com", "Accent User"),
    ]
    assert Lead.objects.filter(email="üser@example.com").get().name == "Accent User"


def test_a_nul_byte_past_the_first_64_kb_rejects_only_its_row_naming_the_column_on_every_engine(tmp_path):
    lines = ["Name,Email,Company,Created"] + [
        f"Lead {i},lead{i}@example.org,Company {i},2026-01-02" for i in range(2000)
    ]
    assert len("\n".join(lines)) > 65536
    lines.append("Nul Lead,nul@example.org,Acme\x00Corp,2026-01-02")
    lines.append("Last Lead,last@example.org,Last,2026-01-02")
    path = tmp_path / "leads.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    rejects = tmp_path / "rejects.csv"
    summary = run(path, "--rejects", rejects)
    assert (summary["rows"], summary["created"], summary["rejected"]) == (2002, 2001, 1)
    with open(rejects, newline="", encoding="utf-8") as handle:
        assert [(r["line"], r["reason"]) for r in csv.DictReader(handle)] == [
            ("2002", "Company: contains a NUL byte (binary data)")
        ]
    assert Lead.objects.filter(email="last@example.org").exists()
    assert not Lead.objects.filter(email="nul@example.org").exists()


def update_file(tmp_path) -> Path:
    LeadFactory(email="ada@example.org", name="Ada Lovelace", phone="", status="new")
    LeadFactory(email="grace@example.org", name="Grace Hopper", phone="+1 555", status="qualified")
    return write(
        tmp_path,
        "Email,Status,Phone\n"
        "ADA@example.org,Won,+44 20 7946 0018\n"
        "grace@example.org,,\n"
        "new@example.org,Lost,\n"
        "new@example.org,,+1 2\n"
        "ada@example.org,,\n",
    )


def test_an_update_file_of_emails_and_a_few_columns_updates_existing_leads_and_rejects_new_ones(tmp_path):
    path = update_file(tmp_path)
    rejects = tmp_path / "rejects.csv"
    summary = run(path, "--rejects", rejects)
    assert {k: summary[k] for k in ("rows", "created", "updated", "unchanged", "merged_duplicates", "rejected")} == {
        "rows": 5,
        "created": 0,
        "updated": 1,
        "unchanged": 1,
        "merged_duplicates": 1,
        "rejected": 2,
    }
    assert sorted(Lead.objects.values_list("email", "name", "phone", "status")) == [
        ("ada@example.org", "Ada Lovelace", "+44 20 7946 0018", "converted"),
        ("grace@example.org", "Grace Hopper", "+1 555", "qualified"),
    ]
    with open(rejects, newline="", encoding="utf-8") as handle:
        assert [(r["line"], r["reason"]) for r in csv.DictReader(handle)] == [
            ("4", "name, created_at: missing (a new lead needs a name and a created date)"),
            ("5", "name, created_at: missing (a new lead needs a name and a created date)"),
        ]


def test_a_new_lead_lacking_only_its_date_is_rejected_naming_the_column_and_a_later_row_may_complete_it(tmp_path):
    path = write(tmp_path, "Name,Email,Created\nAda,ada@example.org,\nBo,bo@example.org,\n,bo@example.org,2026-01-02\n")
    result = import_leads(path=path, now=NOW)
    assert (result.rows, result.created, result.merged_duplicates, result.rejected) == (3, 1, 1, 1)
    assert result.rejects["reason"].to_dict() == {2: "Created: missing (a new lead needs a name and a created date)"}
    assert Lead.objects.get().name == "Bo"


def test_an_import_writing_a_large_share_of_the_table_refreshes_its_statistics_once_committed(
    tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    analyzed = []
    monkeypatch.setattr(type(sql.dialect()), "analyze_table", lambda self, cursor, table: analyzed.append(table))
    monkeypatch.setattr(sql, "ANALYZE_AT_ROWS", 20)
    rows = "\n".join(f"Lead {i},lead{i}@example.org,2026-11-20,New" for i in range(30))
    path = write(tmp_path, "Name,Email,Created,Status\n" + rows + "\n")
    with django_capture_on_commit_callbacks() as callbacks:
        run(path)
    assert analyzed == []  # not before the import commits
    for callback in callbacks:
        callback()
    assert analyzed == [connection.ops.quote_name("leads_lead")]
    analyzed.clear()
    again = write(tmp_path, "Name,Email,Created,Status\nLead 1,lead1@example.org,2026-11-20,Lost\n", "one.csv")
    with django_capture_on_commit_callbacks(execute=True):
        run(again)  # one row of 30: the statistics still hold
    assert analyzed == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's own statistics table")
def test_sqlite_statistics_of_the_leads_exist_after_a_large_import(
    tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(sql, "ANALYZE_AT_ROWS", 20)
    rows = "\n".join(f"Lead {i},lead{i}@example.org,2026-11-20,New" for i in range(30))
    with django_capture_on_commit_callbacks(execute=True):
        run(write(tmp_path, "Name,Email,Created,Status\n" + rows + "\n"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'leads_lead'")
        assert cursor.fetchone()[0] > 0
