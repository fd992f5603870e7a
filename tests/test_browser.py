"""The foundation's main flow in real headless Chromium (Debian's /usr/bin/chromium)."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from groupcrm.core.testing.personas import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_runs_the_foundation_flow(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    base = live_server.url
    sign_in(page, base, "admin")
    # Chinese first; the administration pages sit in their section's drop-down (opened
    # by Bootstrap's script, so wait for it to have run).
    page.wait_for_load_state("load")
    page.get_by_role("button", name="系统管理").click()
    expect(page.get_by_role("link", name="组织架构")).to_be_visible()

    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Administration").click()
    expect(page.get_by_role("link", name="Org chart")).to_be_visible()

    page.goto(f"{base}/org/units/new/")
    page.fill("#id_name", "华夏能源")
    page.fill("#id_code", "hx-energy")
    page.select_option("#id_kind", "subsidiary")
    page.select_option("#id_parent", label="华夏控股")
    page.click("main button.btn-primary[type=submit]")
    expect(page.locator("h1")).to_contain_text("华夏能源")

    page.goto(f"{base}/org/users/new/")
    page.fill("#id_username", "nengyuan")
    page.fill("#id_display_name", "能源经理")
    page.fill("#id_password", "Energy-Manager-2026")
    page.select_option("#id_bu", label="— 华夏能源")
    page.select_option("#id_role", label="am")
    page.click("main button.btn-primary[type=submit]")
    expect(page.locator("h1")).to_contain_text("能源经理")

    page.goto(f"{base}/org/")
    expect(page.get_by_test_id("chart-unit").filter(has_text="华夏能源").first).to_contain_text(
        "能源经理"
    )
    page.goto(f"{base}/audit/")
    expect(page.locator("#audit-rows")).to_contain_text("华夏能源")
    page.select_option("select[name=object_type]", "org.user")  # htmx filter
    expect(page.locator("#audit-rows")).not_to_contain_text("org.businessunit")

    page.goto(f"{base}/profile/")
    page.fill("#id_name", "curl")
    page.click("form[action='/profile/tokens/'] button[type=submit]")
    token = page.get_by_test_id("new-token").inner_text().strip()
    me = page.request.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.ok and me.json()["user"]["username"] == "admin"

    page.get_by_test_id("enrol-2fa").click()
    expect(page.get_by_test_id("totp-qr")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    page.fill("#id_code", f"{totp(base64.b32decode(secret)):06d}")
    page.click("main button.btn-primary[type=submit]")
    expect(page.locator(".alert-success")).to_be_visible()


def test_account_manager_cannot_open_another_bu(
    page: Page, live_server, personas: Personas, sign_in
) -> None:
    from groupcrm.announcements.services import announcement_create

    item = announcement_create(actor=personas.actor("fin_am"), title="金融内部", body="x")
    sign_in(page, live_server.url, "mfg_am")
    expect(page).to_have_url(re.compile(r"/$"))
    response = page.goto(f"{live_server.url}/announcements/{item.pk}/")
    assert response is not None and response.status == 404
