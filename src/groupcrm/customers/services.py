"""Writes on the customer master: golden records, hierarchy, relationships and the public
pool, contacts, follow-ups, follows and four-eyes change requests.

Every service is atomic, takes ``actor``, checks permission and scope, writes change
records and publishes events in the same transaction (design.md §4).

Who may write a golden record (or its contacts): someone with the module's permission
whose unit is engaged with the customer (a relationship within their scope), or whose
grant is group-wide. Anyone with customers.view may read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.audit.services import (
    access_record,
    audit_action,
    audit_create,
    audit_delete,
    audit_update,
    snapshot,
)
from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from groupcrm.core.events import publish
from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import NOTHING, ensure_in_scope, scoped_get
from groupcrm.core.tree import move_subtree
from groupcrm.customers import search
from groupcrm.customers.models import (
    ChangeRequest,
    Collaborator,
    Contact,
    Customer,
    CustomerRelationship,
    Follow,
    FollowUp,
    PoolRule,
    Tag,
)
from groupcrm.customers.normalize import (
    SIMILAR_NAME_THRESHOLD,
    base_company_name,
    name_pinyin,
    name_similarity,
    normalize_company_name,
    normalize_email,
    normalize_phone,
    normalize_uscc,
    parse_region,
)
from groupcrm.customers.reference import is_industry
from groupcrm.org.models import BusinessUnit, Membership, User

MAX_TAGS = 10

# --- reach: who may write a golden record -------------------------------------------------


def has_reach(
    actor: Actor, customer: Customer, module: str, action: str, *, engaged: bool | None = None
) -> bool:
    """``engaged`` (whether a relationship with the customer lies within the actor's
    scope) may be passed when already known, to save the query."""
    if not actor.can(module, action):
        return False
    if actor.widest_scope(module, action) == DataScope.GROUP:
        return True
    if engaged is not None:
        return engaged
    return CustomerRelationship.objects.visible_to(actor, "view").filter(customer=customer).exists()


def reached(actor: Actor, customer_ids: Iterable[int], module: str, action: str) -> set[int]:
    """``has_reach`` for many customers in one query (imports): the ones reached."""
    if not actor.can(module, action):
        return set()
    ids = set(customer_ids)
    if actor.widest_scope(module, action) == DataScope.GROUP:
        return ids
    return set(
        CustomerRelationship.objects.visible_to(actor, "view")
        .filter(customer_id__in=ids)
        .values_list("customer_id", flat=True)
    )


def ensure_reach(actor: Actor, customer: Customer, module: str, action: str) -> None:
    if not has_reach(actor, customer, module, action):
        raise PermissionDenied(
            _(
                "Only units engaged with this customer may change it: start a relationship "
                "with it first."
            )
        )


def stewarded(actor: Actor, customer: str = "pk") -> Q:
    """The customers whose duplicates the actor decides (merges, unmerges), as a condition
    on a query where ``customer`` names the customer: with a group-wide
    ``customers.admin`` grant, all of them; else those worked by at least one unit the
    actor administers and by no other. A customer another unit works with too is that
    unit's master data as well, so its merges go to a group data steward; collaborating
    on a relationship makes nobody its steward."""
    if not actor.can("customers", "admin"):
        return NOTHING
    if actor.widest_scope("customers", "admin") == DataScope.GROUP:
        return Q()
    administered = NOTHING
    for grant in actor.grants("customers", "admin"):
        administered |= CustomerRelationship.scope_q(grant, actor)
    worked = CustomerRelationship.objects.filter(customer=OuterRef(customer))
    return Q(Exists(worked.filter(administered))) & ~Q(Exists(worked.exclude(administered)))


def is_steward(actor: Actor, customer: Customer) -> bool:
    return Customer.objects.filter(stewarded(actor), pk=customer.pk).exists()


def ensure_steward(actor: Actor, customer: Customer) -> None:
    if not is_steward(actor, customer):
        raise PermissionDenied(
            _(
                "Only a data steward of every unit working with this customer may merge it; "
                "a customer several units work with goes to a group data steward."
            )
        )


def _customer(actor: Actor, pk: int) -> Customer:
    actor.require("customers", "view")
    customer = Customer.objects.filter(pk=pk).first()
    if customer is None:
        raise NotFound()
    return customer


# --- validation -------------------------------------------------------------------------


def _choice(errors: dict[str, Any], name: str, value: str, choices: Any) -> str:
    value = (value or "").strip()
    if value and value not in choices.values:
        errors[name] = _("Choose one of the offered values.")
    return value


def clean_customer(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise golden-record fields present in ``data`` (manual entry,
    the API and imports alike); problems go into ``errors`` by field."""
    out: dict[str, Any] = {}
    if "legal_name" in data:
        name = " ".join((data["legal_name"] or "").split())
        if not name:
            errors["legal_name"] = _("This field is required.")
        elif len(name) > 200:
            errors["legal_name"] = _("At most 200 characters.")
        elif not normalize_company_name(name):
            errors["legal_name"] = _("Enter the company's registered name.")
        out["legal_name"] = name
    if "short_name" in data:
        out["short_name"] = (data["short_name"] or "").strip()
        if len(out["short_name"]) > 60:
            errors["short_name"] = _("At most 60 characters.")
    if "uscc" in data:
        raw = (data["uscc"] or "").strip()
        out["uscc"] = None
        if raw:
            try:
                out["uscc"] = normalize_uscc(raw)
            except ValueError as exc:
                errors["uscc"] = str(exc)
    if "industry" in data:
        out["industry"] = (data["industry"] or "").strip()
        if out["industry"] and not is_industry(out["industry"]):
            errors["industry"] = _("Choose an industry from the national classification.")
    for name, choices in (
        ("legal_form", Customer.LegalForm),
        ("size", Customer.Size),
        ("group_grade", Customer.Grade),
    ):
        if name in data:
            out[name] = _choice(errors, name, data[name], choices)
    for name, choices in (("source", Customer.Source), ("status", Customer.Status)):
        if name in data and data[name] is not None:
            out[name] = _choice(errors, name, data[name], choices)
            if not out[name]:
                errors[name] = _("This field is required.")
    if out.get("status") == Customer.Status.MERGED:
        errors["status"] = _("Customers are merged through the merge tool, not by hand.")
    if "employees" in data:
        out["employees"] = data["employees"]
        if out["employees"] is not None and int(out["employees"]) < 0:
            errors["employees"] = _("Enter a number of zero or more.")
    if "annual_revenue" in data:
        value = data["annual_revenue"]
        try:
            out["annual_revenue"] = None if value in (None, "") else Decimal(str(value))
        except InvalidOperation:
            errors["annual_revenue"] = _("Enter a number.")
        else:
            if out["annual_revenue"] is not None and out["annual_revenue"] < 0:
                errors["annual_revenue"] = _("Enter a number of zero or more.")
    if "website" in data:
        site = (data["website"] or "").strip()
        if site and ("." not in site or " " in site or len(site) > 200):
            errors["website"] = _("Enter a web address such as www.example.com.")
        out["website"] = site
    if "address" in data:
        out["address"] = " ".join((data["address"] or "").split())
        if len(out["address"]) > 200:
            errors["address"] = _("At most 200 characters.")
    if "tags" in data and data["tags"] is not None:
        tags = list(dict.fromkeys(t.strip() for t in data["tags"] if t and t.strip()))
        if len(tags) > MAX_TAGS:
            errors["tags"] = _("At most %(n)d tags.") % {"n": MAX_TAGS}
        elif any(len(t) > 30 for t in tags):
            errors["tags"] = _("A tag has at most 30 characters.")
        out["tags"] = tags
    return out


