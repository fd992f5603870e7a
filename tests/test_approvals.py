"""Approvals (审批): one request/decide/withdraw mechanism every module reuses."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from groupcrm.approvals import selectors, services
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.approvals.registry import register_kind
from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from groupcrm.core.events import outbox_dispatch
from groupcrm.core.models import Notification, OutboxEvent, SavedView
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services

SYSTEM = Actor.system("tests")
APPLIED = "approval-test"


def _apply(request: ApprovalRequest, actor: Actor) -> None:
    """The test kind's business effect: a row that exists only if the decision does."""
    SavedView.objects.create(
        user_id=request.requested_by_id,
        page=APPLIED,
        name=f"{request.status}-{request.pk}",
        query=f"pct={request.payload['pct']}",
    )


def _explode(request: ApprovalRequest, actor: Actor) -> None:
    _apply(request, actor)
    raise Conflict("the discount no longer applies")


register_kind(
    "test.discount",
    "测试折扣",
    module="opportunities",
    on_approved=_apply,
    on_rejected=_apply,
    describe=lambda r: f"折扣 {r.payload['pct']}%",
    subject_url="sales:detail",
)
register_kind("test.failing", "会失败的审批", module="opportunities", on_approved=_explode)


def ask(
    personas: Personas, who: str = "mfg_am", unit: str = "mfg", subject: int = 1, **kw: Any
) -> ApprovalRequest:
    args: dict[str, Any] = {
        "kind": "test.discount",
        "bu_id": personas.units[unit].pk,
        "subject_type": "sales.opportunity",
        "subject_id": subject,
        "title": f"商机 {subject} 折扣",
        "payload": {"pct": 15},
        "reason": "战略客户",
        **kw,
    }
    return services.approval_request(actor=personas.actor(who), **args)


def applied() -> list[str]:
    return list(SavedView.objects.filter(page=APPLIED).values_list("name", flat=True))


# --- request and decide --------------------------------------------------------------------


@pytest.mark.django_db
def test_it_applies_the_callback_when_approved_with_audit_and_event(personas: Personas) -> None:
    request = ask(personas)
    assert request.status == "pending" and request.requested_by == personas.mfg_am
    decided = services.approval_decide(
        actor=personas.actor("mfg_lead"), pk=request.pk, decision="approve", comment="同意"
    )
    assert decided.status == "approved" and decided.decided_by == personas.mfg_lead
    assert decided.comment == "同意" and decided.decided_at is not None
    assert applied() == [f"approved-{request.pk}"]
    verbs = ChangeRecord.objects.filter(object_type="approvals.approvalrequest").values_list(
        "action", "verb"
    )
    assert ("create", "") in verbs and ("update", "approval_approved") in verbs
    names = set(OutboxEvent.objects.values_list("name", flat=True))
    assert {"approvals.requested", "approvals.approved"} <= names


@pytest.mark.django_db
def test_a_failing_callback_rolls_the_decision_back(personas: Personas) -> None:
    request = ask(personas, kind="test.failing")
    events = OutboxEvent.objects.count()
    with pytest.raises(Conflict):
        services.approval_decide(
            actor=personas.actor("mfg_lead"), pk=request.pk, decision="approve"
        )
    request.refresh_from_db()
    assert request.status == "pending" and request.decided_by is None
    assert applied() == [] and OutboxEvent.objects.count() == events


@pytest.mark.django_db
def test_rejecting_needs_a_comment_and_runs_the_reject_callback(personas: Personas) -> None:
    request = ask(personas)
    with pytest.raises(ValidationError) as exc:
        services.approval_decide(
            actor=personas.actor("mfg_lead"), pk=request.pk, decision="reject", comment="  "
        )
    assert "comment" in exc.value.fields
    request.refresh_from_db()
    assert request.status == "pending"
    services.approval_decide(
        actor=personas.actor("mfg_lead"), pk=request.pk, decision="reject", comment="折扣过高"
    )
    request.refresh_from_db()
    assert (request.status, request.comment) == ("rejected", "折扣过高")
    assert applied() == [f"rejected-{request.pk}"]


