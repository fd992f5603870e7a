from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from groupcrm.org.schemas import Strict
from groupcrm.sales.models import CURRENCY
from groupcrm.sales.schemas import AMOUNT_HELP, Amount

POSITIVE_HELP = "Amount in CNY as a decimal string, above 0, at most 2 decimals."


def _money(value: Any) -> str:
    return f"{value:.2f}"


class InstalmentOut(Schema):
    id: int
    sequence: int
    due_on: date
    amount: str
    paid_amount: str
    outstanding: str
    status: str
    overdue_since: date | None
    currency: str = CURRENCY

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return _money(obj.amount)

    @staticmethod
    def resolve_paid_amount(obj: Any) -> str:
        return _money(obj.paid_amount)

    @staticmethod
    def resolve_outstanding(obj: Any) -> str:
        return _money(obj.outstanding)


class ContractOut(Schema):
    id: int
    number: str
    title: str
    opportunity_id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.legal_name")
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    owner_id: int
    amount: str
    received: str
    outstanding: str
    currency: str = CURRENCY
    signed_on: date | None
    start_on: date | None
    end_on: date | None
    status: str
    notes: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return _money(obj.amount)

    @staticmethod
    def resolve_received(obj: Any) -> str:
        return _money(obj.received)

    @staticmethod
    def resolve_outstanding(obj: Any) -> str:
        return _money(obj.outstanding)


class ContractDetail(ContractOut):
    instalments: list[InstalmentOut]

    @staticmethod
    def resolve_instalments(obj: Any) -> list[Any]:
        return list(obj.instalments.order_by("sequence"))


class ContractIn(Strict):
    opportunity_id: int = Field(..., description="A won opportunity without a contract.")
    amount: Amount | None = Field(None, description=f"{AMOUNT_HELP} Default: the opportunity's.")
    title: str = Field("", description="Default: the opportunity's name.")
    signed_on: date | None = None
    start_on: date | None = None
    end_on: date | None = None
    notes: str = ""


class ContractPatch(Strict):
    title: str | None = None
    amount: Amount | None = Field(
        None, description="Only while no payment plan is set (clear it with PUT [])."
    )
    signed_on: date | None = None
    start_on: date | None = None
    end_on: date | None = None
    notes: str | None = None
    status: str | None = Field(
        None, description="`active` (needs signed_on and a plan) or `cancelled` (no payments)."
    )


class InstalmentIn(Strict):
    id: int | None = Field(None, description="Keep an existing instalment (its payments stay).")
    due_on: date
    amount: Amount = Field(..., description=POSITIVE_HELP)


class PlanIn(Strict):
    instalments: list[InstalmentIn] = Field(
        ..., description="In order; must add up to exactly the contract amount."
    )


class PaymentOut(Schema):
    id: int
    contract_id: int
    instalment_id: int
    instalment_sequence: int = Field(..., alias="instalment.sequence")
    amount: str
    currency: str = CURRENCY
    received_on: date
    method: str
    reference: str
    recorded_by_id: int | None
    created_at: datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return _money(obj.amount)


class PaymentIn(Strict):
    instalment_id: int
    amount: Amount = Field(..., description=POSITIVE_HELP)
    received_on: date = Field(..., description="Not in the future.")
    method: str = Field("transfer", description="transfer, acceptance, cheque, cash, other")
    reference: str = ""


class FiguresOut(Schema):
    contracts: int
    contracted: str
    received: str
    outstanding: str
    overdue: str
    currency: str = CURRENCY


class AgingOut(Schema):
    code: str
    label: str
    amount: str


class ReceivableOut(Schema):
    contract_id: int = Field(..., alias="pk")
    number: str
    customer_id: int
    customer_name: str = Field(..., alias="customer.legal_name")
    bu_id: int
    amount: str
    received: str
    outstanding: str
    overdue: str
    oldest_overdue_due_on: date | None = Field(..., alias="oldest_overdue")

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return _money(obj.amount)

    @staticmethod
    def resolve_received(obj: Any) -> str:
        return _money(obj.received)

    @staticmethod
    def resolve_outstanding(obj: Any) -> str:
        return _money(obj.outstanding)

    @staticmethod
    def resolve_overdue(obj: Any) -> str:
        return _money(obj.overdue)


class ReceivablesOut(Schema):
    totals: FiguresOut = Field(..., description="Over all contracts the filters select.")
    customer: FiguresOut | None = Field(None, description="With customer_id: that company.")
    group: FiguresOut | None = Field(
        None, description="With customer_id: the company and those below it."
    )
    aging: list[AgingOut]
    count: int
    items: list[ReceivableOut] = Field(..., description="Active contracts with money to collect.")


class ExpenseOut(Schema):
    id: int
    opportunity_id: int
    bu_id: int
    owner_id: int
    kind: str
    amount: str
    currency: str = CURRENCY
    spent_on: date
    description: str
    receipt_ref: str
    status: str
    approval_id: int | None
    decision_comment: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return _money(obj.amount)


class ExpenseIn(Strict):
    opportunity_id: int
    kind: str = Field(..., description="visit, entertainment, travel, gift, other")
    amount: Amount = Field(..., description=POSITIVE_HELP)
    spent_on: date = Field(..., description="Not in the future.")
    description: str
    receipt_ref: str = ""
    bu_id: int | None = Field(None, description="Default: the opportunity's unit.")


class ExpensePatch(Strict):
    kind: str | None = None
    amount: Amount | None = Field(None, description=POSITIVE_HELP)
    spent_on: date | None = None
    description: str | None = None
    receipt_ref: str | None = None


class SubmitIn(Strict):
    reason: str = ""