def derive_customer(customer: Customer, region: tuple[str, str, str] | None = None) -> None:
    """Matching keys, 拼音, region and data quality from the record's own fields. A bulk
    path passes the ``region`` it parsed for many addresses at once (``parse_regions``)."""
    customer.name_key = normalize_company_name(customer.legal_name)[:200]
    customer.base_key = base_company_name(customer.legal_name)[:200]
    full, initials = name_pinyin(customer.legal_name)
    customer.pinyin, customer.initials = full[:400], initials[:100]
    if customer.address:
        province, city, district = region or parse_region(customer.address)
        if province:
            customer.province, customer.city, customer.district = province, city, district
    issues = []
    for field, code in (
        ("uscc", "missing_uscc"),
        ("industry", "missing_industry"),
        ("address", "missing_address"),
        ("size", "missing_size"),
        ("legal_form", "missing_legal_form"),
    ):
        if not getattr(customer, field):
            issues.append(code)
    if customer.address and not customer.province:
        issues.append("unknown_region")
    customer.quality_issues = issues
    customer.quality_score = round(100 * (6 - len(issues)) / 6)


def set_tags(customer: Customer, names: list[str]) -> None:
    tags = []
    for name in names:
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    customer.tags.set(tags)


# --- duplicates (查重) -------------------------------------------------------------------


def engaged_units(customer: Customer) -> list[dict[str, Any]]:
    """Which units work with a customer, and who owns it there: visible to everyone with
    customers.view so that account managers across the group can coordinate."""
    return [
        {
            "bu_id": rel.bu_id,
            "bu_name": rel.bu.name,
            "owner_id": rel.owner_id,
            "owner_name": rel.owner.display_name or rel.owner.username if rel.owner else "",
        }
        for rel in customer.relationships.select_related("bu", "owner").order_by("bu__path")
    ]


def similar_customers(
    legal_name: str, *, exclude_pk: int | None = None, limit: int = 5
) -> list[tuple[Customer, float]]:
    """Customers whose name is close to ``legal_name`` (same base name, or close enough
    by ``name_similarity``), closest first."""
    base = base_company_name(legal_name)
    if not base:
        return []
    candidates = set(
        Customer.objects.filter(base_key=base)
        .exclude(status=Customer.Status.MERGED)
        .values_list("pk", flat=True)[:50]
    )
    # Names that contain this one, and names that start like it (华夏制造 ~ 华夏制造集团).
    candidates |= set(search.search_ids(base, limit=50))
    candidates |= set(search.search_ids(base[:4], limit=50))
    if exclude_pk:
        candidates.discard(exclude_pk)
    scored = [
        (c, name_similarity(legal_name, c.legal_name))
        for c in Customer.objects.filter(pk__in=candidates)
    ]
    hits = [(c, s) for c, s in scored if c.base_key == base or s >= SIMILAR_NAME_THRESHOLD]
    return sorted(hits, key=lambda cs: (-cs[1], cs[0].pk))[:limit]


def _existing_conflict(existing: Customer) -> Conflict:
    units = engaged_units(existing)
    names = "、".join(u["bu_name"] for u in units) or _("no unit yet")
    return Conflict(
        _(
            "This customer already exists: %(name)s (engaged units: %(units)s). Open it to "
            "start your unit's relationship or ask its owner for access."
        )
        % {"name": existing.legal_name, "units": names},
        code="duplicate_customer",
        extra={
            "existing": {
                "id": existing.pk,
                "legal_name": existing.legal_name,
                "uscc": existing.uscc,
                "engaged_units": units,
            }
        },
    )


def _check_duplicates(
    *, legal_name: str, uscc: str | None, exclude_pk: int | None, override_reason: str
) -> None:
    if uscc:
        existing = Customer.objects.filter(uscc=uscc).exclude(pk=exclude_pk).first()
        if existing:
            raise _existing_conflict(existing)
    similar = similar_customers(legal_name, exclude_pk=exclude_pk)
    if similar and not override_reason.strip():
        names = "、".join(c.legal_name for c, _score in similar)
        raise ValidationError(
            {
                "legal_name": _("Similar customers exist: %(names)s.") % {"names": names},
                "similar_override_reason": _(
                    "If this is a different company, give a reason to create it anyway."
                ),
            },
            code="similar_customers",
            extra={
                "similar": [
                    {"id": c.pk, "legal_name": c.legal_name, "score": round(score, 2)}
                    for c, score in similar
                ]
            },
        )


def _save_unique(customer: Customer) -> None:
    """Save; a USCC taken by a concurrent save in the meantime is a 409, never a 500."""
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        existing = Customer.objects.filter(uscc=customer.uscc).first() if customer.uscc else None
        if existing is None:
            raise
        raise _existing_conflict(existing) from None


# --- golden record ------------------------------------------------------------------------


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    legal_name: str,
    parent_id: int | None = None,
    start_relationship: bool = True,
    similar_override_reason: str = "",
    **fields: Any,
) -> Customer:
    """Create a golden record; by default also the actor's unit's relationship to it,
    owned by the actor. Duplicates are checked group-wide first."""
    actor.require("customers", "create")
    errors: dict[str, Any] = {}
    data = clean_customer({"legal_name": legal_name, **fields}, errors)
    parent = _parent(parent_id, errors)
    if errors:
        raise ValidationError(errors)
    _check_duplicates(
        legal_name=data["legal_name"],
        uscc=data.get("uscc"),
        exclude_pk=None,
        override_reason=similar_override_reason,
    )
    tags = data.pop("tags", [])
    customer = Customer(**data, parent=parent, created_by=actor.user)
    derive_customer(customer)
    _save_unique(customer)
    customer.path = (parent.path if parent else "") + customer.own_segment()
    customer.depth = parent.depth + 1 if parent else 0
    customer.save(update_fields=["path", "depth"])
    set_tags(customer, tags)
    audit_create(actor=actor, obj=customer)
    if similar_override_reason.strip():
        audit_action(
            actor=actor,
            obj=customer,
            verb="similar_override",
            changes={"reason": similar_override_reason.strip()},
        )
    search.reindex([customer.pk])
    publish(actor=actor, name="customers.created", payload={"customer_id": customer.pk})
    if start_relationship and actor.bu is not None:
        relationship_start(
            actor=actor, customer_id=customer.pk, bu_id=actor.bu.pk, owner_id=actor.user_id
        )
    return customer


