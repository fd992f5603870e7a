from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from groupcrm.announcements.models import Announcement
from groupcrm.announcements.selectors import announcement_feed
from groupcrm.announcements.services import announcement_create
from groupcrm.audit.models import ChangeRecord
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.battery import ScopedBattery
from groupcrm.core.testing.personas import Personas


class TestAnnouncementPermissions(ScopedBattery):
    model = Announcement
    ui_list = "announcements:list"
    ui_detail = "announcements:detail"
    ui_edit = "announcements:edit"
    ui_delete = "announcements:delete"
    api_base = "/api/v1/announcements"
    api_patch = {"title": "改过的标题"}

    def make(self, personas: Personas, unit: str, owner: str) -> Announcement:
        return announcement_create(
            actor=personas.actor(owner),
            title=f"{unit} 通知",
            body="内容",
            bu_id=personas.units[unit].pk,
        )

    def edit_form(self, row: Any) -> dict[str, Any]:
        return {"title": "新标题", "body": "新内容"}


@pytest.mark.django_db
def test_create_is_audited_and_announced_in_one_transaction(personas: Personas) -> None:
    item = announcement_create(actor=personas.actor("mfg_am"), title="标题", body="正文")
    record = ChangeRecord.objects.get(
        object_type="announcements.announcement", object_id=str(item.pk)
    )
    assert record.action == "create" and record.changes["title"] == [None, "标题"]
    assert OutboxEvent.objects.filter(
        name="announcements.published", payload__announcement_id=item.pk
    ).exists()


@pytest.mark.django_db
def test_cannot_publish_into_a_unit_outside_scope_and_nothing_is_written(
    personas: Personas,
) -> None:
    before = (
        Announcement.objects.count(),
        ChangeRecord.objects.count(),
        OutboxEvent.objects.count(),
    )
    with pytest.raises(PermissionDenied):
        announcement_create(
            actor=personas.actor("mfg_am"), title="越权", body="x", bu_id=personas.units["fin"].pk
        )
    assert (
        Announcement.objects.count(),
        ChangeRecord.objects.count(),
        OutboxEvent.objects.count(),
    ) == before


@pytest.mark.django_db
def test_validation_names_the_fields(personas: Personas) -> None:
    with pytest.raises(ValidationError) as exc:
        announcement_create(actor=personas.actor("mfg_am"), title=" ", body="")
    assert set(exc.value.fields) == {"title", "body"}


@pytest.mark.django_db
def test_feed_shows_own_units_and_ancestors_only(personas: Personas) -> None:
    hq = announcement_create(
        actor=personas.actor("admin"), title="集团", body="x", bu_id=personas.units["hx"].pk
    )
    fin = announcement_create(actor=personas.actor("fin_am"), title="金融", body="x")
    feed = announcement_feed(actor=personas.actor("sh_am"))
    assert hq in feed and fin not in feed


@pytest.mark.django_db
def test_api_create_with_unknown_field_is_422_and_writes_nothing(personas: Personas) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('mfg_am')}"}
    response = Client().post(
        "/api/v1/announcements",
        {"title": "t", "body": "b", "colour": "red"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    assert "colour" in response.json()["errors"]
    assert not Announcement.objects.exists()


@pytest.mark.django_db
def test_ui_form_shows_field_errors(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.mfg_am)
    response = client.post(
        reverse("announcements:create"),
        {
            "bu": personas.units["mfg"].pk,
            "title": "x",
            "body": "y",
            "publish_at": "2026-12-01T10:00",
            "expires_at": "2026-11-01T10:00",
        },
    )
    assert response.status_code == 200
    assert 'data-field="expires_at"' in response.content.decode()


@pytest.mark.django_db
def test_api_patch_with_null_leaves_the_value_and_never_500s(personas: Personas) -> None:
    item = announcement_create(actor=personas.actor("mfg_am"), title="原标题", body="正文")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('mfg_am')}"}
    response = Client().patch(
        f"/api/v1/announcements/{item.pk}",
        {"title": None, "pinned": None},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200 and response.json()["title"] == "原标题"
