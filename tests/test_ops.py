from __future__ import annotations

import os
import shutil
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


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="GNU gettext is not installed")
def test_catalogues_are_valid_for_gettext() -> None:
    """``make messages`` (msgmerge) stops at an entry polib reads, such as a previous
    plural left without its previous msgid."""
    for po in Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/django.po"):
        checked = subprocess.run(
            ["msgfmt", "--check", "-o", os.devnull, str(po)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_client_is_the_address(personas, settings) -> None:
    from groupcrm.audit.models import ChangeRecord

    settings.PROXY_COUNT = 1
    client = Client(REMOTE_ADDR="10.0.0.2")  # nginx
    client.force_login(personas.admin)
    client.post(
        "/org/units/new/",
        {"name": "代理", "code": "proxy", "kind": "team", "parent": personas.units["hx"].pk},
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",  # a forged hop, then the real client
    )
    assert ChangeRecord.objects.filter(object_repr="代理").get().ip == "203.0.113.9"


@pytest.mark.django_db
def test_without_proxies_the_forwarded_header_is_ignored(personas) -> None:
    from groupcrm.audit.models import ChangeRecord

    client = Client(REMOTE_ADDR="198.51.100.7")
    client.force_login(personas.admin)
    client.post(
        "/org/units/new/",
        {"name": "直连", "code": "direct", "kind": "team", "parent": personas.units["hx"].pk},
        HTTP_X_FORWARDED_FOR="6.6.6.6",
    )
    assert ChangeRecord.objects.filter(object_repr="直连").get().ip == "198.51.100.7"


@pytest.mark.django_db
def test_healthz_answers_plain_http_probes_when_https_is_enforced(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/accounts/login/").status_code == 301


def test_unknown_api_path_is_problem_json(client: Client) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_error_log_lines_carry_the_request_id(client: Client, caplog) -> None:
    from groupcrm.core.logging import RequestIdFilter

    client.get("/api/v1/no-such-thing", HTTP_X_REQUEST_ID="trace-42")
    record = next(r for r in caplog.records if r.name == "django.request")
    RequestIdFilter().filter(record)
    assert record.request_id == "trace-42"


def test_periodic_tasks_follow_the_configured_time_zone() -> None:
    import datetime as dt

    from huey.contrib.djhuey import HUEY

    from groupcrm.core.tasks import clear_expired_sessions

    # Django sets the process TZ to TIME_ZONE; with utc=False Huey's clock is that local time.
    assert HUEY.utc is False and HUEY._get_timestamp().hour == dt.datetime.now().hour
    task = clear_expired_sessions.s()
    assert task.validate_datetime(dt.datetime(2026, 11, 26, 3, 17))
    assert not task.validate_datetime(dt.datetime(2026, 11, 26, 11, 17))