def _parent(parent_id: int | None, errors: dict[str, Any]) -> Customer | None:
    if not parent_id:
        return None
    parent = Customer.objects.filter(pk=parent_id).first()
    if parent is None:
        errors["parent_id"] = _("Choose an existing customer as the parent company.")
    elif parent.status == Customer.Status.MERGED:
        errors["parent_id"] = _("A merged customer cannot be a parent company.")
    return parent


@transaction.atomic
def customer_update(
    *,
    actor: Actor,
    pk: int,
    change_reason: str = "",
    similar_override_reason: str = "",
    **fields: Any,
) -> tuple[Customer, ChangeRequest | None]:
    """Apply ordinary changes at once; legal name, USCC and group grade become a change
    request for a second person to approve (双人核对). Returns (customer, request)."""
    customer = _customer(actor, pk)
    ensure_reach(actor, customer, "customers", "change")
    errors: dict[str, Any] = {}
    data = clean_customer(fields, errors)
    if errors:
        raise ValidationError(errors)
    guarded = {
        name: [getattr(customer, name), data.pop(name)]
        for name in ChangeRequest.APPROVAL_FIELDS
        if name in data and data[name] != getattr(customer, name)
    }
    tags = data.pop("tags", None)
    before = snapshot(customer)
    for name, value in data.items():
        setattr(customer, name, value)
    derive_customer(customer)
    customer.save()
    if tags is not None:
        old_tags = sorted(customer.tags.values_list("name", flat=True))
        set_tags(customer, tags)
        if old_tags != sorted(tags):
            audit_action(
                actor=actor, obj=customer, verb="tags", changes={"tags": [old_tags, sorted(tags)]}
            )
    changed = audit_update(actor=actor, obj=customer, before=before)
    if changed:
        search.reindex([customer.pk])
        publish(
            actor=actor,
            name="customers.updated",
            payload={"customer_id": customer.pk, "fields": sorted(changed.changes)},
        )
    request = None
    if guarded:
        request = _request_change(
            actor,
            customer,
            guarded,
            reason=change_reason,
            similar_override_reason=similar_override_reason,
        )
    return customer, request


def _request_change(
    actor: Actor,
    customer: Customer,
    changes: dict[str, list[Any]],
    *,
    reason: str,
    similar_override_reason: str,
) -> ChangeRequest:
    if "legal_name" in changes or "uscc" in changes:
        _check_duplicates(
            legal_name=changes.get("legal_name", [None, customer.legal_name])[1],
            uscc=changes.get("uscc", [None, customer.uscc])[1],
            exclude_pk=customer.pk,
            override_reason=similar_override_reason or reason,
        )
    if ChangeRequest.objects.filter(
        customer=customer, status=ChangeRequest.Status.PENDING
    ).exists():
        raise Conflict(
            _("A change to this customer is already waiting for approval: decide on it first."),
            code="change_pending",
        )
    request = ChangeRequest.objects.create(
        customer=customer, changes=changes, reason=reason.strip()[:200], requested_by=actor.user
    )
    audit_create(actor=actor, obj=request)
    publish(
        actor=actor,
        name="customers.change_requested",
        payload={"customer_id": customer.pk, "request_id": request.pk},
    )
    return request


def _pending_request(actor: Actor, pk: int) -> ChangeRequest:
    request = (
        ChangeRequest.objects.select_related("customer")
        .filter(pk=pk, status=ChangeRequest.Status.PENDING)
        .first()
    )
    if request is None or not actor.can("customers", "view"):
        raise NotFound()
    return request


@transaction.atomic
def change_request_approve(*, actor: Actor, pk: int, note: str = "") -> ChangeRequest:
    request = _pending_request(actor, pk)
    ensure_reach(actor, request.customer, "customers", "approve")
    if request.requested_by_id == actor.user_id:
        raise PermissionDenied(_("A change must be approved by someone other than its author."))
    customer = Customer.objects.select_for_update().get(pk=request.customer_id)
    stale = [n for n, (old, _new) in request.changes.items() if getattr(customer, n) != old]
    if stale:
        raise Conflict(
            _("The customer changed since this request was made: reject it and ask again."),
            code="stale_request",
        )
    values = {name: new for name, (_old, new) in request.changes.items()}
    if "legal_name" in values or "uscc" in values:
        uscc = values.get("uscc", customer.uscc)
        if uscc and Customer.objects.filter(uscc=uscc).exclude(pk=customer.pk).exists():
            raise _existing_conflict(Customer.objects.get(uscc=uscc))
    before = snapshot(customer)
    for name, value in values.items():
        setattr(customer, name, value)
    derive_customer(customer)
    _save_unique(customer)
    request.status = ChangeRequest.Status.APPROVED
    _decide(actor, request, note)
    audit_update(actor=actor, obj=customer, before=before, verb="approved_change")
    search.reindex([customer.pk])
    publish(
        actor=actor,
        name="customers.updated",
        payload={"customer_id": customer.pk, "fields": sorted(values)},
    )
    return request


def _decide(actor: Actor, request: ChangeRequest, note: str) -> None:
    before = snapshot(request)
    request.decided_by = actor.user
    request.decided_at = timezone.now()
    request.decision_note = note.strip()[:200]
    request.save()
    audit_update(actor=actor, obj=request, before=before)


@transaction.atomic
def change_request_reject(*, actor: Actor, pk: int, note: str = "") -> ChangeRequest:
    """Reject (someone with approve) or withdraw (the author) a pending change."""
    request = _pending_request(actor, pk)
    if request.requested_by_id == actor.user_id:
        request.status = ChangeRequest.Status.WITHDRAWN
    else:
        ensure_reach(actor, request.customer, "customers", "approve")
        request.status = ChangeRequest.Status.REJECTED
    _decide(actor, request, note)
    return request


@transaction.atomic
def customer_move(*, actor: Actor, pk: int, parent_id: int | None) -> Customer:
    """Hang a customer (with its whole group below it) under another parent, or at the
    top with ``parent_id=None``: one audited operation."""
    customer = _customer(actor, pk)
    ensure_reach(actor, customer, "customers", "change")
    errors: dict[str, Any] = {}
    parent = _parent(parent_id, errors)
    if errors:
        raise ValidationError(errors)
    if parent is not None and parent.path.startswith(customer.path):
        raise ValidationError(
            {
                "parent_id": _(
                    "A company cannot be placed under itself or one of its own subsidiaries."
                )
            }
        )
    if (parent.pk if parent else None) == customer.parent_id:
        return customer
    before = snapshot(customer)
    move_subtree(Customer, customer, parent)
    audit_update(actor=actor, obj=customer, before=before, verb="move")
    publish(
        actor=actor,
        name="customers.updated",
        payload={"customer_id": customer.pk, "fields": ["parent"]},
    )
    return customer


