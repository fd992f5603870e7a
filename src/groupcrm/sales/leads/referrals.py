"""Writes on referrals (商机转介): one unit hands a lead or an opportunity to another.

The referring side creates and may withdraw a pending referral; the receiving side
(``referrals.change`` reaching ``to_bu``) accepts it, choosing the owner, or declines it
with a reason. Accepting moves the item to the receiving unit and owner; an opportunity
then gets its revenue split at once (the referrer's share to the referring unit and rep,
the rest to the receiver), a lead when it is later converted into an opportunity. Of two
people deciding the same referral at once exactly one wins: the decision is a
conditional UPDATE on ``status='pending'``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_create, audit_update, snapshot
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import ensure_in_scope, scoped_get
from groupcrm.customers import services as customer_services
from groupcrm.org.models import BusinessUnit
from groupcrm.sales import services as sales_services
from groupcrm.sales.leads.models import Lead, Referral
from groupcrm.sales.models import Opportunity, RevenueSplit

NOTE_LIMIT = 2000


def parse_percent(value: Any) -> Decimal:
    """The referrer's share: a number above 0 and below 100 with at most 2 decimals."""
    message = _("Enter the referrer's share as a number above 0 and below 100, e.g. 20.")
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise ValidationError({"referrer_percent": message}, message=message)
    try:
        percent = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError({"referrer_percent": message}, message=message) from None
    if (
        not percent.is_finite()
        or not 0 < percent < 100
        or percent != percent.quantize(Decimal("0.01"))
    ):
        raise ValidationError({"referrer_percent": message}, message=message)
    return percent.quantize(Decimal("0.01"))


def _member_or_none(unit: BusinessUnit, user_id: int | None) -> int | None:
    """The rep credited with a unit's share, if they still belong to it."""
    if user_id is None:
        return None
    try:
        customer_services.check_owner(unit, user_id)
    except ValidationError:
        return None
    return user_id


def referral_shares(referral: Referral, owner_id: int | None) -> list[dict[str, Any]]:
    """The revenue split an accepted referral gives the opportunity owned by
    ``owner_id`` in the receiving unit."""
    return [
        {
            "bu_id": referral.from_bu_id,
            "user_id": _member_or_none(referral.from_bu, referral.from_user_id),
            "percent": referral.referrer_percent,
        },
        {
            "bu_id": referral.to_bu_id,
            "user_id": _member_or_none(referral.to_bu, owner_id),
            "percent": Decimal(100) - referral.referrer_percent,
        },
    ]


def accepted_referral_of(lead: Lead) -> Referral | None:
    return lead.referrals.filter(status=Referral.Status.ACCEPTED).order_by("-decided_at").first()


def _item(
    actor: Actor, lead_id: int | None, opportunity_id: int | None
) -> tuple[Lead | None, Opportunity | None]:
    if bool(lead_id) == bool(opportunity_id):
        message = _("Refer either a lead or an opportunity.")
        raise ValidationError({"": message}, message=message)
    if lead_id:
        lead = scoped_get(Lead, actor=actor, pk=lead_id, action="change")
        if not lead.is_open:
            raise Conflict(
                _("Only open leads can be referred; this one is %(status)s.")
                % {"status": lead.get_status_display()},
                code="not_referable",
            )
        return lead, None
    opportunity = scoped_get(Opportunity, actor=actor, pk=opportunity_id, action="change")
    if opportunity.status != Opportunity.Status.OPEN:
        raise Conflict(
            _("Only open opportunities can be referred; this one is %(status)s.")
            % {"status": opportunity.get_status_display()},
            code="not_referable",
        )
    return None, opportunity


def _target(from_bu: BusinessUnit, to_bu_id: Any) -> BusinessUnit:
    to_bu = BusinessUnit.objects.filter(pk=to_bu_id, is_active=True).first() if to_bu_id else None
    if to_bu is None:
        raise ValidationError({"to_bu_id": _("Choose an active business unit.")})
    if to_bu.pk == from_bu.pk:
        message = _("You cannot refer to your own unit: choose another unit.")
        raise ValidationError({"to_bu_id": message}, message=message, code="own_unit")
    if to_bu.is_descendant_of(from_bu) or from_bu.is_descendant_of(to_bu):
        message = _(
            "%(to)s and %(from)s are in the same line of the organisation: assign the item "
            "within it instead of referring it."
        ) % {"to": to_bu.name, "from": from_bu.name}
        raise ValidationError({"to_bu_id": message}, message=message, code="own_unit")
    return to_bu


