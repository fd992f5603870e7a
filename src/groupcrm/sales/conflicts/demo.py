"""Demo conflicts: on demo customer groups already sold to by one unit, an account
manager of another subsidiary opens an opportunity on a group company and raises a
conflict; one stays open in the arbitration queue, a group key-account manager decides
the other (joint pursuit). Everything goes through the services."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.core.permissions import DataScope
from groupcrm.customers.models import Customer
from groupcrm.org.models import User
from groupcrm.sales.conflicts import selectors, services
from groupcrm.sales.models import Opportunity
from groupcrm.sales.services import opportunity_create

REASONS = [
    "我司上月已与客户集团采购部完成技术交流，对方明确由我司牵头方案。",
    "客户子公司主动联系我司，希望整体打包，与对方单位的报价冲突。",
]


def _sellers() -> list[Actor]:
    """Account managers who may sell and raise conflicts, in a stable order."""
    actors = [Actor(u) for u in User.objects.filter(is_active=True).order_by("username")]
    return [
        a
        for a in actors
        if a.bu is not None
        and a.can("opportunities", "create")
        and a.can("conflicts", "create")
        and not a.can("conflicts", "approve")
    ]


def _arbitrator(exclude: set[int]) -> Actor | None:
    for user in User.objects.filter(is_active=True).exclude(pk__in=exclude).order_by("username"):
        actor = Actor(user)
        if (
            actor.can("approvals", "approve")
            and actor.widest_scope("conflicts", "approve") == DataScope.GROUP
        ):
            return actor
    return None


def load_conflicts(*, rng_seed: int = 2026) -> dict[str, int]:
    """Two conflicts between demo units over demo customer groups: one open, one decided."""
    rng = random.Random(rng_seed)
    counts = {"open": 0, "decided": 0}
    sellers = _sellers()
    open_ones = list(
        Opportunity.objects.filter(status=Opportunity.Status.OPEN)
        .select_related("bu", "customer")
        .order_by("pk")
    )
    rng.shuffle(open_ones)
    used: set[int] = set()
    with transaction.atomic():
        for theirs in open_ones:
            if counts["open"] + counts["decided"] >= 2:
                break
            root_id = selectors.group_root_id(theirs.customer)
            companies = [
                c for c in selectors.group_customer_ids(theirs.customer) if c != theirs.customer_id
            ]
            if root_id in used or not companies:
                continue  # a lone company: no group to dispute
            raiser = next((s for s in sellers if not selectors.same_side(s.bu, theirs.bu)), None)
            if raiser is None:
                continue
            sellers.remove(raiser)  # another person for the next conflict
            subsidiary = Customer.objects.get(pk=min(companies))
            mine = opportunity_create(
                actor=raiser,
                customer_id=subsidiary.pk,
                bu_id=raiser.bu.pk,
                name=f"{subsidiary.display_name[:10]}·集团整体方案",
                amount=Decimal(rng.randrange(20, 300) * 10_000),
                expected_close=timezone.localdate() + dt.timedelta(days=rng.randint(30, 120)),
            )
            conflict = services.conflict_raise(
                actor=raiser,
                customer_id=root_id,
                bu_id=raiser.bu.pk,
                other_bu_id=theirs.bu_id,
                opportunity_id=mine.pk,
                reason=REASONS[len(used) % len(REASONS)],
            )
            used.add(root_id)
            if counts["open"] == 0:
                counts["open"] += 1
                continue
            judge = _arbitrator({raiser.user_id or 0, conflict.other_owner_id or 0})
            if judge is None:
                counts["open"] += 1
                continue
            services.conflict_decide(
                actor=judge,
                pk=conflict.pk,
                decision="joint",
                winner_bu_id=conflict.other_bu_id,
                raised_percent="30",
                other_percent="70",
                comment="双方共同跟进，对方单位牵头。",
            )
            counts["decided"] += 1
    return counts