# --- relationships and the public pool ------------------------------------------------


def pool_rule(bu_id: int, *, unit: BusinessUnit | None = None) -> PoolRule:
    """The unit's rule, else the nearest ancestor's, else the defaults (unsaved). Pass
    ``unit`` when it is already loaded."""
    unit = unit if unit is not None and unit.pk == bu_id else BusinessUnit.objects.get(pk=bu_id)
    rules = {r.bu_id: r for r in PoolRule.objects.filter(bu_id__in=unit.ancestor_ids())}
    for ancestor in reversed(unit.ancestor_ids()):
        if ancestor in rules:
            return rules[ancestor]
    return PoolRule(bu=unit)


class RuleCache(dict):
    """Pool rules by unit, read once per request or job."""

    def __missing__(self, bu_id: int) -> PoolRule:
        self[bu_id] = rule = pool_rule(bu_id)
        return rule

    def of(self, relationship: CustomerRelationship) -> PoolRule:
        """The rule of a relationship whose unit is already loaded (no unit query)."""
        if relationship.bu_id not in self:
            self[relationship.bu_id] = pool_rule(relationship.bu_id, unit=relationship.bu)
        return self[relationship.bu_id]


def check_owner(unit: BusinessUnit, owner_id: int) -> User:
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    member = Membership.objects.filter(
        user_id=owner_id, is_active=True, bu__path__startswith=unit.path
    ).exists()
    if owner is None or not member:
        raise ValidationError(
            {
                "owner_id": _(
                    "The account manager must be a member of %(unit)s or of a unit below it."
                )
                % {"unit": unit.name}
            }
        )
    return owner


def _check_capacity(unit: BusinessUnit, owner_id: int) -> None:
    rule = pool_rule(unit.pk)
    owned = CustomerRelationship.objects.filter(owner_id=owner_id, bu=unit).count()
    if owned >= rule.max_owned:
        raise Conflict(
            _("%(name)s already owns %(n)d customers in %(unit)s, the most the unit allows.")
            % {"name": User.objects.get(pk=owner_id), "n": owned, "unit": unit.name},
            code="owner_limit",
        )


@transaction.atomic
def relationship_start(
    *,
    actor: Actor,
    customer_id: int,
    bu_id: int | None = None,
    owner_id: int | None = None,
    stage: str = CustomerRelationship.Stage.PROSPECT,
) -> CustomerRelationship:
    """Start a unit's relationship with an existing customer; without owner it goes to
    the unit's public pool."""
    customer = _customer(actor, customer_id)
    actor.require("customers", "create")
    unit_id = bu_id or (actor.bu.pk if actor.bu else None)
    unit = BusinessUnit.objects.filter(pk=unit_id, is_active=True).first() if unit_id else None
    if unit is None:
        raise ValidationError({"bu_id": _("Choose an active business unit.")})
    if customer.status != Customer.Status.ACTIVE:
        raise Conflict(_("Only active customers can be worked with."), code="inactive_customer")
    if stage not in CustomerRelationship.Stage.values:
        raise ValidationError({"stage": _("Choose one of the offered values.")})
    if CustomerRelationship.objects.filter(customer=customer, bu=unit).exists():
        raise Conflict(
            _("%(unit)s already has a relationship with this customer.") % {"unit": unit.name},
            code="relationship_exists",
        )
    relationship = CustomerRelationship(customer=customer, bu=unit, stage=stage)
    if owner_id:
        check_owner(unit, owner_id)
        _check_capacity(unit, owner_id)
        relationship.owner_id = owner_id
        relationship.claimed_at = timezone.now()
    try:
        with transaction.atomic():
            relationship.save()
    except IntegrityError:
        raise Conflict(
            _("%(unit)s already has a relationship with this customer.") % {"unit": unit.name},
            code="relationship_exists",
        ) from None
    ensure_in_scope(relationship, actor=actor, action="create")
    audit_create(actor=actor, obj=relationship)
    publish(
        actor=actor,
        name="customers.relationship_started",
        payload={"customer_id": customer.pk, "relationship_id": relationship.pk},
    )
    return relationship


def clean_relationship(
    rule: PoolRule, data: dict[str, Any], errors: dict[str, Any]
) -> dict[str, Any]:
    """A unit's relationship values as entered (``None``: not given): the stage, and the
    grade among the unit's grades (its pool rule). Returns the given values, cleaned."""
    cleaned = {name: value for name, value in data.items() if value is not None}
    if "stage" in cleaned and cleaned["stage"] not in CustomerRelationship.Stage.values:
        errors["stage"] = _("Choose one of the offered values.")
    if cleaned.get("grade") and cleaned["grade"] not in rule.grade_choices:
        errors["grade"] = _("Choose one of this unit's grades: %(grades)s.") % {
            "grades": ", ".join(rule.grade_choices)
        }
    if "notes" in cleaned:
        cleaned["notes"] = cleaned["notes"].strip()
    return cleaned


@transaction.atomic
def relationship_update(
    *,
    actor: Actor,
    pk: int,
    stage: str | None = None,
    grade: str | None = None,
    notes: str | None = None,
    protected_until: dt.date | None = None,
    clear_protection: bool = False,
) -> CustomerRelationship:
    relationship = scoped_get(CustomerRelationship, actor=actor, pk=pk, action="change")
    errors: dict[str, Any] = {}
    clean_relationship(pool_rule(relationship.bu_id), {"stage": stage, "grade": grade}, errors)
    if errors:
        raise ValidationError(errors)
    before = snapshot(relationship)
    if stage is not None:
        relationship.stage = stage
    if grade is not None:
        relationship.grade = grade
    if notes is not None:
        relationship.notes = notes.strip()
    if protected_until is not None or clear_protection:
        relationship.protected_until = protected_until
    relationship.save()
    record = audit_update(actor=actor, obj=relationship, before=before)
    if record and "stage" in record.changes:
        stage_changed(actor, relationship)
    return relationship


@transaction.atomic
def relationship_assign(*, actor: Actor, pk: int, owner_id: int) -> CustomerRelationship:
    """Give a relationship (also one in the pool) to an account manager of the unit."""
    relationship = relationship_for_assignment(actor, pk)
    if relationship.owner_id == owner_id:
        return relationship
    unit = relationship.bu
    check_owner(unit, owner_id)
    _check_capacity(unit, owner_id)
    before = snapshot(relationship)
    previous = relationship.owner_id
    relationship.owner_id = owner_id
    relationship.claimed_at = timezone.now()
    relationship.released_at, relationship.release_reason = None, ""
    relationship.save()
    audit_update(actor=actor, obj=relationship, before=before, verb="assign")
    owner_changed(actor, relationship, previous, reason="assign")
    return relationship


