"""Sales expenses (issue "Sales across the group", point 8): claims on opportunities,
approval through the approvals module (four eyes), totals, pages and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from groupcrm.approvals.models import ApprovalRequest
from groupcrm.approvals.services import approval_decide, approval_withdraw
from groupcrm.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.battery import ScopedBattery, ui_client
from groupcrm.core.testing.battery import api_client as api
from groupcrm.core.testing.personas import Personas
from groupcrm.sales.contracts import expenses, selectors
from groupcrm.sales.contracts.models import Expense
from tests.test_contracts import won

pytestmark = pytest.mark.usefixtures("default_pipeline")
BASE = "/api/v1/sales/expenses"
TODAY = timezone.localdate


def claim(personas: Personas, who: str = "mfg_am", unit: str = "mfg", **fields: Any) -> Expense:
    opportunity = fields.pop("opportunity", None) or won(personas, unit, who)
    return expenses.expense_create(
        actor=personas.actor(who),
        opportunity_id=opportunity.pk,
        kind=fields.pop("kind", "entertainment"),
        amount=fields.pop("amount", "880.50"),
        spent_on=fields.pop("spent_on", TODAY() - dt.timedelta(days=2)),
        description=fields.pop("description", "招待客户采购部"),
        receipt_ref=fields.pop("receipt_ref", "发票 No.0012345"),
    )


@pytest.mark.django_db
def test_an_expense_is_approved_by_someone_else(personas: Personas) -> None:
    expense = claim(personas)
    assert (expense.status, expense.bu_id, expense.owner_id) == (
        "draft",
        personas.units["mfg"].pk,
        personas.mfg_am.pk,
    )
    expense = expenses.expense_submit(actor=personas.actor("mfg_am"), pk=expense.pk)
    request = ApprovalRequest.objects.get(pk=expense.approval_id)
    assert (request.kind, request.status, request.payload["amount"]) == (
        "expenses.claim",
        "pending",
        "880.50",
    )
    # Submitted: no more edits.
    with pytest.raises(Conflict):
        expenses.expense_update(actor=personas.actor("mfg_am"), pk=expense.pk, amount="1")
    # The claimant cannot decide (four eyes); another unit's manager cannot even see it.
    with pytest.raises(PermissionDenied):
        approval_decide(actor=personas.actor("mfg_am"), pk=request.pk, decision="approve")
    with pytest.raises(NotFound):
        approval_decide(actor=personas.actor("fin_manager"), pk=request.pk, decision="approve")
    approval_decide(actor=personas.actor("mfg_lead"), pk=request.pk, decision="approve")
    expense.refresh_from_db()
    assert expense.status == "approved"
    assert OutboxEvent.objects.filter(name="sales.expense_approved").count() == 1


@pytest.mark.django_db
def test_a_rejected_expense_is_corrected_and_resubmitted(personas: Personas) -> None:
    am = personas.actor("mfg_am")
    expense = expenses.expense_submit(actor=am, pk=claim(personas).pk)
    approval_decide(
        actor=personas.actor("mfg_manager"),
        pk=expense.approval_id,
        decision="reject",
        comment="缺少发票",
    )
    expense.refresh_from_db()
    assert (expense.status, expense.decision_comment) == ("rejected", "缺少发票")
    expense = expenses.expense_update(actor=am, pk=expense.pk, receipt_ref="发票 No.0099")
    assert expense.status == "draft"
    expense = expenses.expense_submit(actor=am, pk=expense.pk)
    assert expense.status == "submitted"
    assert ApprovalRequest.objects.filter(subject_id=str(expense.pk)).count() == 2


@pytest.mark.django_db
def test_a_withdrawn_request_puts_the_expense_back_to_draft(personas: Personas) -> None:
    am = personas.actor("mfg_am")
    expense = expenses.expense_submit(actor=am, pk=claim(personas).pk)
    approval_withdraw(actor=am, pk=expense.approval_id)
    expense.refresh_from_db()
    assert expense.status == "draft"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, field",
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-3"}, "amount"),
        ({"amount": "12345678901"}, "amount"),
        ({"spent_on": dt.date(2999, 1, 1)}, "spent_on"),
        ({"kind": "bribe"}, "kind"),
        ({"description": "  "}, "description"),
    ],
)
def test_invalid_expenses_are_refused(
    personas: Personas, fields: dict[str, Any], field: str
) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        claim(personas, **fields)
    assert field in exc.value.fields
    assert not Expense.objects.exists()


@pytest.mark.django_db
def test_totals_per_opportunity_count_what_the_viewer_sees(personas: Personas) -> None:
    opportunity = won(personas)
    first = claim(personas, opportunity=opportunity, amount="100")
    claim(personas, opportunity=opportunity, amount="50.25")
    expenses.expense_submit(actor=personas.actor("mfg_am"), pk=first.pk)
    totals = selectors.opportunity_expense_totals(
        actor=personas.actor("mfg_lead"), opportunity=opportunity
    )
    assert (totals["draft"], totals["submitted"], totals["total"]) == (
        Decimal("50.25"),
        Decimal("100.00"),
        Decimal("150.25"),
    )
    nothing = selectors.opportunity_expense_totals(
        actor=personas.actor("fin_manager"), opportunity=opportunity
    )
    assert nothing["total"] == 0


@pytest.mark.django_db
def test_the_api_claims_edits_and_submits(personas: Personas) -> None:
    client, auth = api(personas, "mfg_am")
    opportunity = won(personas)
    response = client.post(
        BASE,
        {
            "opportunity_id": opportunity.pk,
            "kind": "travel",
            "amount": "1200",
            "spent_on": str(TODAY()),
            "description": "上海出差拜访",
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    future = client.patch(
        f"{BASE}/{pk}",
        {"spent_on": str(TODAY() + dt.timedelta(days=1))},
        content_type="application/json",
        **auth,
    )
    assert future.status_code == 422
    response = client.post(f"{BASE}/{pk}/submit", {}, content_type="application/json", **auth)
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    again = client.post(f"{BASE}/{pk}/submit", {}, content_type="application/json", **auth)
    assert again.status_code == 409
    items = client.get(f"{BASE}?opportunity_id={opportunity.pk}", **auth).json()["items"]
    assert [i["id"] for i in items] == [pk]


@pytest.mark.django_db
def test_pages_claim_submit_and_list(personas: Personas) -> None:
    client = ui_client(personas, "mfg_am")
    opportunity = won(personas)
    form = client.get(reverse("contracts:expense_create"), {"opportunity": opportunity.pk})
    assert form.status_code == 200
    response = client.post(
        reverse("contracts:expense_create"),
        {
            "opportunity_id": opportunity.pk,
            "kind": "gift",
            "amount": "300",
            "spent_on": str(TODAY()),
            "description": "中秋礼品",
        },
    )
    assert response.status_code == 302, response.content
    expense = Expense.objects.get()
    assert client.post(reverse("contracts:expense_submit", args=[expense.pk])).status_code == 302
    expense.refresh_from_db()
    assert expense.status == "submitted"
    with translation.override("zh-hans"):
        html = client.get(reverse("contracts:expenses")).content.decode()
    assert "中秋礼品" in html


class TestExpenseScope(ScopedBattery):
    model = Expense
    ui_list = "contracts:expenses"
    ui_detail = "contracts:expense_detail"
    ui_edit = "contracts:expense_edit"
    ui_delete = "contracts:expense_delete"
    api_base = BASE
    api_patch = {"description": "拜访客户总部"}

    @pytest.fixture(autouse=True)
    def _pipeline(self, default_pipeline: None) -> None:
        return None

    def make(self, personas: Personas, unit: str, owner: str) -> Expense:
        return claim(personas, owner, unit)

    def edit_form(self, row: Any) -> dict[str, Any]:
        return {
            "kind": "visit",
            "amount": "99.90",
            "spent_on": str(TODAY()),
            "description": "拜访",
        }
