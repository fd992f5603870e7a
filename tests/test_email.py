"""Password-reset mail through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from groupcrm.core.testing.personas import Personas


@pytest.mark.django_db
def test_password_reset_arrives_over_smtp_and_sets_a_new_password(
    personas: Personas, smtp_server
) -> None:
    client = Client()
    client.post(reverse("password_reset"), {"email": "mfg_am@example.com"})
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "mfg_am@example.com"
    body = mail.get_payload(decode=True).decode()
    link = next(line for line in body.splitlines() if "/accounts/reset/" in line).strip()
    path = link.split("://", 1)[1].split("/", 1)[1]
    form_page = client.get("/" + path, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Fresh-Password-2026", "new_password2": "Fresh-Password-2026"},
    )
    assert response.status_code == 302
    personas.mfg_am.refresh_from_db()
    assert personas.mfg_am.check_password("Fresh-Password-2026")