@pytest.mark.django_db
def test_the_requester_cannot_decide_their_own_request(personas: Personas) -> None:
    # The lead holds approvals.approve over mfg, yet not over their own request.
    request = ask(personas, who="mfg_lead")
    with pytest.raises(PermissionDenied):
        services.approval_decide(
            actor=personas.actor("mfg_lead"), pk=request.pk, decision="approve"
        )
    assert not selectors.approvals_to_decide(actor=personas.actor("mfg_lead")).exists()
    api, auth = api_client(personas, "mfg_lead")
    response = api.post(
        f"/api/v1/approvals/{request.pk}/decide",
        {"decision": "approve"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "pending" and applied() == []


@pytest.mark.django_db
def test_an_approver_of_another_unit_neither_sees_nor_decides_it(personas: Personas) -> None:
    request = ask(personas)
    fin = personas.actor("fin_manager")
    with pytest.raises(NotFound):
        services.approval_decide(actor=fin, pk=request.pk, decision="approve")
    assert not selectors.approval_list(actor=fin).exists()
    assert (
        ui_client(personas, "fin_manager")
        .get(reverse("approvals:detail", args=[request.pk]))
        .status_code
        == 404
    )
    api, auth = api_client(personas, "fin_manager")
    assert api.get(f"/api/v1/approvals/{request.pk}", **auth).status_code == 404
    response = api.post(
        f"/api/v1/approvals/{request.pk}/decide",
        {"decision": "approve"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    # The subsidiary's manager (subtree) and the group admin do reach it.
    for who in ("mfg_manager", "admin"):
        assert selectors.can_decide(actor=personas.actor(who), request=request)
    request.refresh_from_db()
    assert request.status == "pending"


@pytest.mark.django_db
def test_a_decided_request_cannot_be_decided_again(personas: Personas) -> None:
    request = ask(personas)
    services.approval_decide(actor=personas.actor("mfg_lead"), pk=request.pk, decision="approve")
    with pytest.raises(Conflict):
        services.approval_decide(
            actor=personas.actor("mfg_manager"), pk=request.pk, decision="reject", comment="晚了"
        )
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == personas.mfg_lead
    assert applied() == [f"approved-{request.pk}"]


@pytest.mark.django_db
def test_a_second_pending_request_for_one_subject_is_a_conflict(personas: Personas) -> None:
    ask(personas)
    with pytest.raises(Conflict):
        ask(personas, who="mfg_am2")
    assert ApprovalRequest.objects.count() == 1
    ask(personas, subject=2)  # another subject is fine


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_decisions_give_one_decision_and_one_conflict(
    personas: Personas,
) -> None:
    """The conditional UPDATE decides: the second approver's row lock waits for the
    first commit, then matches no pending row and answers 409."""
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    request = ask(personas)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def decide(who: str, decision: str) -> None:
        barrier.wait()
        try:
            services.approval_decide(
                actor=personas.actor(who), pk=request.pk, decision=decision, comment="并发"
            )
            results.append(decision)
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=args)
        for args in (("mfg_lead", "approve"), ("mfg_manager", "reject"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results.count("conflict") == 1
    request.refresh_from_db()
    winner = next(r for r in results if r != "conflict")
    assert request.status == {"approve": "approved", "reject": "rejected"}[winner]
    assert len(applied()) == 1
    assert OutboxEvent.objects.filter(name=f"approvals.{request.status}").count() == 1


@pytest.mark.django_db
def test_the_requester_withdraws_a_pending_request_only(personas: Personas) -> None:
    request = ask(personas)
    with pytest.raises(PermissionDenied):
        services.approval_withdraw(actor=personas.actor("mfg_lead"), pk=request.pk)
    services.approval_withdraw(actor=personas.actor("mfg_am"), pk=request.pk)
    request.refresh_from_db()
    assert request.status == "withdrawn"
    assert applied() == [f"withdrawn-{request.pk}"]
    assert OutboxEvent.objects.filter(name="approvals.withdrawn").exists()
    with pytest.raises(Conflict):
        services.approval_withdraw(actor=personas.actor("mfg_am"), pk=request.pk)
    with pytest.raises(Conflict):
        services.approval_decide(
            actor=personas.actor("mfg_lead"), pk=request.pk, decision="approve"
        )
    ask(personas)  # the subject is free for a new request


# --- notifications ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_approvers_hear_of_a_request_and_the_requester_of_the_decision(
    personas: Personas,
) -> None:
    request = ask(personas)
    outbox_dispatch()
    link = reverse("approvals:detail", args=[request.pk])
    told = set(Notification.objects.filter(link=link).values_list("user__username", flat=True))
    # Approvers reaching mfg: its lead (team), its manager (subtree), the group admin.
    assert told == {"mfg_lead", "mfg_manager", "admin"}
    services.approval_decide(
        actor=personas.actor("mfg_lead"), pk=request.pk, decision="reject", comment="折扣过高"
    )
    outbox_dispatch()
    note = Notification.objects.get(user=personas.mfg_am, link=link)
    assert request.title in note.title
    assert note.body == "折扣过高" and note.link == link
    # Redelivering the events notifies nobody twice.
    OutboxEvent.objects.update(status="pending", next_attempt_at=None)
    from groupcrm.core.models import EventDelivery

    EventDelivery.objects.all().delete()
    before = Notification.objects.count()
    outbox_dispatch()
    assert Notification.objects.count() == before


# --- UI --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_inbox_lists_what_awaits_me_with_customer_changes_too(personas: Personas) -> None:
    request = ask(personas)
    customer = customer_services.customer_create(
        actor=personas.actor("mfg_am"), legal_name="华夏审批测试有限公司"
    )
    customer_services.customer_update(
        actor=personas.actor("mfg_am"),
        pk=customer.pk,
        group_grade="strategic",
        change_reason="升级",
    )
    page = ui_client(personas, "mfg_manager").get(reverse("approvals:inbox"))
    html = page.content.decode()
    assert page.status_code == 200
    assert request.title in html and "折扣 15%" in html
    assert "华夏审批测试有限公司" in html and reverse("customers:changes") in html
    assert 'data-testid="nav-badge">2<' in html
    # The requester sees it under 我发起的, not under 待我审批.
    mine = ui_client(personas, "mfg_am")
    assert request.title not in mine.get(reverse("approvals:inbox")).content.decode()
    assert request.title in mine.get(reverse("approvals:inbox") + "?tab=mine").content.decode()
    done = mine.get(reverse("approvals:inbox") + "?tab=done")
    assert 'data-testid="empty"' in done.content.decode()


@pytest.mark.django_db
def test_the_detail_page_decides_with_a_comment(personas: Personas) -> None:
    request = ask(personas)
    client = ui_client(personas, "mfg_lead")
    url = reverse("approvals:detail", args=[request.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="decide"' in page.content.decode()
    assert "pct" in page.content.decode()
    # The kind names the subject's page: the approver can look at what they decide.
    assert f'href="{reverse("sales:detail", args=[1])}"' in page.content.decode()
    response = client.post(url, {"decision": "reject", "comment": ""})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    request.refresh_from_db()
    assert request.status == "pending"
    response = client.post(url, {"decision": "approve", "comment": "可以"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "approved" and applied() == [f"approved-{request.pk}"]
    page = client.get(reverse("approvals:inbox") + "?tab=done")
    assert request.title in page.content.decode()
    # The requester cannot decide it from the page either.
    other = ask(personas, subject=2)
    response = ui_client(personas, "mfg_am").post(
        reverse("approvals:detail", args=[other.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_requester_withdraws_from_the_page(personas: Personas) -> None:
    request = ask(personas)
    client = ui_client(personas, "mfg_am")
    assert "withdraw" in client.get(reverse("approvals:detail", args=[request.pk])).content.decode()
    response = client.post(reverse("approvals:withdraw", args=[request.pk]))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "withdrawn"


def test_anonymous_visitors_are_sent_to_sign_in(db: None) -> None:
    response = Client().get(reverse("approvals:inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().get("/api/v1/approvals").status_code == 401


# --- API -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_lists_filters_reads_and_decides(personas: Personas) -> None:
    first = ask(personas)
    second = ask(personas, subject=2, payload={"pct": 20})
    api, auth = api_client(personas, "mfg_lead")
    body = api.get("/api/v1/approvals?to_decide=true", **auth).json()
    assert body["count"] == 2 and {i["id"] for i in body["items"]} == {first.pk, second.pk}
    item = api.get(f"/api/v1/approvals/{first.pk}", **auth).json()
    assert item["summary"] == "折扣 15%" and item["kind_label"] == "测试折扣"
    assert item["payload"] == {"pct": 15} and item["subject_id"] == "1"
    response = api.post(
        f"/api/v1/approvals/{first.pk}/decide",
        {"decision": "approve", "comment": "好"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    again = api.post(
        f"/api/v1/approvals/{first.pk}/decide",
        {"decision": "approve"},
        content_type="application/json",
        **auth,
    )
    assert again.status_code == 409
    assert api.get("/api/v1/approvals?to_decide=true", **auth).json()["count"] == 1
    assert api.get("/api/v1/approvals?status=approved", **auth).json()["count"] == 1
    bad = api.get("/api/v1/approvals?status=maybe", **auth)
    assert bad.status_code == 422 and "status" in bad.json()["errors"]
    am, am_auth = api_client(personas, "mfg_am")
    mine = am.get("/api/v1/approvals?mine=true&page_size=1", **am_auth).json()
    assert mine["count"] == 2 and len(mine["items"]) == 1
    response = am.post(f"/api/v1/approvals/{second.pk}/withdraw", **am_auth)
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "no.such.kind"}, "kind"),
        ({"bu_id": 999999}, "bu_id"),
        ({"title": "  "}, "title"),
        ({"payload": ["not", "an", "object"]}, "payload"),
        ({"subject_type": ""}, "subject_type"),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(
    personas: Personas, change: dict[str, Any], field: str
) -> None:
    records, events = ChangeRecord.objects.count(), OutboxEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        ask(personas, **change)
    assert field in exc.value.fields
    assert not ApprovalRequest.objects.exists()
    assert (ChangeRecord.objects.count(), OutboxEvent.objects.count()) == (records, events)


@pytest.mark.django_db
def test_asking_in_a_unit_one_does_not_work_in_is_refused(personas: Personas) -> None:
    with pytest.raises(ValidationError) as exc:
        ask(personas, unit="fin")
    assert "bu_id" in exc.value.fields and not ApprovalRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "reject", "comment": ""}, "comment"),
        ({"decision": "approve", "comment": "长" * 501}, "comment"),
        ({"decision": "approve", "extra": 1}, "extra"),
    ],
)
def test_bad_decisions_answer_422_naming_the_field(
    personas: Personas, body: dict[str, Any], field: str
) -> None:
    request = ask(personas)
    api, auth = api_client(personas, "mfg_lead")
    records = ChangeRecord.objects.count()
    response = api.post(
        f"/api/v1/approvals/{request.pk}/decide", body, content_type="application/json", **auth
    )
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    request.refresh_from_db()
    assert request.status == "pending" and ChangeRecord.objects.count() == records
    with pytest.raises(ValidationError) as exc:
        services.approval_decide(actor=personas.actor("mfg_lead"), pk=request.pk, decision="maybe")
    assert "decision" in exc.value.fields
