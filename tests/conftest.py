from __future__ import annotations

import contextlib
import os
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from django.db import DatabaseError

from groupcrm.core.testing.personas import PASSWORD, Personas, build_personas

REQUIRE = os.environ.get("GROUPCRM_REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Throttle counters live in the cache (Redis in the second pass): start clean."""
    from django.core.cache import cache

    with contextlib.suppress(RuntimeError, DatabaseError):  # no database access here
        cache.clear()


class Inbox(Message):
    """A real SMTP server on loopback keeps what it receives here."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def personas(db: None) -> Personas:
    return build_personas()


@pytest.fixture
def default_pipeline(db: None) -> None:
    """The group's default sales pipeline, as its data migration creates it: the flush
    after a transactional test removes migration data, so tests that sell ask for this."""
    from importlib import import_module

    from django.apps import apps

    import_module("groupcrm.sales.migrations.0002_default_pipeline").create_default(apps, None)


@pytest.fixture
def sign_in():
    """Sign a Playwright page in as one of the personas."""

    def sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("main button.btn-primary[type=submit]")

    return sign_in


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    return {
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if REQUIRE:
            pytest.fail("REDIS_URL must be set when GROUPCRM_REQUIRE_SERVICES=1")
        pytest.skip("Redis tests run in the PostgreSQL + Redis pass (REDIS_URL unset)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        if REQUIRE:
            pytest.fail(f"Redis at {url} is required but not reachable: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    return url


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"groupcrm: database={db} redis={'yes' if settings.REDIS_URL else 'no'}"
