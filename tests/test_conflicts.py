"""撞单 (issue "Sales across the group", point 7 and part of 10): engagement detection at
entry across a customer group, coordination, conflicts and their arbitration through the
approval mechanism, and the public pool's "no open opportunity" rule."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from groupcrm.approvals import services as approval_services
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict as StateConflict
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.events import outbox_dispatch
from groupcrm.core.models import Notification, OutboxEvent
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import PASSWORD, Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Customer, CustomerRelationship, PoolRule
from groupcrm.customers.normalize import make_uscc
from groupcrm.org.models import User
from groupcrm.org.services import token_create, user_create
from groupcrm.sales import services as sales_services
from groupcrm.sales.conflicts import selectors, services
from groupcrm.sales.conflicts.models import Conflict
from groupcrm.sales.models import Opportunity, RevenueSplit

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
NAMES = iter(f"撞单测试{n:04d}有限公司" for n in range(10_000))
API = "/api/v1/sales"


def company(parent: Customer | None = None) -> Customer:
    return customer_services.customer_create(
        actor=SYSTEM,
        legal_name=next(NAMES),
        uscc=make_uscc(random.Random()),
        parent_id=parent.pk if parent else None,
        start_relationship=False,
        similar_override_reason="test data",
    )


def opportunity(personas: Personas, customer: Customer, unit: str, owner: str) -> Opportunity:
    return sales_services.opportunity_create(
        actor=personas.actor(owner),
        customer_id=customer.pk,
        bu_id=personas.units[unit].pk,
        name=f"{unit} 项目",
        amount="300000",
        expected_close=timezone.localdate() + dt.timedelta(days=30),
    )


def group(personas: Personas) -> dict[str, Any]:
    """A parent company and its subsidiary: 华夏金融 sells to the subsidiary, 华夏制造 to
    the parent."""
    parent = company()
    child = company(parent)
    return {
        "parent": parent,
        "child": child,
        "fin_opp": opportunity(personas, child, "fin", "fin_am"),
        "mfg_opp": opportunity(personas, parent, "mfg", "mfg_am"),
    }


def arbitrator(personas: Personas) -> Actor:
    """A second group-wide key-account manager (the admin role at the group)."""
    user = User.objects.filter(username="kam").first() or user_create(
        actor=SYSTEM,
        username="kam",
        password=PASSWORD,
        bu_id=personas.units["hx"].pk,
        role_id=personas.roles["admin"].pk,
        display_name="kam",
        email="kam@example.com",
    )
    return Actor(User.objects.get(pk=user.pk))


def raise_conflict(personas: Personas, g: dict[str, Any], who: str = "mfg_am") -> Conflict:
    return services.conflict_raise(
        actor=personas.actor(who),
        customer_id=g["parent"].pk,
        bu_id=personas.units["mfg"].pk,
        other_bu_id=personas.units["fin"].pk,
        reason="我们先接触了集团采购部",
    )


# --- detection --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_engagements_span_the_customer_group_and_skip_the_own_side(personas: Personas) -> None:
    g = group(personas)
    found = selectors.engagements(
        actor=personas.actor("mfg_am"), customer=g["parent"], unit=personas.units["mfg"]
    )
    # fin works the subsidiary: an open opportunity and its (protected) relationship.
    assert {(e.bu_id, e.kind, e.customer_id) for e in found} == {
        (personas.units["fin"].pk, "opportunity", g["child"].pk),
        (personas.units["fin"].pk, "relationship", g["child"].pk),
    }
    assert all(e.owner_name == "fin_am" for e in found)
    # From the subsidiary too, and from a team below mfg: mfg is still its own side.
    from_team = selectors.engagements(
        actor=personas.actor("sh_am"), customer=g["child"], unit=personas.units["mfg-sh"]
    )
    assert {e.bu_id for e in from_team} == {personas.units["fin"].pk}
    from_fin = selectors.engagements(
        actor=personas.actor("fin_am"), customer=g["child"], unit=personas.units["fin"]
    )
    assert {e.bu_id for e in from_fin} == {personas.units["mfg"].pk}
    # The group unit above both is everybody's own side.
    assert not selectors.engagements(actor=SYSTEM, customer=g["child"], unit=personas.units["hx"])


@pytest.mark.django_db
def test_a_relationship_engages_only_while_protected(personas: Personas) -> None:
    customer = company()
    rel = customer_services.relationship_start(
        actor=SYSTEM,
        customer_id=customer.pk,
        bu_id=personas.units["fin"].pk,
        owner_id=personas.fin_am.pk,
    )
    mfg = personas.units["mfg"]
    assert [e.kind for e in selectors.engagements(actor=SYSTEM, customer=customer, unit=mfg)] == [
        "relationship"
    ]
    # The unit's protection period (a pool rule) has run out since the claim.
    PoolRule.objects.create(bu=personas.units["fin"], protection_days=30)
    CustomerRelationship.objects.filter(pk=rel.pk).update(
        claimed_at=timezone.now() - dt.timedelta(days=31)
    )
    assert selectors.engagements(actor=SYSTEM, customer=customer, unit=mfg) == []
    # An explicit protection date still counts.
    CustomerRelationship.objects.filter(pk=rel.pk).update(
        protected_until=timezone.localdate() + dt.timedelta(days=3)
    )
    assert len(selectors.engagements(actor=SYSTEM, customer=customer, unit=mfg)) == 1


@pytest.mark.django_db
def test_owner_names_only_for_those_who_may_see_the_customer(personas: Personas) -> None:
    g = group(personas)
    hidden = selectors.engagements(
        actor=personas.actor("nobody"), customer=g["parent"], unit=personas.units["mfg"]
    )
    assert hidden and all(e.owner_name == "" and e.owner_id is None for e in hidden)
    shown = selectors.engagements(
        actor=personas.actor("mfg_am2"), customer=g["parent"], unit=personas.units["mfg"]
    )
    assert {e.owner_name for e in shown} == {"fin_am"}


@pytest.mark.django_db
def test_coordinate_notifies_the_other_owners_and_is_logged(personas: Personas) -> None:
    g = group(personas)
    notified = services.conflict_coordinate(
        actor=personas.actor("mfg_am"), customer_id=g["parent"].pk, message="一起拜访？"
    )
    assert notified == [personas.fin_am.pk]
    note = Notification.objects.get(user=personas.fin_am, link__contains="/customers/")
    assert g["parent"].legal_name in note.title and note.body == "一起拜访？"
    assert ChangeRecord.objects.filter(verb="conflict_coordinate").count() == 1
    lonely = company()
    with pytest.raises(StateConflict) as caught:
        services.conflict_coordinate(actor=personas.actor("mfg_am"), customer_id=lonely.pk)
    assert caught.value.code == "nothing_to_coordinate"


# --- raising ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_raising_puts_it_to_the_arbitrators_above_both_units(personas: Personas) -> None:
    g = group(personas)
    conflict = raise_conflict(personas, g)
    assert conflict.group_root == g["parent"] and conflict.other_owner == personas.fin_am
    assert conflict.opportunity == g["mfg_opp"] and conflict.other_opportunity == g["fin_opp"]
    approval = ApprovalRequest.objects.get(kind="conflicts.decision")
    assert approval.bu == personas.units["hx"] and approval.subject_id == str(conflict.pk)
    assert OutboxEvent.objects.filter(name="sales.conflict_raised").count() == 1
    outbox_dispatch()
    # The other side hears of it; the arbitrators through the approvals inbox.
    assert Notification.objects.filter(user=personas.fin_am, link__contains="/conflicts/").exists()
    assert Notification.objects.filter(user=personas.admin, link__contains="/approvals/").exists()
    assert not Notification.objects.filter(
        user=personas.mfg_manager, link__contains="/approvals/"
    ).exists()


@pytest.mark.django_db
def test_nothing_to_arbitrate_on_a_released_customer(personas: Personas) -> None:
    customer = company()
    rel = customer_services.relationship_start(
        actor=SYSTEM,
        customer_id=customer.pk,
        bu_id=personas.units["fin"].pk,
        owner_id=personas.fin_am.pk,
    )
    customer_services.relationship_release(actor=SYSTEM, pk=rel.pk, reason="不再跟进")
    with translation.override("en"), pytest.raises(StateConflict) as caught:
        services.conflict_raise(
            actor=personas.actor("mfg_am"), customer_id=customer.pk, reason="我们想跟进"
        )
    assert caught.value.code == "nothing_to_arbitrate"
    assert "nothing to arbitrate" in str(caught.value.message)
    assert not Conflict.objects.exists() and not ApprovalRequest.objects.exists()


@pytest.mark.django_db
def test_one_open_conflict_per_group_and_pair(personas: Personas) -> None:
    g = group(personas)
    first = raise_conflict(personas, g)
    with pytest.raises(StateConflict) as caught:
        # From the subsidiary, by someone else of the same pair: still the same group.
        services.conflict_raise(
            actor=personas.actor("mfg_manager"),
            customer_id=g["child"].pk,
            bu_id=personas.units["mfg"].pk,
            reason="再提一次",
        )
    assert caught.value.code == "conflict_open"
    assert Conflict.objects.filter(status="open").count() == 1
    services.conflict_withdraw(actor=personas.actor("mfg_am"), pk=first.pk)
    first.refresh_from_db()
    assert first.status == "withdrawn" and first.approval.status == "rejected"
    assert raise_conflict(personas, g).status == "open"


@pytest.mark.django_db
def test_raising_needs_a_reason_and_permission(personas: Personas) -> None:
    g = group(personas)
    with pytest.raises(ValidationError) as caught:
        services.conflict_raise(
            actor=personas.actor("mfg_am"), customer_id=g["parent"].pk, reason=" "
        )
    assert "reason" in caught.value.fields
    with pytest.raises(PermissionDenied):
        services.conflict_raise(
            actor=personas.actor("nobody"), customer_id=g["parent"].pk, reason="x"
        )


# --- arbitration -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_owner_closes_the_losers_opportunities_and_ends_its_protection(
    personas: Personas,
) -> None:
    g = group(personas)
    conflict = raise_conflict(personas, g)
    kam = arbitrator(personas)
    decided = services.conflict_decide(
        actor=kam,
        pk=conflict.pk,
        decision="one_owner",
        winner_bu_id=personas.units["mfg"].pk,
        comment="制造先接触",
    )
    assert decided.status == "decided" and decided.decided_by_id == kam.user_id
    assert decided.winner_bu == personas.units["mfg"] and decided.comment == "制造先接触"
    g["fin_opp"].refresh_from_db()
    assert g["fin_opp"].status == "lost" and g["fin_opp"].lost_reason == "撞单裁决"
    fin_rel = CustomerRelationship.objects.get(customer=g["child"], bu=personas.units["fin"])
    assert fin_rel.owner_id is None and fin_rel.released_at is not None
    g["mfg_opp"].refresh_from_db()
    assert g["mfg_opp"].status == "open"
    assert decided.approval.status == "approved" and decided.approval.decided_by_id == kam.user_id
    assert OutboxEvent.objects.filter(name="sales.conflict_decided").count() == 1
    # Nobody else is engaged any more.
    assert (
        selectors.engagements(actor=SYSTEM, customer=g["parent"], unit=personas.units["mfg"]) == []
    )
    outbox_dispatch()
    told = set(
        Notification.objects.filter(
            link=reverse("conflicts:detail", args=[conflict.pk])
        ).values_list("user__username", flat=True)
    )
    assert {"mfg_am", "fin_am"} <= told


@pytest.mark.django_db
def test_joint_pursuit_splits_the_winners_opportunity(personas: Personas) -> None:
    g = group(personas)
    conflict = raise_conflict(personas, g)
    kam = arbitrator(personas)
    with pytest.raises(ValidationError) as caught:
        services.conflict_decide(
            actor=kam,
            pk=conflict.pk,
            decision="joint",
            winner_bu_id=personas.units["fin"].pk,
            raised_percent="70",
            other_percent="40",
        )
    assert "other_percent" in caught.value.fields
    conflict.refresh_from_db()
    assert conflict.status == "open" and conflict.decision == ""
    assert conflict.approval.status == "pending" and not RevenueSplit.objects.exists()
    services.conflict_decide(
        actor=kam,
        pk=conflict.pk,
        decision="joint",
        winner_bu_id=personas.units["fin"].pk,
        raised_percent="40",
        other_percent="60",
    )
    splits = {s.bu_id: s.percent for s in RevenueSplit.objects.filter(opportunity=g["fin_opp"])}
    assert splits == {
        personas.units["mfg"].pk: Decimal("40"),
        personas.units["fin"].pk: Decimal("60"),
    }
    assert set(RevenueSplit.objects.values_list("source", flat=True)) == {"conflict"}
    # Both keep working.
    assert Opportunity.objects.filter(status="open").count() == 2
    assert CustomerRelationship.objects.filter(owner__isnull=False).count() == 2


@pytest.mark.django_db
def test_release_returns_the_customer_to_both_pools(personas: Personas) -> None:
    g = group(personas)
    conflict = raise_conflict(personas, g)
    services.conflict_decide(actor=arbitrator(personas), pk=conflict.pk, decision="release")
    assert not CustomerRelationship.objects.filter(owner__isnull=False).exists()
    assert CustomerRelationship.objects.filter(released_at__isnull=False).count() == 2
    assert ChangeRecord.objects.filter(verb="conflict_release").count() == 2
    with pytest.raises(StateConflict):
        services.conflict_decide(actor=arbitrator(personas), pk=conflict.pk, decision="release")


@pytest.mark.django_db
def test_four_eyes_and_who_may_arbitrate(personas: Personas) -> None:
    g = group(personas)
    # The admin raises for mfg: the admin may not also decide it.
    conflict = raise_conflict(personas, g, who="admin")
    with pytest.raises(PermissionDenied):
        services.conflict_decide(actor=personas.actor("admin"), pk=conflict.pk, decision="release")
    # An account manager holds no arbitration right; mfg's manager reaches only one side.
    with pytest.raises(PermissionDenied):
        services.conflict_decide(actor=personas.actor("fin_am"), pk=conflict.pk, decision="release")
    with pytest.raises(PermissionDenied):
        services.conflict_decide(
            actor=personas.actor("mfg_manager"), pk=conflict.pk, decision="release"
        )
    assert not selectors.conflict_queue(actor=personas.actor("mfg_manager")).exists()
    assert list(selectors.conflict_queue(actor=arbitrator(personas))) == [conflict]
    conflict.refresh_from_db()
    assert conflict.status == "open"


@pytest.mark.django_db
def test_approving_in_the_inbox_needs_the_decision_rejecting_dismisses(
    personas: Personas,
) -> None:
    g = group(personas)
    conflict = raise_conflict(personas, g)
    kam = arbitrator(personas)
    with pytest.raises(ValidationError):
        approval_services.approval_decide(actor=kam, pk=conflict.approval_id, decision="approve")
    conflict.refresh_from_db()
    assert conflict.status == "open" and conflict.approval.status == "pending"
    approval_services.approval_decide(
        actor=kam, pk=conflict.approval_id, decision="reject", comment="请双方协调"
    )
    conflict.refresh_from_db()
    assert conflict.status == "dismissed" and conflict.comment == "请双方协调"
    assert Opportunity.objects.filter(status="open").count() == 2


@pytest.mark.django_db
def test_each_side_sees_only_the_conflicts_involving_its_units(personas: Personas) -> None:
    g = group(personas)
    conflict = raise_conflict(personas, g)

    def sees(who: str) -> bool:
        return selectors.conflict_list(actor=personas.actor(who)).filter(pk=conflict.pk).exists()

    assert sees("mfg_am") and sees("fin_am") and sees("fin_manager") and sees("mfg_lead")
    assert sees("admin") and sees("analyst")
    assert not sees("mfg_am2") and not sees("sh_am")
    client = ui_client(personas, "mfg_am2")
    assert client.get(reverse("conflicts:detail", args=[conflict.pk])).status_code == 404
    assert client.get(reverse("conflicts:queue")).status_code == 403


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_opportunity_form_and_new_opportunity_show_the_notice(personas: Personas) -> None:
    g = group(personas)
    client = ui_client(personas, "mfg_am2")
    page = client.get(reverse("sales:create") + f"?customer={g['parent'].pk}")
    html = page.content.decode()
    assert 'data-testid="conflict-notice"' in html and "华夏金融" in html and "fin_am" in html
    assert reverse("conflicts:raise") in html
    refer = f"{reverse('leads:referral_create')}?customer={g['parent'].pk}&amp;to_bu="
    assert refer in html
    fragment = client.get(
        reverse("conflicts:notice"),
        {"customer_id": g["child"].pk, "bu_id": personas.units["mfg"].pk},
    )
    assert "conflict-notice" in fragment.content.decode()
    back = client.get(
        reverse("conflicts:notice"),
        {"customer_id": g["child"].pk},
        HTTP_HX_CURRENT_URL="http://testserver/sales/opportunities/new/",
    )
    assert 'value="http://testserver/sales/opportunities/new/"' in back.content.decode()
    response = client.post(
        reverse("sales:create"),
        {
            "customer_id": g["parent"].pk,
            "name": "第二个项目",
            "bu_id": personas.units["mfg"].pk,
            "owner_id": personas.mfg_am2.pk,
            "amount": "1000",
            "expected_close": (timezone.localdate() + dt.timedelta(days=9)).isoformat(),
            "forecast_category": "pipeline",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("?engaged=1")
    detail = client.get(response["Location"]).content.decode()
    assert 'data-testid="conflict-notice"' in detail
    # Without other units engaged there is no notice, and no flag.
    lonely = company()
    assert (
        'data-testid="conflict-notice"'
        not in client.get(reverse("sales:create") + f"?customer={lonely.pk}").content.decode()
    )


@pytest.mark.django_db
def test_coordinate_and_raise_from_the_pages(personas: Personas) -> None:
    g = group(personas)
    client = ui_client(personas, "mfg_am")
    response = client.post(
        reverse("conflicts:coordinate"),
        {
            "customer_id": g["parent"].pk,
            "bu_id": personas.units["mfg"].pk,
            "next": "/sales/opportunities/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/sales/opportunities/"
    assert (
        Notification.objects.filter(user=personas.fin_am, link__contains="/customers/").count() == 1
    )
    form = client.get(reverse("conflicts:raise") + f"?customer={g['parent'].pk}")
    assert "华夏金融" in form.content.decode()
    response = client.post(
        reverse("conflicts:raise"),
        {
            "customer_id": g["parent"].pk,
            "bu_id": personas.units["mfg"].pk,
            "other_bu_id": personas.units["fin"].pk,
            "reason": "",
        },
    )
    assert response.status_code == 200 and not Conflict.objects.exists()
    response = client.post(
        reverse("conflicts:raise"),
        {
            "customer_id": g["parent"].pk,
            "bu_id": personas.units["mfg"].pk,
            "other_bu_id": personas.units["fin"].pk,
            "reason": "我们先接触",
        },
    )
    conflict = Conflict.objects.get()
    assert response["Location"] == reverse("conflicts:detail", args=[conflict.pk])
    listing = client.get(reverse("conflicts:list")).content.decode()
    assert f'data-conflict="{conflict.pk}"' in listing
    # The 360 page of any company of the group shows the open conflict to both sides.
    other = ui_client(personas, "fin_am")
    card = other.get(reverse("customers:detail", args=[g["child"].pk])).content.decode()
    assert 'data-testid="conflicts-panel"' in card


@pytest.mark.django_db
def test_arbitration_from_the_detail_page(personas: Personas) -> None:
    g = group(personas)
    conflict = raise_conflict(personas, g)
    arbitrator(personas)
    client = ui_client(personas, "admin")
    client.force_login(User.objects.get(username="kam"))
    queue = client.get(reverse("conflicts:queue")).content.decode()
    assert f'data-conflict="{conflict.pk}"' in queue and "300,000" in queue
    url = reverse("conflicts:detail", args=[conflict.pk])
    bad = client.post(url, {"decision": "joint", "winner_bu_id": personas.units["mfg"].pk})
    assert bad.status_code == 200 and 'data-field="raised_percent"' in bad.content.decode()
    done = client.post(
        url,
        {
            "decision": "joint",
            "winner_bu_id": personas.units["mfg"].pk,
            "raised_percent": "50",
            "other_percent": "50",
        },
    )
    assert done.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == "decided"
    assert RevenueSplit.objects.filter(opportunity=g["mfg_opp"]).count() == 2
    # The raiser sees the decision, and no form.
    page = ui_client(personas, "mfg_am").get(url).content.decode()
    assert 'data-testid="decision"' in page and 'data-testid="decide"' not in page


# --- API ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api(personas: Personas) -> None:
    g = group(personas)
    client, auth = api_client(personas, "mfg_am")
    found = client.get(
        f"{API}/engagements",
        {"customer_id": g["parent"].pk, "bu_id": personas.units["mfg"].pk},
        **auth,
    ).json()
    assert {(e["bu_name"], e["kind"], e["owner_name"]) for e in found} == {
        ("华夏金融", "opportunity", "fin_am"),
        ("华夏金融", "relationship", "fin_am"),
    }
    created = client.post(
        f"{API}/conflicts",
        {"customer_id": g["parent"].pk, "reason": "先接触"},
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "open" and body["other_bu_id"] == personas.units["fin"].pk
    again = client.post(
        f"{API}/conflicts",
        {"customer_id": g["parent"].pk, "reason": "再提"},
        content_type="application/json",
        **auth,
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict_open"
    denied = client.post(
        f"{API}/conflicts/{body['id']}/decide",
        {"decision": "release"},
        content_type="application/json",
        **auth,
    )
    assert denied.status_code == 403
    _token, secret = token_create(
        actor=arbitrator(personas), name="t", scope="write", expires_in_days=1
    )
    kam_auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    todo = client.get(f"{API}/conflicts", {"to_decide": "true"}, **kam_auth).json()
    assert [c["id"] for c in todo["items"]] == [body["id"]]
    bad = client.post(
        f"{API}/conflicts/{body['id']}/decide",
        {
            "decision": "joint",
            "winner_bu_id": personas.units["mfg"].pk,
            "raised_percent": 30,
            "other_percent": 30,
        },
        content_type="application/json",
        **kam_auth,
    )
    assert bad.status_code == 422
    ok = client.post(
        f"{API}/conflicts/{body['id']}/decide",
        {"decision": "one_owner", "winner_bu_id": personas.units["fin"].pk},
        content_type="application/json",
        **kam_auth,
    )
    assert ok.status_code == 200 and ok.json()["status"] == "decided"
    g["mfg_opp"].refresh_from_db()
    assert g["mfg_opp"].status == "lost"
    assert client.get(f"{API}/conflicts/{body['id']}", **auth).json()["decision"] == "one_owner"
    other, other_auth = api_client(personas, "sh_am")
    assert other.get(f"{API}/conflicts/{body['id']}", **other_auth).status_code == 404
    assert other.get(f"{API}/conflicts", **other_auth).json()["count"] == 0
    nothing = client.post(
        f"{API}/conflicts",
        {"customer_id": company().pk, "reason": "x"},
        content_type="application/json",
        **auth,
    )
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_arbitrate"


@pytest.mark.django_db
def test_withdraw_through_the_api_only_by_the_raiser(personas: Personas) -> None:
    g = group(personas)
    conflict = raise_conflict(personas, g)
    other, other_auth = api_client(personas, "fin_am")
    assert other.post(f"{API}/conflicts/{conflict.pk}/withdraw", **other_auth).status_code == 403
    client, auth = api_client(personas, "mfg_am")
    response = client.post(f"{API}/conflicts/{conflict.pk}/withdraw", **auth)
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert client.post(f"{API}/conflicts/{conflict.pk}/withdraw", **auth).status_code == 409


# --- the public pool: "no open opportunity" ----------------------------------------------------


def owned(personas: Personas, days_ago: int) -> CustomerRelationship:
    customer = company()
    rel = customer_services.relationship_start(
        actor=SYSTEM,
        customer_id=customer.pk,
        bu_id=personas.units["mfg"].pk,
        owner_id=personas.mfg_am.pk,
    )
    CustomerRelationship.objects.filter(pk=rel.pk).update(
        claimed_at=timezone.now() - dt.timedelta(days=days_ago),
        last_followup_at=timezone.now() - dt.timedelta(days=days_ago),
    )
    rel.refresh_from_db()
    return rel


@pytest.mark.django_db
def test_reclaim_after_days_without_an_open_opportunity(personas: Personas) -> None:
    PoolRule.objects.create(
        bu=personas.units["mfg"], reclaim_after_days=0, reclaim_without_opportunity_days=10
    )
    idle = owned(personas, 20)
    busy = owned(personas, 20)
    opportunity(personas, busy.customer, "mfg", "mfg_am")
    rule = customer_services.pool_rule(personas.units["mfg"].pk)
    with translation.override("en"):
        plan = customer_services.reclaim_plan(idle, rule)
        assert plan is not None and plan.reason == "No open opportunity for 10 days"
        assert customer_services.reclaim_plan(busy, rule) is None
        page = ui_client(personas, "mfg_am").get(
            reverse("customers:relationship", args=[idle.pk]), HTTP_ACCEPT_LANGUAGE="en"
        )
        assert "No open opportunity for 10 days" in page.content.decode()
    assert customer_services.pool_reclaim() == 1
    idle.refresh_from_db()
    busy.refresh_from_db()
    assert idle.owner_id is None and busy.owner_id == personas.mfg_am.pk


@pytest.mark.django_db
def test_reclaim_counts_from_the_last_closed_opportunity(personas: Personas) -> None:
    PoolRule.objects.create(
        bu=personas.units["mfg"], reclaim_after_days=0, reclaim_without_opportunity_days=10
    )
    rel = owned(personas, 40)
    opp = opportunity(personas, rel.customer, "mfg", "mfg_am")
    Opportunity.objects.filter(pk=opp.pk).update(
        status="lost", closed_at=timezone.now() - dt.timedelta(days=3)
    )
    rule = customer_services.pool_rule(personas.units["mfg"].pk)
    plan = customer_services.reclaim_plan(rel, rule)
    assert plan is not None and plan.on == timezone.localdate() + dt.timedelta(days=7)


@pytest.mark.django_db
def test_an_open_opportunity_exempts_from_the_follow_up_rule(personas: Personas) -> None:
    rule = PoolRule.objects.create(bu=personas.units["mfg"], reclaim_after_days=5)
    rel = owned(personas, 30)
    opportunity(personas, rel.customer, "mfg", "mfg_am")
    assert customer_services.reclaim_plan(rel, rule) is not None
    customer_services.pool_rule_update(
        actor=personas.actor("admin"), bu_id=personas.units["mfg"].pk, exempt_open_opportunity=True
    )
    rule.refresh_from_db()
    assert customer_services.reclaim_plan(rel, rule) is None
    assert customer_services.pool_reclaim() == 0
    with pytest.raises(ValidationError):
        customer_services.pool_rule_update(
            actor=personas.actor("admin"), bu_id=personas.units["mfg"].pk, protection_days=-1
        )


@pytest.mark.django_db
def test_the_pool_rule_page_saves_the_opportunity_options(personas: Personas) -> None:
    client = ui_client(personas, "admin")
    url = reverse("customers:pool_rule", args=[personas.units["mfg"].pk])
    assert "reclaim_without_opportunity_days" in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "grades": "A, B",
            "max_owned": 100,
            "daily_claim_limit": 5,
            "reclaim_after_days": 30,
            "exempt_won": "on",
            "exempt_open_opportunity": "on",
            "reclaim_without_opportunity_days": 60,
            "protection_days": 45,
        },
    )
    assert response.status_code == 302
    rule = PoolRule.objects.get(bu=personas.units["mfg"])
    assert rule.exempt_open_opportunity and rule.reclaim_without_opportunity_days == 60
    assert rule.protection_days == 45
    # The units below inherit it; the 360 page explains a coming return.
    assert customer_services.pool_rule(personas.units["mfg-sh"].pk) == rule
    rel = owned(personas, 70)
    CustomerRelationship.objects.filter(pk=rel.pk).update(last_followup_at=timezone.now())
    page = client.get(
        reverse("customers:detail", args=[rel.customer_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "No open opportunity for 60 days" in page
