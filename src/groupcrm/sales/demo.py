"""Demo pipeline: opportunities of the demo group's account managers across the units,
in every stage, some won and some lost, created and moved through the sales services
(so stage history, audit and events are as real use leaves them), then spread over the
past year (created, stage changes, closed) so that forecasts and attainment have history."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.customers.models import Contact, CustomerRelationship
from groupcrm.org.models import BusinessUnit, User
from groupcrm.sales.models import Opportunity, Stage, StageChange
from groupcrm.sales.services import opportunity_create, opportunity_move, pipeline_for

# What each unit sells (the demo units' subsidiaries), for opportunity names.
OFFERS = {
    "hx-mfg": ["智能产线改造", "工业机器人采购", "设备维保服务", "数控机床升级"],
    "hx-fin": ["供应链融资", "设备融资租赁", "现金管理平台", "跨境结算服务"],
    "hx-log": ["合同物流外包", "仓储配送一体化", "冷链运输", "跨境物流专线"],
    "hx-tech": ["ERP实施", "数据中台建设", "私有云迁移", "信息安全咨询"],
}
COMPETITORS = ["西门子", "用友", "顺丰供应链", "招商银行", "金蝶", "华为云", "京东物流"]
LOST_REASONS = ["价格高于竞品", "客户预算取消", "需求延后到明年", "竞品关系更深"]


def _subsidiary_code(path_codes: list[str]) -> str | None:
    return next((code for code in path_codes if code in OFFERS), None)


def load_pipeline(*, rng_seed: int = 2026, count: int = 400) -> dict[str, int]:
    """About ``count`` opportunities on owned relationships of the demo customers."""
    rng = random.Random(rng_seed)
    counts = {"opportunities": 0, "won": 0, "lost": 0}
    relationships = list(
        CustomerRelationship.objects.exclude(owner=None)
        .select_related("bu", "owner", "customer")
        .order_by("pk")
    )
    rng.shuffle(relationships)
    codes = {}
    today = timezone.localdate()
    with transaction.atomic():
        for rel in relationships:
            if counts["opportunities"] >= count:
                break
            actor = Actor(User.objects.get(pk=rel.owner_id))
            if not actor.can("opportunities", "create"):
                continue  # a service agent keeping a customer, say
            unit = rel.bu
            if unit.pk not in codes:
                codes[unit.pk] = _subsidiary_code(
                    list(
                        BusinessUnit.objects.filter(pk__in=unit.ancestor_ids()).values_list(
                            "code", flat=True
                        )
                    )
                )
            offer = OFFERS.get(codes[unit.pk] or "", OFFERS["hx-mfg"])
            contacts = list(
                Contact.objects.filter(customer=rel.customer, status=Contact.Status.ACTIVE)
                .order_by("pk")
                .values_list("pk", flat=True)[:2]
            )
            stages = list(Stage.objects.filter(pipeline=pipeline_for(unit)).order_by("order", "pk"))
            opportunity = opportunity_create(
                actor=actor,
                customer_id=rel.customer_id,
                bu_id=unit.pk,
                name=f"{rel.customer.short_name or rel.customer.legal_name[:10]}"
                f"·{rng.choice(offer)}",
                amount=Decimal(rng.randrange(5, 800) * 10_000),
                expected_close=today + dt.timedelta(days=rng.randint(10, 200)),
                next_step=rng.choice(["安排技术交流", "提交方案", "商务谈判", "高层拜访"]),
                competitors="、".join(rng.sample(COMPETITORS, 2)),
                decision_contact_ids=contacts,
            )
            counts["opportunities"] += 1
            _advance(rng, actor, opportunity, stages, has_contacts=bool(contacts), counts=counts)
            _spread_over_the_year(rng, opportunity.pk)
    return counts


def _spread_over_the_year(rng: random.Random, pk: int) -> None:
    """Move the opportunity's history back by up to a year: it was created then, its
    stage changes happened in order since, and a closed one closed on a day of its own
    (its expected close becomes that day). Demo data only: history is never rewritten
    elsewhere."""
    opportunity = Opportunity.objects.get(pk=pk)
    now = timezone.now()
    age = dt.timedelta(days=rng.randint(20, 365), hours=rng.randint(0, 23))
    start = now - age
    closed = opportunity.status != Opportunity.Status.OPEN
    end = start + age * rng.uniform(0.3, 1.0) if closed else now - age * rng.uniform(0, 0.2)
    changes = list(opportunity.stage_changes.order_by("at", "pk"))
    moments = sorted(start + (end - start) * rng.random() for _ in changes)
    if closed and moments:
        moments[-1] = end
    previous = start
    for change, at in zip(changes, moments, strict=True):
        StageChange.objects.filter(pk=change.pk).update(
            at=at, seconds_in_previous=int((at - previous).total_seconds())
        )
        previous = at
    fields: dict[str, object] = {"created_at": start, "stage_entered_at": previous}
    if closed:
        fields.update(closed_at=end, expected_close=timezone.localdate(end))
    Opportunity.objects.filter(pk=pk).update(**fields)


def _advance(
    rng: random.Random,
    actor: Actor,
    opportunity: Opportunity,
    stages: list[Stage],
    *,
    has_contacts: bool,
    counts: dict[str, int],
) -> None:
    """Walk the opportunity forward through a random number of open stages, then maybe
    win or lose it."""
    open_stages = [s for s in stages if s.outcome == Stage.Outcome.OPEN]
    # Stages from 确认决策者 on need decision makers: without contacts it stays early.
    reachable = [
        s for s in open_stages if has_contacts or "decision_contacts" not in s.required_fields
    ]
    steps = rng.randint(0, len(reachable) - 1)
    for stage in reachable[1 : steps + 1]:
        opportunity = opportunity_move(
            actor=actor, pk=opportunity.pk, stage_id=stage.pk, version=opportunity.version
        )
    ending = rng.random()
    outcome = Stage.Outcome.WON if ending < 0.2 else Stage.Outcome.LOST if ending < 0.3 else None
    if outcome is None:
        return
    stage = next(s for s in stages if s.outcome == outcome)
    opportunity_move(
        actor=actor,
        pk=opportunity.pk,
        stage_id=stage.pk,
        version=opportunity.version,
        lost_reason=rng.choice(LOST_REASONS) if outcome == Stage.Outcome.LOST else "",
    )
    counts["won" if outcome == Stage.Outcome.WON else "lost"] += 1
