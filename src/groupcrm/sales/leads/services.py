"""Writes on leads: capture (form, API, import), assignment, qualification, conversion.

Every service is atomic, takes ``actor``, checks permission and scope, writes change
records and publishes events in the same transaction (design.md §4). Company name, USCC
and industry are validated by the customer master's own rules (``clean_customer``), the
contact's phone and email by its normalisers; they are stored encrypted (core.pii).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.services import audit_action, audit_create, audit_delete, audit_update, snapshot
from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, DomainError, NotFound, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import ensure_in_scope, scoped_get
from groupcrm.customers import services as customer_services
from groupcrm.customers.models import Contact, Customer, CustomerRelationship
from groupcrm.customers.normalize import normalize_email, normalize_phone
from groupcrm.integration.reader import (
    FileError,
    open_table,
    uncomputed_columns,
    uncomputed_message,
)
from groupcrm.org.models import BusinessUnit
from groupcrm.org.selectors import units_for
from groupcrm.sales import services as sales_services
from groupcrm.sales.leads.assignment import next_owner
from groupcrm.sales.leads.models import Lead, Referral
from groupcrm.sales.leads.referrals import accepted_referral_of, referral_shares
from groupcrm.sales.models import Opportunity, RevenueSplit

TEXT_LIMITS = {"contact_name": 60, "province": 20, "city": 30, "notes": 2000}
MAX_IMPORT_ROWS = 5000
# The column names an import understands, Chinese or English, for each lead field.
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "company_name": ("公司名称", "企业名称", "客户名称", "company_name", "company"),
    "uscc": ("统一社会信用代码", "信用代码", "uscc"),
    "contact_name": ("联系人", "联系人姓名", "contact_name", "contact"),
    "phone": ("电话", "手机", "联系电话", "phone", "mobile"),
    "email": ("邮箱", "电子邮箱", "email"),
    "province": ("省份", "省", "province"),
    "city": ("城市", "市", "city"),
    "industry": ("行业", "行业代码", "industry"),
    "notes": ("备注", "notes"),
}
_CN_MOBILE = re.compile(r"\+861\d{10}")
# What a lead's source becomes as the source of the customer it is converted into.
CUSTOMER_SOURCE = {
    Lead.Source.FORM: Customer.Source.MANUAL,
    Lead.Source.IMPORT: Customer.Source.IMPORT,
    Lead.Source.API: Customer.Source.INTEGRATION,
    Lead.Source.REFERRAL: Customer.Source.REFERRAL,
    Lead.Source.WEB: Customer.Source.WEBSITE,
}
# The status moves a person makes by hand; "converted" only comes from lead_convert.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Lead.Status.NEW: (Lead.Status.WORKING, Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED),
    Lead.Status.WORKING: (Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED),
    Lead.Status.QUALIFIED: (Lead.Status.WORKING, Lead.Status.DISQUALIFIED),
    Lead.Status.DISQUALIFIED: (Lead.Status.WORKING,),
    Lead.Status.CONVERTED: (),
}


# --- validation -------------------------------------------------------------------------


def clean_lead(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the lead fields present in ``data``."""
    company: dict[str, Any] = {}
    if "company_name" in data:
        company["legal_name"] = data["company_name"]
    for name in ("uscc", "industry"):
        if name in data:
            company[name] = data[name]
    company_errors: dict[str, Any] = {}
    cleaned = customer_services.clean_customer(company, company_errors)
    out: dict[str, Any] = {}
    if "legal_name" in cleaned:
        out["company_name"] = cleaned["legal_name"]
    if "uscc" in cleaned:
        out["uscc"] = cleaned["uscc"] or ""
    if "industry" in cleaned:
        out["industry"] = cleaned["industry"]
    errors.update(
        {("company_name" if k == "legal_name" else k): v for k, v in company_errors.items()}
    )
    for name, limit in TEXT_LIMITS.items():
        if name in data:
            out[name] = (
                " ".join((data[name] or "").split())
                if name != "notes"
                else ((data[name] or "").strip())
            )
            if len(out[name]) > limit:
                errors[name] = _("At most %(limit)d characters.") % {"limit": limit}
    for name, normalise in (("phone", normalize_phone), ("email", normalize_email)):
        if name in data:
            raw = (data[name] or "").strip()
            out[name] = ""
            if raw:
                try:
                    out[name] = normalise(raw)
                except ValueError as exc:
                    errors[name] = str(exc)
    if "source" in data:
        out["source"] = data["source"] or Lead.Source.FORM
        if out["source"] not in Lead.Source.values:
            errors["source"] = _("Choose one of the offered values.")
    return out


