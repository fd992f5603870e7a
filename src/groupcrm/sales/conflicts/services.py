"""Writes on ownership conflicts: coordinate, raise, decide, withdraw (design.md §4).

A raised conflict is put to the group's arbitrators through the one approval mechanism:
an ``ApprovalRequest`` of kind ``conflicts.decision`` owned by the lowest unit above both
parties. ``conflict_decide`` records the arbitrator's choice on the conflict and approves
that request; the kind's callback applies the decision in the same transaction, so the
effects (opportunities closed, splits, relationships back in the pool) and the decision
commit together. Rejecting the request in the approvals inbox dismisses the conflict.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.approvals import services as approval_services
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.audit.services import audit_action, audit_create, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict as StateConflict
from groupcrm.core.errors import PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.services import notification_create
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Customer, CustomerRelationship
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import units_for
from groupcrm.sales import services as sales_services
from groupcrm.sales.conflicts import selectors
from groupcrm.sales.conflicts.models import Conflict
from groupcrm.sales.models import Opportunity, RevenueSplit, Stage

APPROVAL_KIND = "conflicts.decision"
SUBJECT_TYPE = "conflicts.conflict"
# Stored on the opportunities a decision closes: data, the same in every language.
LOST_REASON = "撞单裁决"
REASON_LIMIT = 2000
Decision = Conflict.Decision


def _unit(actor: Actor, bu_id: int | None, field: str = "bu_id") -> BusinessUnit:
    unit_id = bu_id or (actor.bu.pk if actor.bu else None)
    unit = (
        units_for(actor=actor, module="conflicts", action="create").filter(pk=unit_id).first()
        if unit_id
        else None
    )
    if unit is None:
        raise ValidationError({field: _("Choose a business unit you work for.")})
    return unit


def _customer(customer_id: Any) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    if customer is None or customer.status != Customer.Status.ACTIVE:
        raise ValidationError({"customer_id": _("Choose an existing, active customer.")})
    return customer


def _nothing_to_arbitrate() -> StateConflict:
    return StateConflict(
        _(
            "No other unit has an open opportunity or a protected relationship with this "
            "customer group: there is nothing to arbitrate."
        ),
        code="nothing_to_arbitrate",
    )


# --- coordinate ---------------------------------------------------------------------------


@transaction.atomic
def conflict_coordinate(
    *, actor: Actor, customer_id: int, bu_id: int | None = None, message: str = ""
) -> list[int]:
    """Ask the owners engaged for other units to coordinate: each gets a notification;
    the request is logged on the customer. Returns who was notified."""
    actor.require("conflicts", "create")
    unit = _unit(actor, bu_id)
    customer = _customer(customer_id)
    message = (message or "").strip()
    if len(message) > 500:
        raise ValidationError({"message": _("At most %(limit)d characters.") % {"limit": 500}})
    found = selectors.engagements(actor=Actor.system("conflicts"), customer=customer, unit=unit)
    owners = sorted({e.owner_id for e in found if e.owner_id and e.owner_id != actor.user_id})
    if not owners:
        raise StateConflict(
            _("Nobody in another unit works with this customer group: nobody to coordinate with."),
            code="nothing_to_coordinate",
        )
    sender = actor.user.display_name or actor.user.username if actor.user else actor.label
    for owner_id in owners:
        notification_create(
            user_id=owner_id,
            title=_("%(person)s (%(unit)s) asks to coordinate on %(customer)s")
            % {"person": sender, "unit": unit.name, "customer": customer.legal_name},
            body=message,
            link=reverse("customers:detail", args=[customer.pk]),
        )
    audit_action(
        actor=actor,
        obj=customer,
        verb="conflict_coordinate",
        changes={"bu": unit.pk, "notified": owners, "message": message},
    )
    publish(
        actor=actor,
        name="sales.conflict_coordination",
        payload={"customer_id": customer.pk, "bu_id": unit.pk, "notified": owners},
    )
    return owners


# --- raise --------------------------------------------------------------------------------


def _lowest_common_unit(a: BusinessUnit, b: BusinessUnit) -> BusinessUnit:
    """The lowest unit above (or equal to) both: whose arbitrators decide."""
    common = [x for x in a.ancestor_ids() if x in set(b.ancestor_ids())]
    return BusinessUnit.objects.get(pk=common[-1]) if common else a


def _own_opportunity(
    actor: Actor, unit: BusinessUnit, ids: list[int], opportunity_id: int | None
) -> Opportunity | None:
    mine = Opportunity.objects.visible_to(actor, "view").filter(
        customer_id__in=ids, bu__path__startswith=unit.path, status=Opportunity.Status.OPEN
    )
    if opportunity_id is None:
        return mine.order_by("-created_at").first()
    opportunity = mine.filter(pk=opportunity_id).first()
    if opportunity is None:
        raise ValidationError(
            {"opportunity_id": _("Choose an open opportunity of your unit on this customer group.")}
        )
    return opportunity


@transaction.atomic
def conflict_raise(
    *,
    actor: Actor,
    customer_id: int,
    reason: str,
    other_bu_id: int | None = None,
    bu_id: int | None = None,
    opportunity_id: int | None = None,
) -> Conflict:
    """Ask the group to arbitrate who works a customer group. Only against a unit that
    really is engaged with it; one open conflict per customer group and pair of units."""
    actor.require("conflicts", "create")
    unit = _unit(actor, bu_id)
    customer = _customer(customer_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the group should arbitrate.")})
    if len(reason) > REASON_LIMIT:
        raise ValidationError({"reason": _("At most %(limit)d characters.") % {"limit": 2000}})
    found = selectors.engagements(actor=Actor.system("conflicts"), customer=customer, unit=unit)
    if not found:
        raise _nothing_to_arbitrate()
    units = {e.bu_id for e in found}
    if other_bu_id is None:
        if len(units) > 1:
            raise ValidationError({"other_bu_id": _("Choose which engaged unit you dispute.")})
        other_bu_id = found[0].bu_id
    theirs = [e for e in found if e.bu_id == other_bu_id]
    if not theirs:
        raise _nothing_to_arbitrate()
    other = BusinessUnit.objects.get(pk=other_bu_id)
    ids = selectors.group_customer_ids(customer)
    own = _own_opportunity(actor, unit, ids, opportunity_id)
    # Prefer the engagement on the very company, then an opportunity, then the oldest.
    lead = sorted(
        theirs,
        key=lambda e: (e.customer_id != customer.pk, e.kind != selectors.OPPORTUNITY),
    )[0]
    other_opportunity = next((e.opportunity_id for e in theirs if e.opportunity_id), None)
    root = Customer.objects.get(pk=selectors.group_root_id(customer))
    pair = Conflict.pair_of(unit.pk, other.pk)
    if Conflict.objects.filter(
        group_root=root, pair_key=pair, status=Conflict.Status.OPEN
    ).exists():
        raise _already_open()
    try:
        with transaction.atomic():
            conflict = Conflict.objects.create(
                customer=customer,
                group_root=root,
                raised_by=actor.user,
                raised_bu=unit,
                other_bu=other,
                other_owner_id=lead.owner_id,
                pair_key=pair,
                opportunity=own,
                other_opportunity_id=other_opportunity,
                reason=reason,
            )
    except IntegrityError:
        raise _already_open() from None
    audit_create(actor=actor, obj=conflict)
    # Raised for the raiser, but put to the arbitrators above both units: the system asks,
    # since a raiser rarely works in that unit.
    approval = approval_services.approval_request(
        actor=Actor.system("conflicts", request_id=actor.request_id),
        kind=APPROVAL_KIND,
        bu_id=_lowest_common_unit(unit, other).pk,
        subject_type=SUBJECT_TYPE,
        subject_id=conflict.pk,
        title=_("Ownership conflict: %(customer)s") % {"customer": customer.legal_name},
        payload={
            "conflict_id": conflict.pk,
            "customer": customer.legal_name,
            "raised_bu": unit.name,
            "other_bu": other.name,
            "raised_by": actor.label,
        },
        reason=reason[:500],
    )
    Conflict.objects.filter(pk=conflict.pk).update(approval=approval)
    conflict.approval = approval
    publish(actor=actor, name="sales.conflict_raised", payload=_event(conflict))
    return conflict


def _already_open() -> StateConflict:
    return StateConflict(
        _("A conflict between these units over this customer group is already open."),
        code="conflict_open",
    )


def _event(conflict: Conflict) -> dict[str, Any]:
    return {
        "conflict_id": conflict.pk,
        "customer_id": conflict.customer_id,
        "raised_bu_id": conflict.raised_bu_id,
        "other_bu_id": conflict.other_bu_id,
        "raised_by": conflict.raised_by_id,
        "other_owner": conflict.other_owner_id,
        "status": conflict.status,
        "decision": conflict.decision,
        "winner_bu_id": conflict.winner_bu_id,
    }


# --- decide -------------------------------------------------------------------------------


def _check_arbitrator(actor: Actor, conflict: Conflict) -> None:
    actor.require("conflicts", "approve")
    if actor.user_id is not None and actor.user_id in (
        conflict.raised_by_id,
        conflict.other_owner_id,
    ):
        raise PermissionDenied(_("A conflict must be decided by someone who is not a party to it."))
    if not selectors.arbitrable(actor=actor).filter(pk=conflict.pk).exists():
        raise PermissionDenied(_("You may not arbitrate between these units."))


def _percent(value: Any, name: str, errors: dict[str, Any]) -> Decimal | None:
    try:
        percent = Decimal(str(value).strip()) if value not in (None, "") else None
    except InvalidOperation:
        percent = Decimal("NaN")
    if percent is None:
        errors[name] = _("Enter a share.")
    elif (
        not percent.is_finite()
        or not 0 < percent < 100
        or percent != percent.quantize(Decimal("0.01"))
    ):
        errors[name] = _("Enter a share above 0 and below 100, with at most 2 decimals.")
    else:
        return percent
    return None


def _clean_decision(
    conflict: Conflict,
    decision: Any,
    winner_bu_id: Any,
    raised_percent: Any,
    other_percent: Any,
    comment: str,
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    out: dict[str, Any] = {"decision": decision, "comment": (comment or "").strip()}
    if decision not in Decision.values:
        errors["decision"] = _("Choose one owner, joint pursuit or release.")
    if len(out["comment"]) > 500:
        errors["comment"] = _("At most %(limit)d characters.") % {"limit": 500}
    if decision in (Decision.ONE_OWNER, Decision.JOINT):
        if winner_bu_id not in (conflict.raised_bu_id, conflict.other_bu_id):
            errors["winner_bu_id"] = _("Choose one of the two units.")
        out["winner_bu_id"] = winner_bu_id
    if decision == Decision.JOINT:
        raised = _percent(raised_percent, "raised_percent", errors)
        other = _percent(other_percent, "other_percent", errors)
        if raised is not None and other is not None and raised + other != 100:
            errors["other_percent"] = _("The shares must add up to exactly 100 per cent.")
        out.update(raised_percent=raised, other_percent=other)
    if errors:
        raise ValidationError(errors, message=next(iter(errors.values())))
    return out


@transaction.atomic
def conflict_decide(
    *,
    actor: Actor,
    pk: int,
    decision: str,
    winner_bu_id: int | None = None,
    raised_percent: Any = None,
    other_percent: Any = None,
    comment: str = "",
) -> Conflict:
    """Arbitrate: one owner (the other side's open opportunities on the group close as
    lost, its owners return the customers to its pool), joint pursuit (the owning unit's
    opportunity is split between both units) or release (both return them to their pools).
    Recorded on the conflict, then approved through its approval request."""
    conflict = selectors.conflict_get(actor=actor, pk=pk)
    conflict = Conflict.objects.select_for_update().get(pk=conflict.pk)
    if conflict.status != Conflict.Status.OPEN:
        raise _already_decided()
    _check_arbitrator(actor, conflict)
    data = _clean_decision(conflict, decision, winner_bu_id, raised_percent, other_percent, comment)
    Conflict.objects.filter(pk=conflict.pk).update(
        decision=data["decision"],
        winner_bu_id=data.get("winner_bu_id"),
        raised_percent=data.get("raised_percent"),
        other_percent=data.get("other_percent"),
        comment=data["comment"],
    )
    label = str(Decision(data["decision"]).label)
    approval_services.approval_decide(
        actor=actor,
        pk=conflict.approval_id,
        decision="approve",
        comment=f"{label}: {data['comment']}" if data["comment"] else label,
    )
    conflict.refresh_from_db()
    return conflict


def _already_decided() -> StateConflict:
    return StateConflict(_("This conflict is no longer open."), code="already_decided")


def _open_of(unit: BusinessUnit, ids: list[int]) -> list[Opportunity]:
    return list(
        Opportunity.objects.filter(
            customer_id__in=ids, bu__path__startswith=unit.path, status=Opportunity.Status.OPEN
        ).select_related("pipeline")
    )


def _close_lost(system: Actor, opportunity: Opportunity) -> None:
    lost = opportunity.pipeline.stages.filter(outcome=Stage.Outcome.LOST).first()
    if lost is None:
        raise StateConflict(
            _("The pipeline of %(name)s has no lost stage.") % {"name": opportunity.name},
            code="no_lost_stage",
        )
    sales_services.opportunity_move(
        actor=system,
        pk=opportunity.pk,
        stage_id=lost.pk,
        version=opportunity.version,
        lost_reason=LOST_REASON,
    )


def _release(system: Actor, unit: BusinessUnit, ids: list[int], reason: str) -> None:
    for rel in CustomerRelationship.objects.filter(
        customer_id__in=ids, bu__path__startswith=unit.path, owner__isnull=False
    ).order_by("pk"):
        customer_services.relationship_release(
            actor=system, pk=rel.pk, reason=reason, verb="conflict_release"
        )


def _lead_opportunity(conflict: Conflict, unit: BusinessUnit, ids: list[int]) -> Opportunity:
    """The owning unit's opportunity that carries the split."""
    named = conflict.opportunity if unit.pk == conflict.raised_bu_id else conflict.other_opportunity
    if named is not None and named.status == Opportunity.Status.OPEN:
        return named
    found = sorted(_open_of(unit, ids), key=lambda o: o.created_at)
    if not found:
        raise ValidationError(
            {
                "winner_bu_id": _(
                    "%(unit)s has no open opportunity on this customer group to carry the split."
                )
                % {"unit": unit.name}
            }
        )
    return found[0]


