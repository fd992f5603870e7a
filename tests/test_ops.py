from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.django_db
def test_healthz_reports_database_and_queue(client: Client) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200 and body["database"]["ok"] and body["queue"]["ok"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_queue_is_down(client: Client, monkeypatch) -> None:
    from huey.contrib.djhuey import HUEY

    def broken() -> int:
        raise ConnectionError("down")

    monkeypatch.setattr(HUEY, "pending_count", broken)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["queue"]["ok"] is False


def test_request_id_is_echoed(client: Client) -> None:
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "groupcrm.settings",
        "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
        "GROUPCRM_HTTPS": "1",
        "ALLOWED_HOSTS": "crm.example.com",
        "GROUPCRM_VAR_DIR": str(tmp_path),
    }
    (tmp_path / "vendor").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "groupcrm.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_migrations_are_complete() -> None:
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_chinese_catalogue_is_complete() -> None:
    po = polib.pofile(str(Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    assert not po.untranslated_entries() and not po.fuzzy_entries()
