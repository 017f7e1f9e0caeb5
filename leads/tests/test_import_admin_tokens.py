"""The admin import's confirmation and rejects download accept only the user's own upload token for this model."""

import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from agents.models import Agent
from leads.models import Lead
from leads.tests.roles import make_manager

pytestmark = pytest.mark.django_db

LEADS_CSV = "name,email,created\nAda,ada@example.org,2026-01-02\nBad,not-an-email,2026-01-02\n"
ERROR = "This upload has expired or was already imported"
LEADS_IMPORT = reverse("admin:leads_lead_import")
LEADS_CONFIRM = reverse("admin:leads_lead_process_import")


@pytest.fixture
def uploads(settings, tmp_path) -> Path:
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    return settings.IMPORT_UPLOAD_DIR


@pytest.fixture
def manager_a(client):
    client.force_login(make_manager("manager_a"))
    return client


@pytest.fixture
def manager_b():
    other = Client()
    other.force_login(make_manager("manager_b"))
    return other


def preview(client, url=LEADS_IMPORT, text=LEADS_CSV):
    upload = SimpleUploadedFile("leads.csv", text.encode(), "text/csv")
    response = client.post(url, {"import_file": upload}, follow=True)  # to the run's page: the preview job ran
    assert response.status_code == 200
    return response.context


def confirm(client, token, url=LEADS_CONFIRM):
    response = client.post(url, {"token": token}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def planted(folder: Path) -> Path:
    """A leads file outside the upload folder, where a forged token could point."""
    folder.mkdir(parents=True)
    source = folder / "source.csv"
    source.write_text(LEADS_CSV)
    return source


@pytest.mark.parametrize("shape", ["absolute", "dotdot"])
def test_a_token_pointing_outside_the_upload_folder_reads_and_deletes_nothing(manager_a, uploads, tmp_path, shape):
    name = uuid.uuid4().hex
    source = planted(tmp_path / "elsewhere" / name)
    preview(manager_a)  # the upload folder exists
    token = str(source.parent) if shape == "absolute" else f"../elsewhere/{name}"
    assert ERROR in confirm(manager_a, token)
    assert source.read_text() == LEADS_CSV
    assert not (source.parent / "rejects.csv").exists()
    assert Lead.objects.count() == 0


def test_a_token_that_only_contains_a_token_is_refused(manager_a, uploads):
    token = preview(manager_a)["token"]
    for forged in (f"x{token}", f"{token}\n", f"{token}/", "a" * 300):
        assert ERROR in confirm(manager_a, forged)
    assert Lead.objects.count() == 0
    assert (uploads / token / "source.csv").is_file()


def test_the_rejects_download_refuses_unknown_and_long_tokens(manager_a, uploads):
    preview(manager_a)
    ownerless = uuid.uuid4().hex  # a folder nobody uploaded through the admin
    (uploads / ownerless).mkdir()
    (uploads / ownerless / "rejects.csv").write_text("secret")
    for forged in (ownerless, "a" * 300, "A" * 32):
        response = manager_a.get(reverse("admin:leads_lead_import_rejects", args=[forged]))
        assert response.status_code == 404, forged


def test_another_user_can_neither_confirm_an_upload_nor_download_its_rejects(manager_a, manager_b, uploads):
    context = preview(manager_a)
    assert ERROR in confirm(manager_b, context["token"])
    assert Lead.objects.count() == 0
    assert manager_b.get(context["rejects_url"]).status_code == 404
    assert manager_a.get(context["rejects_url"]).status_code == 200
    assert "1 created" in confirm(manager_a, context["token"])
    assert list(Lead.objects.values_list("email", flat=True)) == ["ada@example.org"]


def test_a_leads_upload_cannot_be_confirmed_or_downloaded_on_the_agents_page(manager_a, uploads):
    context = preview(manager_a)
    assert ERROR in confirm(manager_a, context["token"], url=reverse("admin:agents_agent_process_import"))
    assert Agent.objects.count() == 0 and Lead.objects.count() == 0
    agents_rejects = reverse("admin:agents_agent_import_rejects", args=[context["token"]])
    assert manager_a.get(agents_rejects).status_code == 404
    assert (uploads / context["token"] / "source.csv").is_file()