def _index(lead: Lead) -> None:
    lead.phone_index = pii.blind_index("phone", lead.phone) if lead.phone else ""
    lead.email_index = pii.blind_index("email", lead.email) if lead.email else ""


def _unit(actor: Actor, bu_id: int | None) -> BusinessUnit:
    unit_id = bu_id or (actor.bu.pk if actor.bu else None)
    unit = (
        units_for(actor=actor, module="leads", action="create").filter(pk=unit_id).first()
        if unit_id
        else None
    )
    if unit is None:
        raise ValidationError({"bu_id": _("Choose a business unit you may add leads to.")})
    return unit


def _payload(lead: Lead) -> dict[str, Any]:
    return {
        "lead_id": lead.pk,
        "bu_id": lead.bu_id,
        "owner_id": lead.owner_id,
        "status": lead.status,
        "source": lead.source,
    }


# --- capture ------------------------------------------------------------------------------


@transaction.atomic
def lead_create(
    *,
    actor: Actor,
    company_name: str,
    bu_id: int | None = None,
    owner_id: int | None = None,
    source: str = Lead.Source.FORM,
    **fields: Any,
) -> Lead:
    """A new lead of a unit. Its owner: ``owner_id`` if given; the actor when they may
    only work their own records; else whoever the unit's assignment rules pick (or
    nobody: the unit's queue)."""
    actor.require("leads", "create")
    unit = _unit(actor, bu_id)
    errors: dict[str, Any] = {}
    data = clean_lead({"company_name": company_name, "source": source, **fields}, errors)
    unknown = set(fields) - set(TEXT_LIMITS) - {"uscc", "industry", "phone", "email"}
    if unknown:
        errors.update({name: _("Unknown field.") for name in sorted(unknown)})
    if errors:
        raise ValidationError(errors)
    lead = Lead(bu=unit, created_by=actor.user, **data)
    if owner_id:
        customer_services.check_owner(unit, owner_id)
        lead.owner_id = owner_id
    elif actor.widest_scope("leads", "create") == DataScope.OWN:
        lead.owner_id = actor.user_id
    else:
        lead.owner_id = next_owner(lead)
    _index(lead)
    lead.save()
    ensure_in_scope(lead, actor=actor, action="create")
    audit_create(actor=actor, obj=lead)
    publish(actor=actor, name="sales.lead_created", payload=_payload(lead))
    return lead


def _open_lead(actor: Actor, pk: int, action: str = "change") -> Lead:
    lead = scoped_get(Lead, actor=actor, pk=pk, action=action)
    if lead.status == Lead.Status.CONVERTED:
        raise Conflict(_("This lead has been converted and no longer changes."), code="converted")
    return lead


@transaction.atomic
def lead_update(*, actor: Actor, pk: int, owner_id: int | str | None = "", **fields: Any) -> Lead:
    """Change a lead's details; ``owner_id=None`` puts it back in its unit's queue
    (``""``, the default, leaves the owner as it is)."""
    lead = _open_lead(actor, pk)
    errors: dict[str, Any] = {}
    fields.pop("status", None)  # status moves go through lead_set_status
    data = clean_lead(fields, errors)
    if errors:
        raise ValidationError(errors)
    if owner_id != "" and owner_id != lead.owner_id:
        if owner_id is not None:
            customer_services.check_owner(lead.bu, int(owner_id))
        data["owner_id"] = owner_id
    before = snapshot(lead)
    personal = [n for n in Lead.PII_FIELDS if n in data and data[n] != getattr(lead, n)]
    for name, value in data.items():
        setattr(lead, name, value)
    _index(lead)
    lead.save()
    ensure_in_scope(lead, actor=actor, action="change")
    audit_update(actor=actor, obj=lead, before=before)
    if personal:
        # Personal values never enter the audit trail: only which fields changed.
        audit_action(
            actor=actor,
            obj=lead,
            verb="personal_data",
            changes={name: ["•••", "•••"] for name in personal},
        )
    if "owner_id" in data:
        publish(actor=actor, name="sales.lead_assigned", payload=_payload(lead))
    return lead


