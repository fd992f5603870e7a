"""Demo contracts and expenses: contracts on most won demo opportunities, signed when they
were won, with payment plans over the following months, payments as customers really pay
(on time, late, in part, or not at all), so several instalments are overdue; then the
overdue detection runs (its reminders exist). Expenses on opportunities in every state.
All through the services, so audit, events and approvals are as real use leaves them."""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils import timezone

from groupcrm.approvals.models import ApprovalRequest
from groupcrm.approvals.selectors import can_decide
from groupcrm.approvals.services import approval_decide
from groupcrm.core.actor import Actor
from groupcrm.org.models import Membership, User
from groupcrm.sales.contracts import expenses, services
from groupcrm.sales.contracts.models import Contract, Payment
from groupcrm.sales.models import Opportunity

SYSTEM = Actor.system("demo")
EXPENSE_TEXTS = {
    "visit": ["拜访客户技术部", "上门方案交流", "现场勘察"],
    "entertainment": ["招待客户采购部", "商务宴请", "项目启动会餐"],
    "travel": ["出差高铁票", "差旅住宿", "机票往返"],
    "gift": ["中秋礼品", "春节慰问品", "定制纪念品"],
    "other": ["投标文件印刷", "样品快递", "会议室租用"],
}
REJECT_REASONS = ["缺少发票", "超出招待标准", "与商机无关"]


def _split(amount: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """``parts`` instalments adding up to exactly ``amount`` (首付 larger, 尾款 smaller)."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    weights[0] += 0.5
    total = sum(weights)
    shares = [
        (amount * Decimal(w / total)).quantize(Decimal("1000"), ROUND_DOWN) for w in weights[:-1]
    ]
    if any(s <= 0 for s in shares):  # too small to split in thousands: one instalment
        return [amount]
    return [*shares, amount - sum(shares)]


def _approver(request_pk: int, claimant_id: int) -> Actor | None:
    """Someone of the request's unit or above, not the claimant, who may decide it."""
    request = ApprovalRequest.objects.select_related("bu").get(pk=request_pk)
    members = Membership.objects.filter(
        bu_id__in=request.bu.ancestor_ids(), is_active=True, user__is_active=True
    ).exclude(user_id=claimant_id)
    for user in User.objects.filter(pk__in=members.values("user_id")).order_by("pk"):
        if can_decide(actor=Actor(user), request=request):
            return Actor(user)
    return None


def _pay(
    rng: random.Random, actor: Actor, contract_pk: int, today: dt.date, counts: dict[str, int]
) -> None:
    """Customers pay most instalments due, some late or in part, a few not at all."""
    contract = Contract.objects.get(pk=contract_pk)
    for instalment in contract.instalments.order_by("sequence"):
        if instalment.due_on > today:
            break
        luck = rng.random()
        if luck < 0.18:
            continue  # unpaid: overdue
        amount = instalment.amount
        if luck < 0.3:
            amount = (amount * Decimal(rng.uniform(0.3, 0.8))).quantize(Decimal("0.01"))
        day = min(today, instalment.due_on + dt.timedelta(days=rng.randint(-5, 20)))
        services.payment_record(
            actor=actor,
            pk=contract.pk,
            instalment_id=instalment.pk,
            amount=amount,
            received_on=day,
            method=rng.choice(["transfer", "transfer", "transfer", "acceptance", "cheque"]),
            reference=f"回单{rng.randrange(10**7, 10**8)}",
        )
        counts["payments"] += 1
        if amount < instalment.amount:
            break  # a customer paying in part pays nothing more for now


def load_contracts(*, rng_seed: int = 2026) -> dict[str, int]:
    """Contracts, plans and payments on the won demo opportunities; expenses on others;
    then the overdue detection."""
    rng = random.Random(rng_seed)
    today = timezone.localdate()
    counts = {
        "contracts": 0,
        "instalments": 0,
        "payments": 0,
        "overdue": 0,
        "reminders": 0,
        "expenses": 0,
    }
    won = list(
        Opportunity.objects.filter(status=Opportunity.Status.WON, contracts__isnull=True)
        .select_related("owner")
        .order_by("pk")
    )
    with transaction.atomic():
        for opportunity in won:
            if rng.random() < 0.15:
                continue  # still negotiating the contract
            actor = Actor(opportunity.owner)
            if not actor.can("contracts", "create"):
                actor = SYSTEM
            won_on = timezone.localdate(opportunity.closed_at) if opportunity.closed_at else today
            signed = min(today, won_on + dt.timedelta(days=rng.randint(0, 15)))
            contract = services.contract_create(
                actor=actor,
                opportunity_id=opportunity.pk,
                signed_on=signed,
                start_on=signed,
                end_on=signed + dt.timedelta(days=365),
                notes=rng.choice(["", "含一年维保", "分期验收", "按里程碑付款"]),
            )
            counts["contracts"] += 1
            parts = rng.choice([1, 2, 2, 3, 3, 4])
            step = rng.choice([30, 60, 90])
            services.plan_set(
                actor=actor,
                pk=contract.pk,
                instalments=[
                    {"due_on": signed + dt.timedelta(days=15 + step * n), "amount": amount}
                    for n, amount in enumerate(_split(contract.amount, parts, rng))
                ],
            )
            counts["instalments"] += contract.instalments.count()
            if rng.random() < 0.1:
                continue  # a draft, waiting for its countersignature
            services.contract_activate(actor=actor, pk=contract.pk)
            _pay(rng, actor, contract.pk, today, counts)
        result = services.overdue_detect(today=today)
        counts["overdue"], counts["reminders"] = result["marked"], result["reminded"]
        counts["expenses"] = _load_expenses(rng, today)
    counts["payments"] = Payment.objects.count()
    return counts


def _load_expenses(rng: random.Random, today: dt.date) -> int:
    """A few expenses per opportunity on some open and won ones, in every state."""
    opportunities = list(
        Opportunity.objects.exclude(status=Opportunity.Status.LOST)
        .select_related("owner")
        .order_by("pk")
    )
    rng.shuffle(opportunities)
    made = 0
    for opportunity in opportunities[:120]:
        claimant = Actor(opportunity.owner)
        if not claimant.can("expenses", "create"):
            continue
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(list(EXPENSE_TEXTS))
            expense = expenses.expense_create(
                actor=claimant,
                opportunity_id=opportunity.pk,
                kind=kind,
                amount=Decimal(rng.randrange(50, 5000)),
                spent_on=today - dt.timedelta(days=rng.randint(0, 120)),
                description=rng.choice(EXPENSE_TEXTS[kind]),
                receipt_ref=f"发票{rng.randrange(10**7, 10**8)}" if rng.random() < 0.8 else "",
            )
            made += 1
            fate = rng.random()
            if fate < 0.25:
                continue  # a draft
            expense = expenses.expense_submit(actor=claimant, pk=expense.pk)
            if fate < 0.45:
                continue  # waiting for approval
            approver = _approver(expense.approval_id or 0, claimant.user_id or 0)
            if approver is None:
                continue
            if fate < 0.85:
                approval_decide(actor=approver, pk=expense.approval_id, decision="approve")
            else:
                approval_decide(
                    actor=approver,
                    pk=expense.approval_id,
                    decision="reject",
                    comment=rng.choice(REJECT_REASONS),
                )
    return made