def _apply(conflict: Conflict, actor: Actor) -> None:
    """Carry out the recorded decision. The effects run as the system on the arbitrator's
    behalf (same request id): the arbitrator rarely holds the parties' write scopes."""
    system = Actor.system("conflict decision", request_id=actor.request_id)
    ids = selectors.group_customer_ids(conflict.customer)
    raised, other = conflict.raised_bu, conflict.other_bu
    if conflict.decision == Decision.ONE_OWNER:
        loser = other if conflict.winner_bu_id == raised.pk else raised
        for opportunity in _open_of(loser, ids):
            _close_lost(system, opportunity)
        _release(
            system,
            loser,
            ids,
            _("Conflict decided: %(unit)s owns the customer") % {"unit": conflict.winner_bu.name},
        )
    elif conflict.decision == Decision.JOINT:
        winner = raised if conflict.winner_bu_id == raised.pk else other
        opportunity = _lead_opportunity(conflict, winner, ids)
        sales_services.apply_splits(
            actor=actor,
            opportunity=opportunity,
            shares=[
                {"bu_id": raised.pk, "percent": conflict.raised_percent},
                {"bu_id": other.pk, "percent": conflict.other_percent},
            ],
            source=RevenueSplit.Source.CONFLICT,
        )
    else:
        for unit in (raised, other):
            _release(system, unit, ids, _("Conflict decided: released to the pool"))


