"""The admin's Import for leads and agents: same cleaning, same outcome as the command, preview, rejects."""

import csv
import io
import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from agents.models import Agent
from conftest import FROZEN_AT
from imports.models import ImportRun
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NOW = FROZEN_AT
IMPORT_URL = reverse("admin:leads_lead_import")
CONFIRM_URL = reverse("admin:leads_lead_process_import")


@pytest.fixture(autouse=True)
def setup(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"


def upload(client, path: Path, url=IMPORT_URL, **extra):
    """Upload, then follow to the run's page: the preview job has run (the tests' jobs run at once)."""
    file = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    return client.post(url, {"import_file": file, **extra}, follow=True)


def leads():
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
            "added_at",
            "updated_at",
        )
    )


def test_the_leads_changelist_offers_import_and_export(admin_client):
    content = admin_client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert IMPORT_URL in content and reverse("admin:leads_lead_export") in content


def test_the_preview_shows_counts_new_updated_rows_and_rejects_and_writes_nothing(admin_client):
    LeadFactory(email="mary.jackson@example.org", name="Mary Jackson", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    before = leads()
    response = upload(admin_client, FIXTURES / "leads_crm_export.csv")
    assert response.status_code == 200
    content = response.content.decode()
    assert '<td class="count-created">4</td>' in content
    assert '<td class="count-updated">1</td>' in content
    assert '<td class="count-rejected">4</td>' in content
    assert "Ignored columns: Owner Notes" in content
    assert "Lead Status: &#x27;Bad Timing&#x27; is not a known status" in content
    assert 'id="import-updated"' in content and "mary.jackson@example.org" in content
    assert "rozsa@example.hu" in content
    assert response.context["rejects_url"] in content
    assert leads() == before


def test_the_preview_lists_only_the_first_rows_of_a_big_file(admin_client, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("name,email,created\n" + "".join(f"Lead {i},lead{i}@example.org,2026-01-02\n" for i in range(300)))
    response = upload(admin_client, path)
    assert response.context["result"].created == 300
    assert response.content.decode().count("@example.org</td>") == 20


def test_confirming_gives_the_same_database_as_the_command(admin_client, tmp_path):
    call_command("import_leads", str(FIXTURES / "leads.csv"), stdout=StringIO())
    by_command = leads()
    Lead.objects.all().delete()
    preview = upload(admin_client, FIXTURES / "leads.csv")
    token = preview.context["token"]
    response = admin_client.post(CONFIRM_URL, {"token": token, "dayfirst": ""})
    assert response.status_code == 302
    assert leads() == by_command
    follow = admin_client.get(response["Location"])
    text = follow.content.decode()
    assert "created, 0 updated" in text
    assert reverse("admin:leads_lead_import_rejects", args=[token]) in text


def test_the_rejected_rows_download_as_the_same_csv_as_the_command_writes(admin_client, tmp_path):
    call_command(
        "import_leads",
        str(FIXTURES / "leads_crm_export.csv"),
        "--dry-run",
        "--rejects",
        str(tmp_path / "by_command.csv"),
        stdout=StringIO(),
    )
    preview = upload(admin_client, FIXTURES / "leads_crm_export.csv")
    response = admin_client.get(preview.context["rejects_url"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    downloaded = b"".join(response.streaming_content)
    assert downloaded == (tmp_path / "by_command.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(downloaded.decode("utf-8-sig"))))
    assert [r["line"] for r in rows] == ["5", "10", "11", "12"]


def test_dayfirst_is_carried_from_the_upload_to_the_confirmation(admin_client, tmp_path):
    path = tmp_path / "day.csv"
    path.write_text("name,email,created\nAda,ada@example.org,03/11/2026\n")
    preview = upload(admin_client, path, dayfirst="on")
    admin_client.post(CONFIRM_URL, {"token": preview.context["token"], "dayfirst": "True"})
    assert Lead.objects.get().created_at == datetime(2026, 11, 3, tzinfo=UTC)


def test_a_refused_file_is_explained_on_the_form(admin_client, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Name,Phone\nAda,1\n")
    response = upload(admin_client, path)
    assert "missing required column(s): email" in response.content.decode()
    assert "people.csv" in response.content.decode()
    assert Lead.objects.count() == 0


def test_an_upload_above_the_limit_is_refused_pointing_to_the_command(admin_client, settings, tmp_path):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    path = tmp_path / "big.csv"
    path.write_text("name,email,created\n" + "Ada,ada@example.org,2026-01-02\n" * 40_000)
    content = upload(admin_client, path).content.decode()
    assert "above the 1 MB limit" in content and "manage.py import_leads FILE" in content
    assert Lead.objects.count() == 0


class CountingUploadHandler(FileUploadHandler):
    """After the limit's handler: counts the bytes of the file that got past it."""

    received = 0

    def receive_data_chunk(self, raw_data, start):
        CountingUploadHandler.received += len(raw_data)
        return raw_data

    def file_complete(self, file_size):
        return None


def test_an_upload_above_the_limit_is_stopped_while_it_streams_and_nothing_is_kept(admin_client, settings, tmp_path):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    settings.FILE_UPLOAD_HANDLERS = [f"{__name__}.CountingUploadHandler", *settings.FILE_UPLOAD_HANDLERS]
    CountingUploadHandler.received = 0
    path = tmp_path / "big.csv"
    path.write_text("name,email,created\n" + "Ada,ada@example.org,2026-01-02\n" * 200_000)  # ~6 MB
    response = upload(admin_client, path, dayfirst="on")
    content = response.content.decode()
    assert response.status_code == 200
    size = f"{path.stat().st_size / 1024 / 1024:.1f} MB"  # the request body, a few hundred bytes more
    assert f"This file is {size}, above the 1 MB limit" in content and "manage.py import_leads FILE" in content
    assert "This field is required" not in content
    # Stopped at the limit: the handlers after it (the temporary file) never saw the rest.
    assert 0 < CountingUploadHandler.received <= 1024 * 1024
    assert not settings.IMPORT_UPLOAD_DIR.exists() or not any(settings.IMPORT_UPLOAD_DIR.iterdir())
    assert ImportRun.objects.count() == 0 and Lead.objects.count() == 0
    # The next upload of the same form, within the limit, goes through.
    small = tmp_path / "small.csv"
    small.write_text("name,email,created\nAda,ada@example.org,2026-01-02\n")
    assert upload(admin_client, small).redirect_chain


def test_the_upload_form_still_checks_the_csrf_token(admin_user, tmp_path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    path = tmp_path / "small.csv"
    path.write_text("name,email,created\nAda,ada@example.org,2026-01-02\n")
    assert (
        client.post(IMPORT_URL, {"import_file": SimpleUploadedFile("small.csv", path.read_bytes())}).status_code == 403
    )
    page = client.get(IMPORT_URL)
    token = page.cookies["csrftoken"].value
    with open(path, "rb") as file:
        response = client.post(IMPORT_URL, {"import_file": file, "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_an_expired_confirmation_imports_nothing(admin_client):
    response = admin_client.post(CONFIRM_URL, {"token": "0" * 32})
    assert response.status_code == 302
    assert Lead.objects.count() == 0


def test_only_users_with_the_import_permission_may_import(client):
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code == 403
    assert upload(client, FIXTURES / "leads_crm_export.csv").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="import_lead"))
    user = User.objects.get(pk=user.pk)
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code == 200


def test_the_agents_admin_imports_with_the_agents_rules(admin_client):
    preview = upload(admin_client, FIXTURES / "agents_tabs.tsv", url=reverse("admin:agents_agent_import"))
    assert (preview.context["result"].created, preview.context["result"].rejected) == (3, 2)
    admin_client.post(reverse("admin:agents_agent_process_import"), {"token": preview.context["token"]})
    assert sorted(Agent.objects.values_list("email", flat=True)) == [
        "june@sales.test",
        "kai@sales.test",
        "lee@sales.test",
    ]
    out = StringIO()
    call_command("import_agents", str(FIXTURES / "agents_tabs.tsv"), "--json", stdout=out)
    assert json.loads(out.getvalue())["unchanged"] == 3


def test_a_row_with_more_cells_than_the_header_is_shown_rejected_and_downloadable(admin_client, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(
        "name,email,company,created\nAda,ada@example.org,Analytical,2026-01-02\n"
        "Bo,bo@example.org,Acme, Inc.,2026-01-02\nCy,cy@example.org,Cyberdyne,2026-01-02\n"
    )
    preview = upload(admin_client, path)
    assert preview.status_code == 200
    result = preview.context["result"]
    assert (result.rows, result.created, result.rejected) == (3, 2, 1)
    content = preview.content.decode()
    assert "line has 5 cells, the header has 4 (an unquoted &quot;,&quot; inside a value?)" in content
    assert "extra_cells=2026-01-02" in content
    response = admin_client.post(CONFIRM_URL, {"token": preview.context["token"], "dayfirst": ""})
    assert response.status_code == 302
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ada@example.org", "cy@example.org"]
    downloaded = b"".join(admin_client.get(preview.context["rejects_url"]).streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(downloaded)))
    assert [(r["line"], r["name"], r["company"], r["created"], r["extra_cells"]) for r in rows] == [
        ("3", "Bo", "Acme", " Inc.", "2026-01-02")
    ]
    assert rows[0]["reason"].startswith('line has 5 cells, the header has 4 (an unquoted "," inside a value?)')
    by_command = tmp_path / "by_command.csv"
    call_command("import_leads", str(path), "--dry-run", "--rejects", str(by_command), stdout=StringIO())
    assert downloaded.encode("utf-8-sig") == by_command.read_bytes()


def test_the_rejects_download_neutralizes_formulas(admin_client, tmp_path):
    path = tmp_path / "formulas.csv"
    path.write_text("name,email,phone,created\n\"=cmd|'/C calc'!A0\",bad,+1234567-1234567,2026-01-02\n")
    preview = upload(admin_client, path)
    downloaded = b"".join(admin_client.get(preview.context["rejects_url"]).streaming_content).decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(downloaded)))
    assert (row["name"], row["phone"]) == ("'=cmd|'/C calc'!A0", "'+1234567-1234567")


def test_the_rejects_download_keeps_the_delimiter_of_the_upload_with_a_bom(admin_client, tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("Name;Email;Created\nZoë;zoe(at)example.org;2026-01-02\n", encoding="utf-8")
    preview = upload(admin_client, path)
    downloaded = b"".join(admin_client.get(preview.context["rejects_url"]).streaming_content)
    assert downloaded.startswith(b"\xef\xbb\xbfName;Email;Created;line;reason\n")
    assert "Zoë;zoe(at)example.org;2026-01-02;2;" in downloaded.decode("utf-8-sig")


def test_the_preview_shows_what_merging_duplicates_kept_and_dropped(admin_client, tmp_path):
    path = tmp_path / "dups.csv"
    path.write_text(
        "name,email,phone,company,created\n"
        "José Müller,jose@example.org,+44 20 7946 0018,Acme,2026-01-02\n"
        "Ada,ada@example.org,,Analytical,2026-01-02\n"
        "jose muller dup,JOSE@example.org,,Acme Corp,2026-01-02\n"
        "Ada,ada@example.org,,,2026-01-02\n",
        encoding="utf-8",
    )
    response = upload(admin_client, path)
    assert response.context["result"].merged == [
        {
            "email": "jose@example.org",
            "lines": [2, 4],
            "fields": [
                {
                    "field": "name",
                    "kept": "jose muller dup",
                    "kept_line": 4,
                    "dropped": [{"value": "José Müller", "lines": [2]}],
                },
                {"field": "company", "kept": "Acme Corp", "kept_line": 4, "dropped": [{"value": "Acme", "lines": [2]}]},
            ],
        },
        {"email": "ada@example.org", "lines": [3, 5], "fields": []},
    ]
    content = response.content.decode()
    assert 'id="import-merged"' in content
    assert '<td class="kept">jose muller dup (4)</td>' in content
    assert '<td class="dropped">José Müller (2)</td>' in content
    assert "the rows agree: nothing dropped" in content
    assert Lead.objects.count() == 0


def test_an_update_file_without_names_or_dates_imports_through_the_admin_like_the_command(admin_client, tmp_path):
    from leads.tests.test_import_leads import update_file

    path = update_file(tmp_path)
    preview = upload(admin_client, path)
    content = preview.content.decode()
    assert '<td class="count-updated">1</td>' in content and '<td class="count-rejected">2</td>' in content
    assert "name, created_at: missing (a new lead needs a name and a created date)" in content
    admin_client.post(CONFIRM_URL, {"token": preview.context["token"], "dayfirst": ""})
    assert sorted(Lead.objects.values_list("email", "phone", "status")) == [
        ("ada@example.org", "+44 20 7946 0018", "converted"),
        ("grace@example.org", "+1 555", "qualified"),
    ]
