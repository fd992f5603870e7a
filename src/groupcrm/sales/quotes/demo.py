"""Demo quotes: a catalogue and a price list for each demo subsidiary (what it sells, as
in sales.demo.OFFERS), quote settings, and quotes on open demo opportunities — some
within the threshold and approved, some above it and pending, some approved by the
unit's manager, sent, accepted or revised. Everything goes through the services, so
numbers, approvals, audit and events are as real use leaves them."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from groupcrm.approvals import selectors as approval_selectors
from groupcrm.approvals import services as approval_services
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.core.actor import Actor
from groupcrm.org.models import BusinessUnit, Membership, User
from groupcrm.sales.models import Opportunity
from groupcrm.sales.quotes import selectors, services
from groupcrm.sales.quotes.models import Product, Quote

# (code, name, unit of measure, category, list price, tax rate) per subsidiary.
CATALOGUES: dict[str, list[tuple[str, str, str, str, str, str]]] = {
    "hx": [("HX-SVC", "集团大客户专属服务包", "年", "服务", "50000", "6")],
    "hx-mfg": [
        ("MFG-LINE", "智能产线改造（标准段）", "套", "产线", "1280000", "13"),
        ("MFG-ROB6", "六轴工业机器人", "台", "设备", "268000", "13"),
        ("MFG-CNC5", "五轴数控加工中心", "台", "设备", "860000", "13"),
        ("MFG-MNT", "设备年度维保服务", "年", "服务", "96000", "6"),
        ("MFG-UPG", "数控系统升级", "次", "服务", "45000", "6"),
    ],
    "hx-fin": [
        ("FIN-SCF", "供应链融资服务费", "年", "融资", "120000", "6"),
        ("FIN-LEASE", "设备融资租赁安排费", "次", "租赁", "80000", "6"),
        ("FIN-CMS", "现金管理平台订阅", "年", "平台", "150000", "6"),
        ("FIN-FX", "跨境结算服务包", "年", "结算", "60000", "6"),
    ],
    "hx-log": [
        ("LOG-3PL", "合同物流外包（月度）", "月", "物流", "180000", "9"),
        ("LOG-WH", "仓储配送一体化", "月", "仓储", "95000", "6"),
        ("LOG-COLD", "冷链运输专线", "次", "运输", "12000", "9"),
        ("LOG-XB", "跨境物流专线", "次", "运输", "26000", "9"),
    ],
    "hx-tech": [
        ("TECH-ERP", "ERP实施服务", "人天", "实施", "3200", "6"),
        ("TECH-DP", "数据中台许可", "套", "软件", "680000", "13"),
        ("TECH-CLD", "私有云迁移服务", "项", "实施", "420000", "6"),
        ("TECH-SEC", "信息安全咨询", "人天", "咨询", "4500", "6"),
        ("TECH-SUB", "运维订阅", "年", "服务", "120000", "6"),
    ],
}
# Own thresholds and number prefixes; the other units inherit (group default 15 %).
SETTINGS = {
    "hx-mfg": ("15", "HXM"),
    "hx-fin": ("10", "HXF"),
    "hx-log": ("", "HXL"),
    "hx-tech": ("20", "HXT"),
}
TERMS = (
    "1. 付款方式：合同签订后预付30%，验收合格后支付65%，质保金5%于质保期满后支付。\n"
    "2. 交付周期：合同生效后60个工作日内。\n"
    "3. 以上价格为人民币含税价，税率按国家现行规定执行。"
)


def _unit(code: str) -> BusinessUnit | None:
    return BusinessUnit.objects.filter(code=code).first()


def _load_catalogues(system: Actor, counts: dict[str, int]) -> None:
    today = timezone.localdate()
    for code, products in CATALOGUES.items():
        unit = _unit(code)
        if unit is None:
            continue
        created = [
            services.product_create(
                actor=system,
                bu_id=unit.pk,
                code=pcode,
                name=name,
                unit_of_measure=uom,
                category=category,
                list_price=price,
                tax_rate=tax,
            )
            for pcode, name, uom, category, price, tax in products
        ]
        counts["products"] += len(created)
        services.price_list_create(
            actor=system,
            bu_id=unit.pk,
            name=f"{unit.name} {today.year} 年度价目表",
            valid_from=dt.date(today.year, 1, 1),
            valid_to=dt.date(today.year, 12, 31),
            # The yearly list gives 5 % off the list price on the main products.
            items=[
                {"product_id": p.pk, "unit_price": (p.list_price * Decimal("0.95")).quantize(1)}
                for p in created[:3]
            ],
        )
        counts["price_lists"] += 1
        if code in SETTINGS:
            threshold, prefix = SETTINGS[code]
            services.quote_settings_set(
                actor=system,
                bu_id=unit.pk,
                discount_threshold=threshold or None,
                number_prefix=prefix,
            )


def _approver(
    request_bu: BusinessUnit, requester_id: int | None, request: ApprovalRequest
) -> Actor | None:
    """Someone above the unit who may decide the request (never its author)."""
    members = (
        Membership.objects.filter(bu_id__in=request_bu.ancestor_ids(), is_active=True)
        .exclude(user_id=requester_id)
        .select_related("user")
        .order_by("-bu__depth", "pk")
    )
    for membership in members:
        actor = Actor(User.objects.get(pk=membership.user_id))
        if approval_selectors.can_decide(actor=actor, request=request):
            return actor
    return None


def load_quotes(*, rng_seed: int = 2026) -> dict[str, int]:
    """Catalogues, price lists and about 60 quotes on open demo opportunities."""
    rng = random.Random(rng_seed)
    system = Actor.system("demo")
    counts = {"products": 0, "price_lists": 0, "quotes": 0, "pending": 0, "approved": 0}
    if Product.objects.filter(code=CATALOGUES["hx-mfg"][0][0]).exists():
        return counts  # loaded already
    with transaction.atomic():
        _load_catalogues(system, counts)
        opportunities = list(
            Opportunity.objects.filter(status=Opportunity.Status.OPEN)
            .select_related("bu", "owner")
            .order_by("pk")
        )
        rng.shuffle(opportunities)
        for opportunity in opportunities[:60]:
            actor = Actor(User.objects.get(pk=opportunity.owner_id))
            if not actor.can("quotes", "create"):
                continue
            catalogue = list(selectors.catalogue_for(opportunity.bu))
            if not catalogue:
                continue
            lines = [
                {
                    "product_id": product.pk,
                    "quantity": str(rng.choice([1, 1, 2, 3, 5, 10, 20])),
                    "discount_percent": str(rng.choice([0, 0, 3, 5, 8, 10, 12, 18, 25])),
                }
                for product in rng.sample(catalogue, k=min(len(catalogue), rng.randint(1, 3)))
            ]
            quote = services.quote_create(
                actor=actor,
                opportunity_id=opportunity.pk,
                lines=lines,
                discount_percent=str(rng.choice([0, 0, 0, 2, 5])),
                terms=TERMS,
            )
            counts["quotes"] += 1
            _advance(rng, actor, quote, counts)
    return counts


def _advance(rng: random.Random, actor: Actor, quote: Quote, counts: dict[str, int]) -> None:
    """Submit most quotes; approve about half of those waiting; send, accept or revise
    some of the approved ones."""
    if rng.random() < 0.2:
        return  # stays a draft
    quote = services.quote_submit(actor=actor, pk=quote.pk, reason="客户为战略客户，竞品报价更低")
    if quote.status == Quote.Status.PENDING:
        approver = _approver(quote.bu, actor.user_id, quote.approval)
        if approver is None or rng.random() < 0.5:
            counts["pending"] += 1
            return
        approval_services.approval_decide(
            actor=approver, pk=quote.approval_id, decision="approve", comment="同意，注意回款"
        )
        quote.refresh_from_db()
    counts["approved"] += 1
    roll = rng.random()
    if roll < 0.3:
        return
    quote = services.quote_send(actor=actor, pk=quote.pk)
    if roll < 0.55:
        services.quote_accept(actor=actor, pk=quote.pk)
    elif roll < 0.75:
        services.quote_revise(actor=actor, pk=quote.pk)