def _finish(conflict: Conflict, actor: Actor, status: str, comment: str) -> Conflict:
    before = snapshot(conflict)
    conflict.status = status
    conflict.decided_by = actor.user
    conflict.decided_at = timezone.now()
    conflict.comment = comment[:500]
    conflict.save()
    audit_update(actor=actor, obj=conflict, before=before, verb=f"conflict_{status}")
    return conflict


def on_approved(request: ApprovalRequest, actor: Actor) -> None:
    """The approval kind's callback: apply the decision recorded on the conflict."""
    conflict = Conflict.objects.select_for_update().get(pk=int(request.subject_id))
    if conflict.status != Conflict.Status.OPEN:
        raise _already_decided()
    _check_arbitrator(actor, conflict)
    if not conflict.decision:
        message = _(
            "Decide this conflict on its arbitration page: one owner, joint pursuit or release."
        )
        raise ValidationError({"decision": message}, message=message)
    _apply(conflict, actor)
    _finish(conflict, actor, Conflict.Status.DECIDED, conflict.comment or request.comment)
    publish(actor=actor, name="sales.conflict_decided", payload=_event(conflict))


def on_rejected(request: ApprovalRequest, actor: Actor) -> None:
    """Rejected in the approvals inbox: the arbitrator dismisses the conflict (nothing
    changes). A withdrawn conflict has already been closed by ``conflict_withdraw``."""
    conflict = Conflict.objects.select_for_update().get(pk=int(request.subject_id))
    if conflict.status != Conflict.Status.OPEN:
        return
    if request.status == ApprovalRequest.Status.REJECTED:
        _check_arbitrator(actor, conflict)
        _finish(conflict, actor, Conflict.Status.DISMISSED, request.comment)
        publish(actor=actor, name="sales.conflict_decided", payload=_event(conflict))