STAGE_CHANGED, OWNER_CHANGED = "customers.stage_changed", "customers.owner_changed"


def stage_changed(actor: Actor, relationship: CustomerRelationship) -> None:
    """Tell followers a relationship's stage changed."""
    publish(actor=actor, name=STAGE_CHANGED, payload=stage_payload(relationship))


def owner_changed(
    actor: Actor, relationship: CustomerRelationship, previous: int | None, *, reason: str
) -> None:
    """Tell followers a relationship changed hands (``previous``: the owner before)."""
    publish(actor=actor, name=OWNER_CHANGED, payload=owner_payload(relationship, previous, reason))


def stage_payload(relationship: CustomerRelationship) -> dict[str, Any]:
    return {
        "customer_id": relationship.customer_id,
        "relationship_id": relationship.pk,
        "stage": relationship.stage,
    }


def owner_payload(
    relationship: CustomerRelationship, previous: int | None, reason: str
) -> dict[str, Any]:
    return {
        "customer_id": relationship.customer_id,
        "relationship_id": relationship.pk,
        "bu_id": relationship.bu_id,
        "from": previous,
        "to": relationship.owner_id,
        "reason": reason,
    }


def pool_units_q(actor: Actor, action: str = "view") -> Q:
    """Relationships of the units whose pool the actor reaches: their own unit's (any
    scope), and the units below for subtree and group scopes."""
    if actor.is_system or actor.is_superuser:
        return Q()
    condition = Q(pk__in=[])
    for grant in actor.grants("customers", action):
        if grant.scope == DataScope.GROUP:
            return Q()
        if grant.scope == DataScope.SUBTREE:
            condition |= Q(bu__path__startswith=grant.bu_path)
        else:
            condition |= Q(bu_id=grant.bu_id)
    return condition


def pool_q(actor: Actor, action: str = "view") -> Q:
    """Pool relationships (no owner) the actor reaches."""
    return Q(owner__isnull=True) & pool_units_q(actor, action)


def relationship_for_assignment(actor: Actor, pk: int) -> CustomerRelationship:
    """A relationship the actor may change, or a pool one of a unit the actor manages."""
    rel = CustomerRelationship.objects.filter(pk=pk).filter(pool_q(actor, "change")).first()
    if rel is not None and actor.widest_scope("customers", "change") != DataScope.OWN:
        return rel
    return scoped_get(CustomerRelationship, actor=actor, pk=pk, action="change")


def claims_today(user_id: int) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return ChangeRecord.objects.filter(
        actor_id=user_id,
        at__gte=start,
        object_type="customers.customerrelationship",
        verb="claim",
    ).count()


@transaction.atomic
def relationship_claim(*, actor: Actor, pk: int) -> CustomerRelationship:
    """Take a customer from the unit's public pool (领取), within the pool rules."""
    relationship = (
        CustomerRelationship.objects.select_related("bu")
        .filter(pk=pk)
        .filter(pool_q(actor, "change"))
        .first()
    )
    if relationship is None:
        taken = CustomerRelationship.objects.filter(pk=pk, owner__isnull=False)
        if taken.filter(pool_units_q(actor, "change")).exists():
            raise Conflict(_("Someone else has already taken this customer."), code="taken")
        raise NotFound()
    rule = pool_rule(relationship.bu_id)
    if claims_today(actor.user_id or 0) >= rule.daily_claim_limit:
        raise Conflict(
            _("You have reached today's limit of %(n)d customers taken from the pool.")
            % {"n": rule.daily_claim_limit},
            code="claim_limit",
        )
    _check_capacity(relationship.bu, actor.user_id or 0)
    now = timezone.now()
    # Conditional update: of two people claiming at once, exactly one wins.
    taken = CustomerRelationship.objects.filter(pk=pk, owner__isnull=True).update(
        owner_id=actor.user_id, claimed_at=now, released_at=None, release_reason="", updated_at=now
    )
    if not taken:
        raise Conflict(_("Someone else has already taken this customer."), code="taken")
    relationship.refresh_from_db()
    audit_action(
        actor=actor, obj=relationship, verb="claim", changes={"owner": [None, actor.user_id]}
    )
    owner_changed(actor, relationship, None, reason="claim")
    return relationship


@transaction.atomic
def relationship_release(
    *, actor: Actor, pk: int, reason: str, verb: str = "release"
) -> CustomerRelationship:
    """Return a customer to the unit's public pool (释放), with a reason."""
    relationship = scoped_get(CustomerRelationship, actor=actor, pk=pk, action="change")
    if relationship.owner_id is None:
        raise Conflict(_("This customer is already in the public pool."), code="in_pool")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the customer goes back to the pool.")})
    previous = relationship.owner_id
    before = snapshot(relationship)
    relationship.owner = None
    relationship.claimed_at = None
    relationship.released_at = timezone.now()
    relationship.release_reason = reason[:200]
    relationship.save()
    audit_update(actor=actor, obj=relationship, before=before, verb=verb)
    owner_changed(actor, relationship, previous, reason=verb)
    return relationship


OpportunityFacts = dict[tuple[int, int], tuple[bool, dt.datetime | None]]


def needs_opportunities(rule: PoolRule) -> bool:
    return bool(rule.exempt_open_opportunity or rule.reclaim_without_opportunity_days)


def opportunity_activity(rels: Iterable[CustomerRelationship]) -> OpportunityFacts:
    """By (customer, unit) of ``rels``: whether the unit has an open opportunity on the
    customer, and when its last other one closed; pairs without any are left out. One
    grouped query (sales owns opportunities; they are reached through the customer's
    reverse relation so the customer master does not import sales)."""
    pairs = {(rel.customer_id, rel.bu_id) for rel in rels}
    if not pairs or not apps.is_installed("groupcrm.sales"):
        return {}
    opportunity = Customer._meta.get_field("opportunities").related_model
    groups = (
        opportunity._default_manager.filter(
            customer_id__in={c for c, _ in pairs}, bu_id__in={b for _, b in pairs}
        )
        .values_list("customer_id", "bu_id")
        .annotate(open=Count("pk", filter=Q(status="open")), last=Max("closed_at"))
        .order_by()
    )
    return {
        (customer_id, bu_id): (True, None) if open_count else (False, last)
        for customer_id, bu_id, open_count, last in groups
        if (customer_id, bu_id) in pairs
    }


@dataclass(frozen=True)
class Reclaim:
    """When an owned relationship goes back to the pool, and why."""

    on: dt.date
    reason: str