@transaction.atomic
def lead_set_status(*, actor: Actor, pk: int, status: str, reason: str = "") -> Lead:
    """Qualify (working → qualified), disqualify with a reason, or reopen."""
    lead = scoped_get(Lead, actor=actor, pk=pk, action="change")
    if status not in TRANSITIONS.get(lead.status, ()):
        raise ValidationError(
            {
                "status": _("A %(from)s lead cannot become %(to)s.")
                % {
                    "from": lead.get_status_display(),
                    "to": dict(Lead.Status.choices).get(status, status),
                }
            },
            code="invalid_transition",
        )
    reason = (reason or "").strip()
    if status == Lead.Status.DISQUALIFIED and not reason:
        message = _("Say why the lead is disqualified.")
        raise ValidationError({"reason": message}, message=message)
    if len(reason) > 200:
        raise ValidationError({"reason": _("At most %(limit)d characters.") % {"limit": 200}})
    before = snapshot(lead)
    lead.status = status
    lead.disqualify_reason = reason if status == Lead.Status.DISQUALIFIED else ""
    lead.save(update_fields=["status", "disqualify_reason", "updated_at"])
    audit_update(actor=actor, obj=lead, before=before, verb="status_changed")
    publish(actor=actor, name="sales.lead_status_changed", payload=_payload(lead))
    return lead


@transaction.atomic
def lead_delete(*, actor: Actor, pk: int) -> None:
    lead = _open_lead(actor, pk, action="delete")
    if lead.referrals.exists():
        raise Conflict(
            _("This lead has been referred: disqualify it instead of deleting it."),
            code="lead_referred",
        )
    audit_delete(actor=actor, obj=lead)
    lead.delete()


# --- the queue ----------------------------------------------------------------------------


def queue_units(actor: Actor) -> list[int]:
    """The units whose queue (open leads without an owner) the actor may claim from: the
    units of their own memberships whose role grants ``leads.change``, whatever its data
    scope. Own-records people thus reach their unit's unowned leads (and only those: not
    a colleague's); units below are not included: a manager hands those out by editing
    the owner, and a claimed lead must be one its new owner's unit works."""
    return sorted({grant.bu_id for grant in actor.grants("leads", "change")})


@transaction.atomic
def lead_claim(*, actor: Actor, pk: int) -> Lead:
    """Take an unassigned open lead of one of the actor's units (``queue_units``). One
    conditional UPDATE (``owner IS NULL``) decides: of two people claiming at once exactly
    one wins; the other gets 409 ``already_claimed``. A closed lead: 409 ``not_open``; a
    lead outside the actor's units: 404."""
    actor.require("leads", "change")
    units = queue_units(actor)
    lead = Lead.objects.filter(pk=pk, bu_id__in=units).first()
    if lead is None:
        raise NotFound()
    before = snapshot(lead)
    claimed = Lead.objects.filter(
        pk=pk, bu_id__in=units, owner__isnull=True, status__in=Lead.OPEN_STATUSES
    ).update(owner_id=actor.user_id, updated_at=timezone.now())
    lead.refresh_from_db()
    if not claimed:
        if not lead.is_open:
            raise Conflict(_("Only open leads can be claimed."), code="not_open")
        raise Conflict(_("Someone else has already taken this lead."), code="already_claimed")
    ensure_in_scope(lead, actor=actor, action="change")
    audit_update(actor=actor, obj=lead, before=before, verb="claimed")
    publish(actor=actor, name="sales.lead_assigned", payload={**_payload(lead), "claimed": True})
    return lead