# --- withdraw -----------------------------------------------------------------------------


@transaction.atomic
def conflict_withdraw(*, actor: Actor, pk: int) -> Conflict:
    """The raiser (or a conflicts admin) takes back an open conflict."""
    conflict = selectors.conflict_get(actor=actor, pk=pk)
    conflict = Conflict.objects.select_for_update().get(pk=conflict.pk)
    if conflict.raised_by_id != actor.user_id and not actor.can("conflicts", "admin"):
        raise PermissionDenied(_("Only the person who raised a conflict can withdraw it."))
    if conflict.status != Conflict.Status.OPEN:
        raise _already_decided()
    _finish(conflict, actor, Conflict.Status.WITHDRAWN, "")
    if conflict.approval_id:
        # The system asked, so the system closes the request.
        approval_services.approval_decide(
            actor=Actor.system("conflicts", request_id=actor.request_id),
            pk=conflict.approval_id,
            decision="reject",
            comment=_("Withdrawn by %(person)s") % {"person": actor.label},
        )
    publish(actor=actor, name="sales.conflict_withdrawn", payload=_event(conflict))
    return conflict


def describe_request(request: ApprovalRequest) -> str:
    """The approvals inbox's summary line: who disputes what, and where to decide."""
    payload = request.payload
    return _("%(unit)s ↔ %(other)s over %(customer)s: decide on the arbitration page.") % {
        "unit": payload.get("raised_bu", ""),
        "other": payload.get("other_bu", ""),
        "customer": payload.get("customer", ""),
    }