@transaction.atomic
def referral_create(
    *,
    actor: Actor,
    to_bu_id: int,
    referrer_percent: Any,
    lead_id: int | None = None,
    opportunity_id: int | None = None,
    to_user_id: int | None = None,
    note: str = "",
) -> Referral:
    """Refer an open lead or opportunity the actor may change to another unit."""
    actor.require("referrals", "create")
    lead, opportunity = _item(actor, lead_id, opportunity_id)
    item: Any = lead or opportunity
    from_bu = item.bu
    to_bu = _target(from_bu, to_bu_id)
    percent = parse_percent(referrer_percent)
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        raise ValidationError({"note": _("At most %(limit)d characters.") % {"limit": NOTE_LIMIT}})
    if to_user_id:
        try:
            customer_services.check_owner(to_bu, to_user_id)
        except ValidationError:
            raise ValidationError(
                {
                    "to_user_id": _("Choose a person of %(unit)s or of a unit below it.")
                    % {"unit": to_bu.name}
                }
            ) from None
    pending = Referral.objects.filter(status=Referral.Status.PENDING)
    pending = pending.filter(lead=lead) if lead else pending.filter(opportunity=opportunity)
    if pending.exists():
        raise Conflict(
            _("This item already has a pending referral: wait for the answer or withdraw it."),
            code="referral_pending",
        )
    referral = Referral(
        customer=opportunity.customer if opportunity else lead.converted_customer,  # type: ignore[union-attr]
        lead=lead,
        opportunity=opportunity,
        from_bu=from_bu,
        from_user=actor.user,
        to_bu=to_bu,
        to_user_id=to_user_id or None,
        referrer_percent=percent,
        note=note,
    )
    try:
        with transaction.atomic():
            referral.save()
    except IntegrityError:  # a concurrent referral of the same item won the race
        raise Conflict(
            _("This item already has a pending referral: wait for the answer or withdraw it."),
            code="referral_pending",
        ) from None
    ensure_in_scope(referral, actor=actor, action="create")
    audit_create(actor=actor, obj=referral)
    publish(actor=actor, name="sales.referral_created", payload=_payload(referral))
    return referral


def _payload(referral: Referral) -> dict[str, Any]:
    return {
        "referral_id": referral.pk,
        "customer_id": referral.customer_id,
        "lead_id": referral.lead_id,
        "opportunity_id": referral.opportunity_id,
        "from_bu_id": referral.from_bu_id,
        "from_user_id": referral.from_user_id,
        "to_bu_id": referral.to_bu_id,
        "to_user_id": referral.to_user_id,
        "referrer_percent": str(referral.referrer_percent),
        "status": referral.status,
    }


def _receiving(actor: Actor, pk: int) -> Referral:
    """A referral the actor may decide for the receiving side (else 404 or 403)."""
    referral = scoped_get(Referral, actor=actor, pk=pk, action="view")
    may = Referral.objects.filter(Referral.receiving_q(actor, "change"), pk=pk).exists()
    if not (may or actor.is_system or actor.is_superuser):
        raise PermissionDenied(_("Only the receiving unit can accept or decline a referral."))
    return referral


def _decide(referral: Referral, status: str, actor: Actor, **changes: Any) -> None:
    """The conditional UPDATE: of two deciders of the same pending referral, one wins."""
    now = timezone.now()
    updated = Referral.objects.filter(pk=referral.pk, status=Referral.Status.PENDING).update(
        status=status, decided_by=actor.user, decided_at=now, updated_at=now, **changes
    )
    if updated != 1:
        referral.refresh_from_db()
        raise Conflict(
            _("This referral has already been %(status)s.")
            % {"status": referral.get_status_display()},
            code="referral_decided",
        )
    for name, value in changes.items():
        setattr(referral, name, value)
    referral.status, referral.decided_by, referral.decided_at = status, actor.user, now