def reclaim_plan(
    rel: CustomerRelationship, rule: PoolRule, *, opportunities: OpportunityFacts | None = None
) -> Reclaim | None:
    """The earliest day ``rule`` returns ``rel`` to the pool, with the rule that does it;
    None when no rule applies. A protection date postpones every rule. Lists pass
    ``opportunities``, the ``opportunity_activity`` of all their relationships, to save
    the query per row."""
    if rel.owner_id is None or (rule.exempt_won and rel.stage == CustomerRelationship.Stage.WON):
        return None
    has_open: bool = False
    last_closed: dt.datetime | None = None
    if needs_opportunities(rule):
        if opportunities is None:
            opportunities = opportunity_activity([rel])
        has_open, last_closed = opportunities.get((rel.customer_id, rel.bu_id), (False, None))
    owned_since = rel.claimed_at or rel.created_at
    plans: list[Reclaim] = []
    if rule.reclaim_after_days and not (rule.exempt_open_opportunity and has_open):
        since = rel.last_followup_at or owned_since
        plans.append(
            Reclaim(
                timezone.localtime(since).date() + dt.timedelta(days=rule.reclaim_after_days),
                _("No follow-up for %(n)d days") % {"n": rule.reclaim_after_days},
            )
        )
    if rule.reclaim_without_opportunity_days and not has_open:
        since = max(owned_since, last_closed) if last_closed else owned_since
        days = rule.reclaim_without_opportunity_days
        plans.append(
            Reclaim(
                timezone.localtime(since).date() + dt.timedelta(days=days),
                _("No open opportunity for %(n)d days") % {"n": days},
            )
        )
    if not plans:
        return None
    plan = min(plans, key=lambda p: p.on)
    if rel.protected_until and rel.protected_until >= plan.on:
        plan = Reclaim(rel.protected_until + dt.timedelta(days=1), plan.reason)
    return plan


def reclaim_plans(
    rels: Iterable[CustomerRelationship], rules: RuleCache | None = None
) -> list[tuple[CustomerRelationship, Reclaim | None]]:
    """``reclaim_plan`` of each relationship (its unit loaded), with the opportunity
    facts their rules need read in one query for all of them."""
    rels, rules = list(rels), rules if rules is not None else RuleCache()
    opportunities = opportunity_activity(r for r in rels if needs_opportunities(rules.of(r)))
    return [(rel, reclaim_plan(rel, rules.of(rel), opportunities=opportunities)) for rel in rels]


def protection_end(rel: CustomerRelationship, rule: PoolRule) -> dt.date | None:
    """The last day an owned relationship is protected against other units: its explicit
    protection date, or ``rule.protection_days`` after the claim or last follow-up,
    whichever is later. None for a relationship in the pool or never protected."""
    if rel.owner_id is None:
        return None
    ends = [rel.protected_until] if rel.protected_until else []
    if rule.protection_days:
        since = rel.last_followup_at or rel.claimed_at or rel.created_at
        ends.append(timezone.localtime(since).date() + dt.timedelta(days=rule.protection_days))
    return max(ends) if ends else None


RECLAIM_BATCH = 500


def pool_reclaim(*, today: dt.date | None = None) -> int:
    """Return every overdue relationship to its pool (the periodic job). Each one goes
    through ``relationship_release`` as the system, so it is audited and announced."""
    today = today or timezone.localdate()
    actor = Actor.system("pool reclaim")
    rules = RuleCache()
    owned = (
        CustomerRelationship.objects.filter(owner__isnull=False)
        .select_related("bu")
        .order_by("pk")
        .iterator(chunk_size=RECLAIM_BATCH)
    )
    count = 0
    while batch := list(islice(owned, RECLAIM_BATCH)):
        for rel, plan in reclaim_plans(batch, rules):
            if plan is None or plan.on > today:
                continue
            relationship_release(actor=actor, pk=rel.pk, reason=plan.reason, verb="reclaim")
            count += 1
    return count


@transaction.atomic
def collaborator_set(
    *, actor: Actor, relationship_id: int, user_id: int, access: str | None
) -> CustomerRelationship:
    """Add, change (``access``) or remove (``access=None``) a collaborator."""
    relationship = scoped_get(
        CustomerRelationship, actor=actor, pk=relationship_id, action="change"
    )
    if access is not None and access not in Collaborator.Access.values:
        raise ValidationError({"access": _("Choose one of the offered values.")})
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationError({"user_id": _("Choose an active user.")})
    if user.pk == relationship.owner_id:
        raise ValidationError({"user_id": _("The owner already has full access.")})
    if access is None:
        Collaborator.objects.filter(relationship=relationship, user=user).delete()
    else:
        Collaborator.objects.update_or_create(
            relationship=relationship, user=user, defaults={"access": access}
        )
    audit_action(
        actor=actor,
        obj=relationship,
        verb="collaborator",
        changes={"user": user.pk, "access": access},
    )
    return relationship


@transaction.atomic
def administered_unit(actor: Actor, bu_id: int) -> BusinessUnit:
    """A unit whose customer settings (pool rules) the actor administers, else 403/404."""
    unit = scoped_get(BusinessUnit, actor=actor, pk=bu_id, action="view")
    actor.require("customers", "admin")
    if not any(
        unit.path.startswith(g.bu_path) for g in actor.grants("customers", "admin")
    ) and not (actor.is_superuser or actor.is_system):
        raise PermissionDenied()
    return unit


def pool_rule_update(*, actor: Actor, bu_id: int, **values: Any) -> PoolRule:
    unit = administered_unit(actor, bu_id)
    errors: dict[str, Any] = {}
    grades = values.get("grades")
    if grades is not None:
        grades = [g.strip() for g in grades if g.strip()]
        if not grades or len(grades) > 10 or any(len(g) > 10 for g in grades):
            errors["grades"] = _("Give one to ten grades of at most 10 characters each.")
        values["grades"] = grades
    for name in ("max_owned", "daily_claim_limit"):
        if name in values and (values[name] is None or values[name] < 1):
            errors[name] = _("Enter a number of at least 1.")
    for name in ("reclaim_after_days", "reclaim_without_opportunity_days", "protection_days"):
        if name in values and (values[name] is None or values[name] < 0):
            errors[name] = _("Enter a number of zero or more.")
    if errors:
        raise ValidationError(errors)
    rule, created = PoolRule.objects.get_or_create(bu=unit)
    before = snapshot(rule)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save()
    if created:
        audit_create(actor=actor, obj=rule)
    else:
        audit_update(actor=actor, obj=rule, before=before)
    return rule


# --- contacts ---------------------------------------------------------------------------