# --- import -------------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: list[int] = field(default_factory=list)
    rejected: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)


def import_columns(headers: list[str]) -> tuple[dict[str, str], list[str]]:
    """Which file column feeds which lead field, and the columns nobody reads."""
    by_alias = {
        alias.lower(): name for name, aliases in IMPORT_COLUMNS.items() for alias in aliases
    }
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for header in headers:
        name = by_alias.get(header.strip().lower())
        if name and name not in mapping.values():
            mapping[header] = name
        elif header:
            unknown.append(header)
    return mapping, unknown


def lead_import(*, actor: Actor, path: Path, bu_id: int | None = None) -> ImportReport:
    """Create a lead per row of a CSV/XLSX file through ``lead_create``; each row is
    created whole or rejected with its reasons (its own transaction)."""
    actor.require("leads", "create")
    unit = _unit(actor, bu_id)
    try:
        table = open_table(path)
    except FileError as exc:
        raise ValidationError({"file": str(exc)}) from None
    mapping, unknown = import_columns(table.headers)
    if "company_name" not in mapping.values():
        raise ValidationError(
            {"file": _("The file needs a column 公司名称 (company_name) for the company.")}
        )
    report = ImportReport(unknown_columns=unknown)
    try:
        for count, (number, values) in enumerate(table.rows, start=1):
            if count > MAX_IMPORT_ROWS:
                report.rejected.append(
                    (number, {"": [_("At most %(n)d rows per file.") % {"n": MAX_IMPORT_ROWS}]})
                )
                break
            if uncomputed := [h for h in uncomputed_columns(values) if h in mapping]:
                report.rejected.append(
                    (number, {mapping[h]: [uncomputed_message(h)] for h in uncomputed})
                )
                continue
            row = {mapping[h]: v for h, v in values.items() if h in mapping}
            if row.get("industry"):
                row["industry"] = row["industry"].split()[0]
            try:
                lead = lead_create(
                    actor=actor,
                    bu_id=unit.pk,
                    source=Lead.Source.IMPORT,
                    company_name=row.pop("company_name", ""),
                    **row,
                )
            except ValidationError as exc:
                report.rejected.append((number, exc.fields or {"": [str(exc.message)]}))
            except DomainError as exc:
                report.rejected.append((number, {"": [str(exc.message)]}))
            else:
                report.created.append(lead.pk)
    except FileError as exc:
        raise ValidationError({"file": str(exc)}) from None
    return report


# --- conversion ---------------------------------------------------------------------------


def matching_customer(lead: Lead) -> Customer | None:
    """The golden record with the lead's USCC: conversion links to it, never copies it."""
    if not lead.uscc:
        return None
    return Customer.objects.filter(uscc=lead.uscc).exclude(status=Customer.Status.MERGED).first()


def _contact_fields(lead: Lead) -> dict[str, str]:
    out = {"email": lead.email}
    if lead.phone:
        out["mobile" if _CN_MOBILE.fullmatch(lead.phone) else "phone"] = lead.phone
    return out


def _existing_contact(customer: Customer, lead: Lead) -> Contact | None:
    """The customer's contact with the lead's phone or email (by blind index), if any."""
    contacts = Contact.objects.filter(customer=customer)
    if lead.phone_index:
        found = (
            contacts.filter(mobile_index=lead.phone_index).first()
            or contacts.filter(phone_index=lead.phone_index).first()
        )
        if found:
            return found
    if lead.email_index:
        return contacts.filter(email_index=lead.email_index).first()
    return None


