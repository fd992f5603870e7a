from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from groupcrm.core.testing.personas import PASSWORD, Personas
from groupcrm.org.models import BusinessUnit, User

PAGES = [
    "dashboard",
    "org:chart",
    "org:units",
    "org:users",
    "org:roles",
    "audit:log",
    "system:events",
    "profile",
    "notifications",
    "announcements:list",
    "org:unit_create",
    "org:user_create",
    "org:role_create",
    "password_change",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_admin_pages_render(personas: Personas, name: str) -> None:
    client = Client()
    client.force_login(personas.admin)
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_chinese_by_default_and_english_on_switch(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.mfg_am)
    assert "组织架构" in client.get("/").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Org chart" in client.get("/").content.decode()


@pytest.mark.django_db
def test_account_manager_sees_no_admin_navigation(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.mfg_am)
    page = client.get("/").content.decode()
    assert reverse("org:roles") not in page and reverse("system:events") not in page
    assert client.get(reverse("system:events")).status_code == 403


@pytest.mark.django_db
def test_admin_creates_unit_and_user_through_the_forms(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.admin)
    response = client.post(
        reverse("org:unit_create"),
        {
            "name": "华夏能源",
            "code": "energy",
            "kind": "subsidiary",
            "parent": personas.units["hx"].pk,
        },
    )
    unit = BusinessUnit.objects.get(code="energy")
    assert response.status_code == 302
    response = client.post(
        reverse("org:user_create"),
        {
            "username": "nengyuan",
            "display_name": "能源经理",
            "language": "zh-hans",
            "password": "Energy-Manager-2026",
            "bu": unit.pk,
            "role": personas.roles["am"].pk,
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="nengyuan").memberships.get().bu == unit
    chart = client.get(reverse("org:chart")).content.decode()
    assert "华夏能源" in chart and "能源经理" in chart
    assert "华夏能源" in client.get(reverse("audit:log")).content.decode()


@pytest.mark.django_db
def test_bad_form_input_shows_messages_not_500(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.admin)
    response = client.post(
        reverse("org:user_create"), {"username": "x y", "password": "123", "language": "xx"}
    )
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    response = client.post(
        reverse("org:unit_move", args=[personas.units["mfg"].pk]),
        {"parent": personas.units["mfg-sh"].pk},
    )
    assert response.status_code == 200 and 'data-field="parent"' in response.content.decode()


@pytest.mark.django_db
def test_htmx_user_filter_returns_the_rows_only(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.admin)
    response = client.get(reverse("org:users") + "?q=fin_", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "fin_am" in body and "mfg_am" not in body


@pytest.mark.django_db
def test_login_lockout_and_two_factor(personas: Personas, settings) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": "mfg_am", "password": "wrong"})
    assert response.status_code == 200 and "alert-danger" in response.content.decode()
    device = TOTPDevice.objects.create(user=personas.mfg_am, name="phone", confirmed=True)
    response = client.post(reverse("login"), {"username": "mfg_am", "password": PASSWORD})
    assert response["Location"].startswith("/accounts/2fa/verify/")
    assert client.get("/").status_code == 302  # held at the second factor
    client.post(reverse("two_factor_verify"), {"code": f"{totp(device.bin_key):06d}"})
    assert client.get("/").status_code == 200
    locked = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked.post(reverse("login"), {"username": "fin_am", "password": "wrong"})
    assert (
        locked.post(reverse("login"), {"username": "fin_am", "password": PASSWORD}).status_code
        == 429
    )


@pytest.mark.django_db
def test_role_requiring_two_factor_forces_enrolment(personas: Personas) -> None:
    personas.roles["am"].mfa_required = True
    personas.roles["am"].save()
    client = Client()
    client.force_login(personas.mfg_am)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/enrol/")
    page = client.get(response["Location"]).content.decode()
    assert "data:image/svg+xml;base64," in page
    device = TOTPDevice.objects.get(user=personas.mfg_am, confirmed=False)
    client.post(response["Location"], {"code": f"{totp(device.bin_key):06d}"})
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_idle_and_absolute_session_timeouts(personas: Personas, settings) -> None:
    client = Client()
    client.force_login(personas.mfg_am)
    assert client.get("/").status_code == 200
    session = client.session
    session["last_seen"] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()
    assert client.get("/").status_code == 302
    client.force_login(personas.mfg_am)
    client.get("/")
    session = client.session
    session["auth_started"] = int(time.time()) - settings.SESSION_ABSOLUTE_TIMEOUT - 5
    session.save()
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_profile_token_is_shown_once(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.mfg_am)
    client.post(reverse("token_create"), {"name": "ERP", "scope": "read", "expires_in_days": 30})
    first = client.get(reverse("profile")).content.decode()
    assert 'data-testid="new-token"' in first
    assert 'data-testid="new-token"' not in client.get(reverse("profile")).content.decode()


@pytest.mark.django_db
def test_navigation_groups_items_by_section_and_marks_the_current_one(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.admin)
    page = client.get(reverse("sales:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # The sales pages share one drop-down, which is active on any of them.
    sales = page[page.index('dropdown-toggle active" href="#"') :]
    sales = sales[: sales.index("</ul>")]
    assert ">Sales" in sales
    for name in ("leads:list", "sales:board", "quotes:list", "contracts:list", "forecast:quotas"):
        assert f'href="{reverse(name)}"' in sales
    assert reverse("org:users") not in sales
    # Items without a section stay on the bar.
    assert f'class="nav-link" href="{reverse("approvals:inbox")}"' in page
    # Someone without the sales modules gets no sales menu at all.
    nobody = Client()
    nobody.force_login(personas.nobody)
    assert reverse("leads:list") not in nobody.get("/").content.decode()
