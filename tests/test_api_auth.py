from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from groupcrm.core.testing.personas import PASSWORD, Personas
from groupcrm.org.models import ApiToken

TOKEN_URL = "/api/v1/auth/token"


def obtain(client: Client, **body) -> object:
    return client.post(TOKEN_URL, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_password_exchange_gives_a_token_that_reads_me(personas: Personas) -> None:
    client = Client()
    response = obtain(client, username="mfg_am", password=PASSWORD, scope="read")
    assert response.status_code == 201
    token = response.json()["token"]
    assert not ApiToken.objects.filter(key_hash=token).exists()  # stored hashed only
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert me["user"]["username"] == "mfg_am"
    assert me["memberships"][0]["bu_name"] == "华夏制造" and me["token_scope"] == "read"
    assert "announcements.create" in me["permissions"]


@pytest.mark.django_db
def test_wrong_password_is_401_problem_in_the_callers_language(personas: Personas) -> None:
    response = obtain(Client(), username="mfg_am", password="nope-nope-nope")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "Wrong username or password."
    zh = Client().post(
        TOKEN_URL,
        {"username": "mfg_am", "password": "x"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert zh.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_lockout_after_repeated_failures(personas: Personas, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        obtain(client, username="fin_am", password="wrong-password!")
    response = obtain(client, username="fin_am", password=PASSWORD)
    assert response.status_code == 429 and response.json()["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_two_factor_code_is_required_when_enrolled(personas: Personas) -> None:
    device = TOTPDevice.objects.create(user=personas.mfg_am, name="phone", confirmed=True)
    client = Client()
    assert obtain(client, username="mfg_am", password=PASSWORD).json()["code"] == "otp_required"
    assert (
        obtain(client, username="mfg_am", password=PASSWORD, otp_code="000000").json()["code"]
        == "otp_invalid"
    )
    # django-otp throttles after a failure; an operator would wait, the test resets it.
    device.refresh_from_db()
    device.throttle_reset()
    code = f"{totp(device.bin_key):06d}"
    assert obtain(client, username="mfg_am", password=PASSWORD, otp_code=code).status_code == 201


@pytest.mark.django_db
def test_expired_revoked_and_garbage_tokens_are_401(personas: Personas) -> None:
    secret = personas.token("mfg_am")
    token = ApiToken.objects.get(user=personas.mfg_am)
    client = Client()
    assert (
        client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer gcrm_nonsense").json()["code"]
        == "invalid_token"
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401 and response.json()["code"] == "token_expired"
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    assert (
        client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").json()["code"]
        == "token_revoked"
    )
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.django_db
def test_read_only_token_cannot_write(personas: Personas) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin', scope='read')}"}
    response = Client().post(
        "/api/v1/business-units",
        {"name": "x", "code": "x", "kind": "team", "parent_id": personas.units["hx"].pk},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_malformed_json_is_400_and_unknown_field_422(personas: Personas) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin')}"}
    client = Client()
    response = client.post(
        "/api/v1/business-units", "{not json", content_type="application/json", **auth
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_body"
    response = client.post(
        "/api/v1/business-units",
        {"name": "x", "code": "x", "kind": "team", "parnt": 1},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **auth,
    )
    assert response.status_code == 422
    assert response.json()["errors"]["parnt"] == ["未知字段。"]


@pytest.mark.django_db
def test_rate_limit_answers_429_with_retry_after(personas: Personas, settings) -> None:
    settings.API_RATE_LIMIT = "3/m"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('mfg_am')}"}
    client = Client()
    statuses = [client.get("/api/v1/me", **auth).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/me", **auth)
    assert int(response["Retry-After"]) > 0 and response.json()["code"] == "rate_limited"


@pytest.mark.django_db
def test_list_pagination_counts(personas: Personas) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin')}"}
    body = Client().get("/api/v1/users?page_size=3&page=2&ordering=-username", **auth).json()
    assert body["count"] == 10 and body["page"] == 2 and len(body["items"]) == 3
    bad = Client().get("/api/v1/users?page_size=1000", **auth)
    assert bad.status_code == 422


@pytest.mark.django_db
def test_openapi_and_docs_are_served_without_cdn(client: Client) -> None:
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "groupcrm API"
    page = client.get("/api/v1/docs").content.decode()
    assert "cdn" not in page.lower() and "/static/ninja/swagger-ui-bundle.js" in page


@pytest.mark.django_db
def test_read_only_token_gets_403_not_404_on_a_change(personas: Personas) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin', scope='read')}"}
    unit = personas.units["mfg"]
    response = Client().patch(
        f"/api/v1/business-units/{unit.pk}", {"name": "x"}, content_type="application/json", **auth
    )
    assert response.status_code == 403 and response.json()["code"] == "read_only_token"


@pytest.mark.django_db
def test_expired_browser_session_on_the_api_is_401(personas: Personas, settings) -> None:
    import time

    client = Client()
    client.force_login(personas.mfg_am)
    assert client.get("/api/v1/me").status_code == 200
    session = client.session
    session["last_seen"] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.django_db
def test_unknown_ordering_is_422_and_chinese_is_not_escaped(personas: Personas) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin')}"}
    assert Client().get("/api/v1/users?ordering=password", **auth).status_code == 422
    body = Client().get(f"/api/v1/business-units/{personas.units['mfg'].pk}", **auth).content
    assert "华夏制造".encode() in body