def _customer_for(
    actor: Actor, lead: Lead, customer_id: int | None, similar_override_reason: str
) -> Customer:
    if customer_id:
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None or customer.status != Customer.Status.ACTIVE:
            raise ValidationError({"customer_id": _("Choose an existing, active customer.")})
        if lead.uscc and customer.uscc and customer.uscc != lead.uscc:
            raise ValidationError(
                {"customer_id": _("This customer has another USCC than the lead.")}
            )
        return customer
    existing = matching_customer(lead)
    if existing is not None:
        if existing.status != Customer.Status.ACTIVE:
            raise Conflict(
                _("The customer with this USCC is not active: %(name)s.")
                % {"name": existing.legal_name},
                code="inactive_customer",
            )
        return existing
    # The customer master's duplicate check: similar names are a 422 "similar_customers"
    # listing the candidates, unless a reason to create anyway is given.
    return customer_services.customer_create(
        actor=actor,
        legal_name=lead.company_name,
        uscc=lead.uscc or None,
        industry=lead.industry,
        source=CUSTOMER_SOURCE[lead.source],
        start_relationship=False,
        similar_override_reason=similar_override_reason,
    )


@transaction.atomic
def lead_convert(
    *,
    actor: Actor,
    pk: int,
    customer_id: int | None = None,
    similar_override_reason: str = "",
    create_opportunity: bool = False,
    opportunity_name: str = "",
    amount: Any = None,
    expected_close: dt.date | None = None,
) -> Lead:
    """Turn an open lead into the customer (an existing one: the one picked, or the one
    with the lead's USCC; else a new golden record), its unit's relationship, a contact
    and optionally an opportunity — all or nothing. A lead received through a referral
    gives that opportunity the referral's revenue split."""
    lead = _open_lead(actor, pk)
    if not lead.is_open:
        raise Conflict(
            _("Only open leads can be converted; this one is %(status)s.")
            % {"status": lead.get_status_display()},
            code="not_convertible",
        )
    if lead.referrals.filter(status=Referral.Status.PENDING).exists():
        raise Conflict(
            _("This lead has a pending referral: wait for the answer or withdraw it first."),
            code="referral_pending",
        )
    owner_id = lead.owner_id or actor.user_id
    if owner_id is None:
        raise ValidationError({"owner_id": _("Assign the lead to an owner first.")})
    customer = _customer_for(actor, lead, customer_id, similar_override_reason)
    if not CustomerRelationship.objects.filter(customer=customer, bu_id=lead.bu_id).exists():
        customer_services.relationship_start(
            actor=actor, customer_id=customer.pk, bu_id=lead.bu_id, owner_id=owner_id
        )
    contact = None
    if lead.contact_name:
        contact = _existing_contact(customer, lead) or customer_services.contact_create(
            actor=actor, customer_id=customer.pk, name=lead.contact_name, **_contact_fields(lead)
        )
    opportunity: Opportunity | None = None
    if create_opportunity:
        opportunity = sales_services.opportunity_create(
            actor=actor,
            customer_id=customer.pk,
            bu_id=lead.bu_id,
            owner_id=owner_id,
            name=opportunity_name or lead.company_name,
            amount=amount,
            expected_close=expected_close,
            decision_contact_ids=[contact.pk] if contact else [],
        )
        referral = accepted_referral_of(lead)
        if referral is not None:
            sales_services.apply_splits(
                actor=actor,
                opportunity=opportunity,
                shares=referral_shares(referral, owner_id),
                source=RevenueSplit.Source.REFERRAL,
            )
    before = snapshot(lead)
    lead.status = Lead.Status.CONVERTED
    lead.owner_id = owner_id
    lead.converted_customer = customer
    lead.converted_contact = contact
    lead.converted_opportunity = opportunity
    lead.converted_at = timezone.now()
    lead.save()
    # The lead's referrals now concern this customer (its 360 page shows them).
    Referral.objects.filter(lead=lead, customer__isnull=True).update(customer=customer)
    audit_update(actor=actor, obj=lead, before=before, verb="converted")
    publish(
        actor=actor,
        name="sales.lead_converted",
        payload={
            **_payload(lead),
            "customer_id": customer.pk,
            "contact_id": contact.pk if contact else None,
            "opportunity_id": opportunity.pk if opportunity else None,
        },
    )
    return lead