def _choose_owner(actor: Actor, referral: Referral, owner_id: int | None) -> int:
    owner_id = owner_id or referral.to_user_id or actor.user_id
    if owner_id is None:
        raise ValidationError({"owner_id": _("Choose an owner.")})
    # Someone who may only work their own records takes the item themselves.
    if actor.widest_scope("referrals", "change") == DataScope.OWN and owner_id != actor.user_id:
        raise ValidationError({"owner_id": _("You can accept a referral only for yourself.")})
    customer_services.check_owner(referral.to_bu, owner_id)
    return owner_id


def _move_opportunity(actor: Actor, referral: Referral, owner_id: int, version: Any) -> None:
    opportunity = Opportunity.objects.get(pk=referral.opportunity_id)
    if version is not None:
        sales_services.check_version(opportunity, version)
    sales_services.opportunity_transfer(
        actor=actor,
        opportunity=opportunity,
        bu_id=referral.to_bu_id,
        owner_id=owner_id,
        verb="referred",
    )
    sales_services.apply_splits(
        actor=actor,
        opportunity=opportunity,
        shares=referral_shares(referral, owner_id),
        source=RevenueSplit.Source.REFERRAL,
    )


def _move_lead(actor: Actor, referral: Referral, owner_id: int) -> None:
    lead = Lead.objects.select_for_update().get(pk=referral.lead_id)
    if not lead.is_open:
        raise Conflict(_("The lead is no longer open."), code="not_referable")
    before = snapshot(lead)
    lead.bu_id, lead.owner_id = referral.to_bu_id, owner_id
    lead.save(update_fields=["bu", "owner", "updated_at"])
    audit_update(actor=actor, obj=lead, before=before, verb="referred")


@transaction.atomic
def referral_accept(
    *, actor: Actor, pk: int, owner_id: int | None = None, version: int | None = None
) -> Referral:
    """Accept for the receiving unit: the item moves to ``owner_id`` (default: the
    addressee, else the actor) in the receiving unit. ``version`` is the opportunity's
    version the decider saw, if any."""
    referral = _receiving(actor, pk)
    before = snapshot(referral)
    owner_id = _choose_owner(actor, referral, owner_id)
    _decide(referral, Referral.Status.ACCEPTED, actor, to_user_id=owner_id)
    if referral.opportunity_id:
        _move_opportunity(actor, referral, owner_id, version)
    else:
        _move_lead(actor, referral, owner_id)
    audit_update(actor=actor, obj=referral, before=before, verb="accepted")
    publish(actor=actor, name="sales.referral_accepted", payload=_payload(referral))
    return referral


@transaction.atomic
def referral_decline(*, actor: Actor, pk: int, reason: str) -> Referral:
    """Decline with a reason; the item stays as it was."""
    referral = _receiving(actor, pk)
    reason = (reason or "").strip()
    if not reason:
        message = _("Say why you decline the referral.")
        raise ValidationError({"reason": message}, message=message)
    if len(reason) > 200:
        raise ValidationError({"reason": _("At most %(limit)d characters.") % {"limit": 200}})
    before = snapshot(referral)
    _decide(referral, Referral.Status.DECLINED, actor, decline_reason=reason)
    audit_update(actor=actor, obj=referral, before=before, verb="declined")
    publish(actor=actor, name="sales.referral_declined", payload=_payload(referral))
    return referral


@transaction.atomic
def referral_withdraw(*, actor: Actor, pk: int) -> Referral:
    """The referring side takes back a pending referral."""
    referral = scoped_get(Referral, actor=actor, pk=pk, action="view")
    may = Referral.objects.filter(Referral.sending_q(actor, "change"), pk=pk).exists()
    if not (may or actor.is_system or actor.is_superuser):
        raise PermissionDenied(_("Only the referring side can withdraw a referral."))
    before = snapshot(referral)
    _decide(referral, Referral.Status.WITHDRAWN, actor)
    audit_update(actor=actor, obj=referral, before=before, verb="withdrawn")
    publish(actor=actor, name="sales.referral_withdrawn", payload=_payload(referral))
    return referral