def clean_contact(data: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = " ".join((data["name"] or "").split())
        if not out["name"]:
            errors["name"] = _("This field is required.")
        elif len(out["name"]) > 60:
            errors["name"] = _("At most 60 characters.")
    for name in ("title", "department"):
        if name in data:
            out[name] = (data[name] or "").strip()[:60]
    for name, choices in (
        ("role", Contact.Role),
        ("preferred_channel", Contact.Channel),
        ("status", Contact.Status),
    ):
        if name in data and data[name] is not None:
            out[name] = _choice(errors, name, data[name], choices)
    for name in ("mobile", "phone"):
        if name in data:
            raw = (data[name] or "").strip()
            out[name] = ""
            if raw:
                try:
                    out[name] = normalize_phone(raw)
                except ValueError as exc:
                    errors[name] = str(exc)
    if "email" in data:
        raw = (data["email"] or "").strip()
        out["email"] = ""
        if raw:
            try:
                out["email"] = normalize_email(raw)
            except ValueError as exc:
                errors["email"] = str(exc)
    if "wechat_id" in data:
        out["wechat_id"] = (data["wechat_id"] or "").strip()
        if len(out["wechat_id"]) > 40:
            errors["wechat_id"] = _("At most 40 characters.")
    if "id_number" in data:
        out["id_number"] = (data["id_number"] or "").strip().upper()
        if out["id_number"] and not valid_id_number(out["id_number"]):
            errors["id_number"] = _("This is not a valid 18-digit resident ID number.")
    if "birthday" in data:
        out["birthday"] = data["birthday"]
        if out["birthday"] and out["birthday"] > timezone.localdate():
            errors["birthday"] = _("A birthday cannot be in the future.")
    if "birthday_lunar" in data and data["birthday_lunar"] is not None:
        out["birthday_lunar"] = bool(data["birthday_lunar"])
    if "notes" in data:
        out["notes"] = (data["notes"] or "").strip()
    return out


def valid_id_number(value: str) -> bool:
    """GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(value[:17], weights, strict=True))
    return "10X98765432"[total % 11] == value[17]


def index_contact(contact: Contact) -> None:
    contact.mobile_index = pii.blind_index("phone", contact.mobile) if contact.mobile else ""
    contact.phone_index = pii.blind_index("phone", contact.phone) if contact.phone else ""
    contact.email_index = pii.blind_index("email", contact.email) if contact.email else ""


@transaction.atomic
def contact_create(*, actor: Actor, customer_id: int, name: str, **fields: Any) -> Contact:
    customer = _customer(actor, customer_id)
    ensure_reach(actor, customer, "contacts", "create")
    errors: dict[str, Any] = {}
    data = clean_contact({"name": name, **fields}, errors)
    if errors:
        raise ValidationError(errors)
    contact = Contact(customer=customer, created_by=actor.user, **data)
    index_contact(contact)
    contact.save()
    audit_create(actor=actor, obj=contact)
    search.reindex([customer.pk])
    publish(
        actor=actor,
        name="customers.contact_added",
        payload={"customer_id": customer.pk, "contact_id": contact.pk},
    )
    return contact


def _contact(actor: Actor, pk: int) -> Contact:
    actor.require("contacts", "view")
    contact = Contact.objects.select_related("customer").filter(pk=pk).first()
    if contact is None:
        raise NotFound()
    return contact


@transaction.atomic
def contact_update(*, actor: Actor, pk: int, **fields: Any) -> Contact:
    contact = _contact(actor, pk)
    ensure_reach(actor, contact.customer, "contacts", "change")
    errors: dict[str, Any] = {}
    data = clean_contact(fields, errors)
    if errors:
        raise ValidationError(errors)
    before = snapshot(contact)
    pii_changed = [n for n in Contact.PII_FIELDS if n in data and data[n] != getattr(contact, n)]
    for name, value in data.items():
        setattr(contact, name, value)
    index_contact(contact)
    contact.save()
    record = audit_update(actor=actor, obj=contact, before=before)
    if pii_changed:
        # Personal values never enter the audit trail: only which fields changed.
        audit_action(
            actor=actor,
            obj=contact,
            verb="personal_data",
            changes={name: ["•••", "•••"] for name in pii_changed},
        )
    if record and "name" in record.changes:
        search.reindex([contact.customer_id])
    return contact


@transaction.atomic
def contact_move(*, actor: Actor, pk: int, customer_id: int) -> Contact:
    """A person changes company: the contact moves, its history stays with it."""
    contact = _contact(actor, pk)
    ensure_reach(actor, contact.customer, "contacts", "change")
    target = Customer.objects.filter(pk=customer_id).first()
    if target is None:
        raise ValidationError({"customer_id": _("Choose an existing customer.")})
    if target.pk == contact.customer_id:
        return contact
    before = snapshot(contact)
    old_customer = contact.customer_id
    contact.customer = target
    contact.save()
    audit_update(actor=actor, obj=contact, before=before, verb="move")
    search.reindex([old_customer, target.pk])
    return contact


@transaction.atomic
def contact_delete(*, actor: Actor, pk: int) -> None:
    contact = _contact(actor, pk)
    ensure_reach(actor, contact.customer, "contacts", "delete")
    customer_id = contact.customer_id
    audit_delete(actor=actor, obj=contact)
    contact.followups.clear()
    contact.delete()
    search.reindex([customer_id])


@transaction.atomic
def contact_reveal(*, actor: Actor, pk: int, field: str) -> str:
    """The clear value of one personal field, for someone allowed to see it; every
    reveal writes an access record."""
    contact = _contact(actor, pk)
    if field not in Contact.PII_FIELDS:
        raise ValidationError({"field": _("Choose one of the personal fields.")})
    if not actor.can("contacts", "reveal_pii"):
        raise PermissionDenied(_("Your role may not see personal data unmasked."))
    # Unmasked data stays with the units that work with the customer (or group roles).
    ensure_reach(actor, contact.customer, "contacts", "reveal_pii")
    access_record(
        actor=actor,
        kind=AccessRecord.Kind.REVEAL,
        object_type="customers.contact",
        object_id=str(contact.pk),
        object_repr=f"{contact.name} · {contact.customer}",
        detail=field,
    )
    return getattr(contact, field)


# --- follow-ups -----------------------------------------------------------------------


def clean_followup(
    customer: Customer, data: dict[str, Any], errors: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "kind" in data:
        out["kind"] = _choice(errors, "kind", data["kind"], FollowUp.Kind)
        if not out["kind"]:
            errors["kind"] = _("This field is required.")
    if "content" in data:
        out["content"] = (data["content"] or "").strip()
        if not out["content"]:
            errors["content"] = _("This field is required.")
    if "occurred_at" in data:
        out["occurred_at"] = data["occurred_at"] or timezone.now()
        if out["occurred_at"] > timezone.now() + dt.timedelta(minutes=5):
            errors["occurred_at"] = _("A follow-up cannot be in the future.")
    for name in ("outcome", "next_step", "location"):
        if name in data:
            out[name] = (data[name] or "").strip()
            if len(out[name]) > 200:
                errors[name] = _("At most 200 characters.")
    if "next_due" in data:
        out["next_due"] = data["next_due"]
        when = out.get("occurred_at") or timezone.now()
        if out["next_due"] and out["next_due"] < timezone.localtime(when).date():
            errors["next_due"] = _("The next step cannot be due before the follow-up.")
    check_contacts_of(customer, data.get("contact_ids"), errors, "contact_ids")
    return out


def check_contacts_of(
    customer: Customer, ids: list[int] | None, errors: dict[str, Any], field: str
) -> None:
    """Contacts chosen for something of ``customer`` must be its own."""
    if ids and set(
        Contact.objects.filter(customer=customer, pk__in=set(ids)).values_list("pk", flat=True)
    ) != set(ids):
        errors[field] = _("Choose contacts of this customer.")


def _touch_relationship(relationship: CustomerRelationship, when: dt.datetime) -> None:
    if relationship.last_followup_at is None or when > relationship.last_followup_at:
        CustomerRelationship.objects.filter(pk=relationship.pk).update(last_followup_at=when)


@transaction.atomic
def followup_create(
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    content: str,
    occurred_at: dt.datetime | None = None,
    contact_ids: list[int] | None = None,
    bu_id: int | None = None,
    **fields: Any,
) -> FollowUp:
    """Log a call, visit, meeting… for the actor's unit; it refreshes the relationship's
    last follow-up (which keeps the customer out of the pool)."""
    customer = _customer(actor, customer_id)
    actor.require("followups", "create")
    unit_id = bu_id or (actor.bu.pk if actor.bu else None)
    relationship = (
        CustomerRelationship.objects.visible_to(actor, "view")
        .filter(customer=customer, bu_id=unit_id)
        .first()
        if unit_id
        else None
    )
    if relationship is None:
        raise ValidationError(
            {"bu_id": _("Your unit has no relationship with this customer yet: start one first.")}
        )
    errors: dict[str, Any] = {}
    data = clean_followup(
        customer,
        {
            "kind": kind,
            "content": content,
            "occurred_at": occurred_at,
            "contact_ids": contact_ids,
            **fields,
        },
        errors,
    )
    if errors:
        raise ValidationError(errors)
    followup = FollowUp.objects.create(
        customer=customer, bu_id=relationship.bu_id, owner=actor.user, **data
    )
    if contact_ids:
        followup.contacts.set(contact_ids)
    ensure_in_scope(followup, actor=actor, action="create")
    _touch_relationship(relationship, followup.occurred_at)
    audit_create(actor=actor, obj=followup)
    publish(
        actor=actor,
        name="customers.followup_logged",
        payload={"customer_id": customer.pk, "followup_id": followup.pk},
    )
    return followup


@transaction.atomic
def followup_update(
    *, actor: Actor, pk: int, contact_ids: list[int] | None = None, **fields: Any
) -> FollowUp:
    followup = scoped_get(FollowUp, actor=actor, pk=pk, action="change")
    errors: dict[str, Any] = {}
    data = clean_followup(followup.customer, {**fields, "contact_ids": contact_ids}, errors)
    if errors:
        raise ValidationError(errors)
    before = snapshot(followup)
    for name, value in data.items():
        setattr(followup, name, value)
    followup.save()
    if contact_ids is not None:
        followup.contacts.set(contact_ids)
    relationship = CustomerRelationship.objects.filter(
        customer_id=followup.customer_id, bu_id=followup.bu_id
    ).first()
    if relationship:
        _touch_relationship(relationship, followup.occurred_at)
    audit_update(actor=actor, obj=followup, before=before)
    return followup


@transaction.atomic
def followup_delete(*, actor: Actor, pk: int) -> None:
    followup = scoped_get(FollowUp, actor=actor, pk=pk, action="delete")
    audit_delete(actor=actor, obj=followup)
    followup.delete()


# --- follows ------------------------------------------------------------------------------


@transaction.atomic
def follow_set(
    *,
    actor: Actor,
    customer_id: int,
    follow: bool,
    digest: bool = False,
    bu_id: int | None = None,
) -> bool:
    """Follow or unfollow a customer for oneself, or (``bu_id``) for a whole unit, which
    needs customers.change there: every member of the unit and below is then told."""
    customer = _customer(actor, customer_id)
    if actor.user is None:
        raise PermissionDenied()
    if bu_id is not None:
        unit = BusinessUnit.objects.filter(pk=bu_id, is_active=True).first()
        if unit is None or not any(
            unit.path.startswith(g.bu_path)
            for g in actor.grants("customers", "change")
            if g.scope != DataScope.OWN
        ):
            raise PermissionDenied(
                _("Only people who manage a unit's customers may follow for it.")
            )
        target: dict[str, Any] = {"bu": unit}
    else:
        target = {"user": actor.user}
    if follow:
        Follow.objects.update_or_create(
            customer=customer, **target, defaults={"digest": digest and bu_id is None}
        )
    else:
        Follow.objects.filter(customer=customer, **target).delete()
    return follow


# --- bulk ----------------------------------------------------------------------------------


def bulk(
    *, actor: Actor, ids: list[int], operation: str, value: Any = None, reason: str = ""
) -> dict[str, Any]:
    """Run one operation over many customers through the single-record services, each in
    its own transaction; report what worked and why the rest did not."""
    done, failed = 0, []
    for pk in ids:
        try:
            _bulk_one(actor, pk, operation, value, reason)
            done += 1
        except (ValidationError, Conflict, PermissionDenied, NotFound) as exc:
            failed.append({"id": pk, "error": str(exc.message)})
    return {"done": done, "failed": failed}


def _bulk_one(actor: Actor, pk: int, operation: str, value: Any, reason: str) -> None:
    unit_id = actor.bu.pk if actor.bu else None
    if operation == "tag":
        customer = _customer(actor, pk)
        tags = sorted(set(customer.tags.values_list("name", flat=True)) | {str(value)})
        customer_update(actor=actor, pk=pk, tags=tags)
        return
    rels = list(
        CustomerRelationship.objects.visible_to(actor, "change")
        .filter(customer_id=pk)
        .order_by("bu__path")
    )
    # The actor's own unit's relationship first, else the first one they manage.
    rel = next((r for r in rels if r.bu_id == unit_id), rels[0] if rels else None)
    if rel is None:
        raise NotFound(_("None of your units works with this customer."))
    if operation == "assign":
        relationship_assign(actor=actor, pk=rel.pk, owner_id=int(value))
    elif operation == "release":
        relationship_release(actor=actor, pk=rel.pk, reason=reason)
    else:
        raise ValidationError({"operation": _("Choose one of the offered values.")})
