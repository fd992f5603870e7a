from __future__ import annotations

import pytest
from django.test import Client

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, PermissionDenied, ValidationError
from groupcrm.core.events import outbox_dispatch
from groupcrm.core.models import Notification
from groupcrm.core.testing.personas import Personas
from groupcrm.org import services
from groupcrm.org.models import BusinessUnit, User
from groupcrm.org.selectors import org_chart


@pytest.mark.django_db
def test_move_rewrites_the_whole_subtree(personas: Personas) -> None:
    admin = personas.actor("admin")
    team = services.bu_create(
        actor=admin, name="小组", code="sh-1", kind="team", parent_id=personas.units["mfg-sh"].pk
    )
    services.bu_move(
        actor=admin, pk=personas.units["mfg-sh"].pk, parent_id=personas.units["fin"].pk
    )
    team.refresh_from_db()
    fin = personas.units["fin"]
    assert team.path.startswith(fin.path) and team.depth == fin.depth + 2
    assert ChangeRecord.objects.filter(verb="move").exists()


@pytest.mark.django_db
def test_moving_under_own_descendant_is_refused_and_nothing_changes(personas: Personas) -> None:
    paths = dict(BusinessUnit.objects.values_list("pk", "path"))
    with pytest.raises(ValidationError) as exc:
        services.bu_move(
            actor=personas.actor("admin"),
            pk=personas.units["mfg"].pk,
            parent_id=personas.units["mfg-sh"].pk,
        )
    assert "parent_id" in exc.value.fields
    assert dict(BusinessUnit.objects.values_list("pk", "path")) == paths


@pytest.mark.django_db
def test_api_move_under_descendant_is_422_problem(personas: Personas) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('admin')}"}
    response = Client().post(
        f"/api/v1/business-units/{personas.units['mfg'].pk}/move",
        {"parent_id": personas.units["mfg-sh"].pk},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **auth,
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "parent_id" in response.json()["errors"]


@pytest.mark.django_db
def test_duplicate_code_and_sibling_name_are_field_errors(personas: Personas) -> None:
    admin = personas.actor("admin")
    with pytest.raises(ValidationError) as exc:
        services.bu_create(
            actor=admin, name="新", code="mfg", kind="team", parent_id=personas.units["hx"].pk
        )
    assert "code" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        services.bu_create(
            actor=admin, name="华夏制造", code="x2", kind="team", parent_id=personas.units["hx"].pk
        )
    assert "name" in exc.value.fields


@pytest.mark.django_db
def test_subsidiary_manager_cannot_create_outside_own_subtree(personas: Personas) -> None:
    with pytest.raises(Exception) as exc:
        services.bu_create(
            actor=personas.actor("mfg_manager"),
            name="x",
            code="x",
            kind="team",
            parent_id=personas.units["fin"].pk,
        )
    assert exc.value.status == 404  # type: ignore[attr-defined]
    unit = services.bu_create(
        actor=personas.actor("mfg_manager"),
        name="x",
        code="x",
        kind="team",
        parent_id=personas.units["mfg"].pk,
    )
    assert unit.is_descendant_of(personas.units["mfg"])


@pytest.mark.django_db
def test_deactivate_requires_children_inactive(personas: Personas) -> None:
    admin = personas.actor("admin")
    with pytest.raises(Conflict):
        services.bu_set_active(actor=admin, pk=personas.units["mfg"].pk, active=False)
    services.bu_set_active(actor=admin, pk=personas.units["mfg-sh"].pk, active=False)
    assert not BusinessUnit.objects.get(pk=personas.units["mfg-sh"].pk).is_active


@pytest.mark.django_db
def test_user_create_validates_password_and_username(personas: Personas) -> None:
    admin = personas.actor("admin")
    with pytest.raises(ValidationError) as exc:
        services.user_create(
            actor=admin,
            username="mfg_am",
            password="short",
            bu_id=personas.units["mfg"].pk,
            role_id=personas.roles["am"].pk,
            email="bad",
        )
    assert {"username", "password", "email"} <= set(exc.value.fields)
    with pytest.raises(ValidationError) as exc:
        services.user_create(
            actor=admin,
            username="newbie",
            password="password123456",
            bu_id=personas.units["mfg"].pk,
            role_id=personas.roles["am"].pk,
        )
    assert "password" in exc.value.fields  # a common password


@pytest.mark.django_db
def test_no_privilege_escalation_through_role_grants(personas: Personas) -> None:
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=personas.actor("mfg_manager"),
            username="evil",
            password="Long-enough-pass-1",
            bu_id=personas.units["mfg"].pk,
            role_id=personas.roles["admin"].pk,
        )
    assert not User.objects.filter(username="evil").exists()


@pytest.mark.django_db
def test_new_user_is_welcomed_once_even_if_delivered_twice(personas: Personas) -> None:
    user = services.user_create(
        actor=personas.actor("admin"),
        username="xiaoming",
        password="Long-enough-pass-1",
        bu_id=personas.units["mfg"].pk,
        role_id=personas.roles["am"].pk,
    )
    outbox_dispatch()
    outbox_dispatch()
    assert Notification.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_org_chart_is_scoped(personas: Personas) -> None:
    roots = org_chart(actor=personas.actor("fin_manager"))
    names = {n.unit.name for n in roots}
    assert names == {"华夏金融"}
    assert any(m.user.username == "fin_am" for m in roots[0].members)


@pytest.mark.django_db
def test_users_of_other_bu_are_invisible_via_api(personas: Personas) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('fin_manager')}"}
    client = Client()
    listed = {
        u["username"] for u in client.get("/api/v1/users?page_size=200", **auth).json()["items"]
    }
    assert "fin_am" in listed and "mfg_am" not in listed
    assert client.get(f"/api/v1/users/{personas.mfg_am.pk}", **auth).status_code == 404
    response = client.patch(
        f"/api/v1/users/{personas.mfg_am.pk}",
        {"display_name": "x"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_system_actor_label() -> None:
    assert Actor.system("demo").label == "system:demo"
