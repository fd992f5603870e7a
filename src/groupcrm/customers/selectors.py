"""Reads on the customer master, including the 360° view.

Extension points for later modules (sales, service, surveys…):
- ``register_rollup(code, label, count)``: a figure summed up a customer's group tree;
- ``register_timeline(source)``: entries for the unified timeline of the 360° view;
- ``register_field_origins(source)``: where the values of the profile fields came from;
- ``register_panel(code, template, context)``: a card of the 360° page (e.g. receivables).
Roll-ups and timeline sources receive the actor, so each module applies its own scope;
field origins describe the customer itself, which the caller already may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from groupcrm.audit.models import ChangeRecord
from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.errors import NotFound
from groupcrm.core.permissions import DataScope
from groupcrm.core.scoping import scoped_get
from groupcrm.customers import search
from groupcrm.customers.models import (
    ChangeRequest,
    Contact,
    Customer,
    CustomerRelationship,
    Follow,
    FollowUp,
    MergeRecord,
)
from groupcrm.customers.normalize import normalize_uscc
from groupcrm.customers.services import (
    RuleCache,
    engaged_units,
    has_reach,
    pool_q,
    reclaim_plans,
    similar_customers,
)
from groupcrm.org.models import User
from groupcrm.org.selectors import unit_path

SORTS = {
    "name": ("legal_name", "pk"),
    "-name": ("-legal_name", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
    "updated": ("updated_at", "pk"),
    "-updated": ("-updated_at", "-pk"),
    "grade": ("group_grade", "legal_name"),
    "quality": ("quality_score", "legal_name"),
}


@dataclass
class CustomerFilters:
    q: str = ""
    group_grade: str = ""
    stage: str = ""
    industry: str = ""
    province: str = ""
    city: str = ""
    bu_id: int | None = None
    owner_id: int | None = None
    tag: str = ""
    pool: bool = False
    mine: bool = False
    # Only customers a unit within the actor's scope works with (我的客户, without "mine").
    engaged: bool = False
    status: str = "active"
    sort: str = ""

    @classmethod
    def from_query(cls, query: Any) -> CustomerFilters:
        def number(name: str) -> int | None:
            value = query.get(name, "")
            return int(value) if str(value).isdigit() else None

        return cls(
            q=query.get("q", "").strip(),
            group_grade=query.get("group_grade", ""),
            stage=query.get("stage", ""),
            industry=query.get("industry", ""),
            province=query.get("province", "").strip(),
            city=query.get("city", "").strip(),
            bu_id=number("bu_id"),
            owner_id=number("owner_id"),
            tag=query.get("tag", "").strip(),
            pool=query.get("pool") in ("1", "true", "on"),
            mine=query.get("mine") in ("1", "true", "on"),
            engaged=query.get("engaged") in ("1", "true", "on"),
            status=query.get("status", "active"),
            sort=query.get("sort", ""),
        )


def customer_list(*, actor: Actor, filters: CustomerFilters | None = None) -> QuerySet[Customer]:
    """Golden records (visible group-wide) filtered; relationship filters (stage, unit,
    owner, pool) only see relationships within the actor's scope."""
    actor.require("customers", "view")
    f = filters or CustomerFilters()
    items = Customer.objects.all()
    if f.status in Customer.Status.values:
        items = items.filter(status=f.status)
    for name in ("group_grade", "industry", "province", "city"):
        if value := getattr(f, name):
            items = items.filter(**{name: value})
    if f.tag:
        items = items.filter(tags__name=f.tag)
    rel_filter: dict[str, Any] = {}
    if f.stage:
        rel_filter["stage"] = f.stage
    if f.bu_id and not f.pool:
        rel_filter["bu__path__startswith"] = unit_path(f.bu_id)
    if f.owner_id:
        rel_filter["owner_id"] = f.owner_id
    if f.mine:
        rel_filter["owner_id"] = actor.user_id
    if rel_filter or f.engaged:
        rels = CustomerRelationship.objects.visible_to(actor, "view").filter(**rel_filter)
        items = items.filter(Exists(rels.filter(customer=OuterRef("pk"))))
    if f.pool:
        # The pool's relationships are not the actor's own: the unit filter applies to them.
        pool = CustomerRelationship.objects.filter(pool_q(actor))
        if f.bu_id:
            pool = pool.filter(bu__path__startswith=unit_path(f.bu_id))
        items = items.filter(Exists(pool.filter(customer=OuterRef("pk"))))
    if f.q:
        ids = search.search_ids(f.q, include_merged=f.status == Customer.Status.MERGED)
        items = items.filter(pk__in=ids)
        if f.sort not in SORTS:
            return Ranked(items, ids)  # type: ignore[return-value]
    return items.order_by(*SORTS.get(f.sort, SORTS["name"]))


class Ranked:
    """A search result in relevance order that pages like a queryset: counting reads ids
    only, and a page loads just its own rows."""

    def __init__(self, items: QuerySet[Customer], ids: list[int]) -> None:
        self.items, self.ids = items, ids
        self.related: tuple[str, ...] = ()
        self._ordered: list[int] | None = None

    def prefetch_related(self, *lookups: str) -> Ranked:
        self.related = lookups
        return self

    def _order(self) -> list[int]:
        if self._ordered is None:
            present = set(self.items.filter(pk__in=self.ids).values_list("pk", flat=True))
            self._ordered = [pk for pk in self.ids if pk in present]
        return self._ordered

    def count(self) -> int:
        return len(self._order())

    def pks(self) -> list[int]:
        """The ids in relevance order, without loading rows (exports read them in chunks)."""
        return list(self._order())

    def __len__(self) -> int:
        return self.count()

    def _rows(self, ids: list[int]) -> list[Customer]:
        found = Customer.objects.filter(pk__in=ids).prefetch_related(*self.related).in_bulk()
        return [found[pk] for pk in ids if pk in found]

    def __iter__(self) -> Any:
        return iter(self._rows(self._order()))

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self._rows(self._order()[index])
        return self._rows([self._order()[index]])[0]


def customer_get(*, actor: Actor, pk: int) -> Customer:
    actor.require("customers", "view")
    customer = Customer.objects.select_related("parent").filter(pk=pk).first()
    if customer is None:
        raise NotFound()
    return customer


def relationship_list(
    *, actor: Actor, mine: bool = False, stage: str = ""
) -> QuerySet[CustomerRelationship]:
    items = CustomerRelationship.objects.visible_to(actor, "view").select_related(
        "customer", "bu", "owner"
    )
    if mine:
        items = items.filter(owner_id=actor.user_id)
    if stage:
        items = items.filter(stage=stage)
    return items.order_by("customer__legal_name", "bu__path")


def relationship_get(*, actor: Actor, pk: int, action: str = "view") -> CustomerRelationship:
    return scoped_get(CustomerRelationship, actor=actor, pk=pk, action=action)


def duplicate_report(*, actor: Actor, legal_name: str = "", uscc: str = "") -> dict[str, Any]:
    """What a new customer would collide with: the record holding this USCC, and
    customers with similar names (both golden records, visible group-wide)."""
    actor.require("customers", "view")
    exact = None
    if uscc.strip():
        try:
            code = normalize_uscc(uscc)
        except ValueError:
            code = ""
        existing = Customer.objects.filter(uscc=code).first() if code else None
        if existing:
            exact = {
                "id": existing.pk,
                "legal_name": existing.legal_name,
                "engaged_units": engaged_units(existing),
            }
    similar = [
        {"id": c.pk, "legal_name": c.legal_name, "score": round(score, 2)}
        for c, score in (similar_customers(legal_name) if legal_name.strip() else [])
    ]
    return {"exact": exact, "similar": similar}


def relationships_by_customer(
    *, actor: Actor, customer_ids: Iterable[int]
) -> dict[int, list[CustomerRelationship]]:
    """The relationships of these customers the actor may see, for list pages."""
    rows: dict[int, list[CustomerRelationship]] = {}
    for rel in (
        CustomerRelationship.objects.visible_to(actor, "view")
        .filter(customer_id__in=list(customer_ids))
        .select_related("bu", "owner")
        .order_by("bu__path")
    ):
        rows.setdefault(rel.customer_id, []).append(rel)
    return rows


# --- hierarchy and roll-ups -----------------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    code: str
    label: Promise
    # (actor, ids of the customer and every company below it) -> the figure
    count: Callable[[Actor, list[int]], int]


ROLLUPS: dict[str, Rollup] = {}
# Beyond this many companies in one group the roll-ups count over the first ones only.
MAX_ROLLUP_COMPANIES = 20_000


def register_rollup(code: str, label: Promise, count: Callable[[Actor, list[int]], int]) -> None:
    ROLLUPS[code] = Rollup(code, label, count)


register_rollup("subsidiaries", _("Subsidiaries"), lambda actor, ids: len(ids) - 1)
register_rollup(
    "contacts",
    _("Contacts"),
    lambda actor, ids: Contact.objects.filter(customer_id__in=ids).count(),
)
register_rollup(
    "followups",
    _("Follow-ups"),
    lambda actor, ids: (
        FollowUp.objects.visible_to(actor, "view").filter(customer_id__in=ids).count()
    ),
)


@dataclass(frozen=True)
class Panel:
    code: str
    template: str
    # (actor, customer) -> the card's context, or None when the viewer has nothing to see
    context: Callable[[Actor, Customer], dict[str, Any] | None]


PANELS: dict[str, Panel] = {}


def register_panel(
    code: str, template: str, context: Callable[[Actor, Customer], dict[str, Any] | None]
) -> None:
    """A card another module adds to the 360° page; ``context`` applies its own scope."""
    PANELS[code] = Panel(code, template, context)


def panels(*, actor: Actor, customer: Customer) -> list[dict[str, Any]]:
    out = []
    for panel in PANELS.values():
        context = panel.context(actor, customer)
        if context is not None:
            out.append({"code": panel.code, "template": panel.template, "context": context})
    return out


def rollups(*, actor: Actor, customer: Customer, leaf: bool = False) -> list[dict[str, Any]]:
    """Figures summed over the customer's subtree. The subtree's ids are read first (one
    index range on the path): counting by id keeps every plan on the id indexes, where a
    join on the path prefix let PostgreSQL misjudge a subtree as thousands of rows."""
    ids = (
        [customer.pk]
        if leaf
        else list(
            Customer.objects.filter(path__startswith=customer.path)
            .exclude(status=Customer.Status.MERGED)
            .order_by()
            .values_list("pk", flat=True)[:MAX_ROLLUP_COMPANIES]
        )
    )
    return [
        {"code": r.code, "label": str(r.label), "value": r.count(actor, ids)}
        for r in ROLLUPS.values()
    ]


@dataclass
class TreeNode:
    customer: Customer
    children: list[TreeNode] = field(default_factory=list)
    contacts: int = 0


def hierarchy(*, actor: Actor, pk: int, max_nodes: int = 500) -> dict[str, Any]:
    """The customer's whole group: its root, every company below it (up to
    ``max_nodes``), with the path from the root to this customer."""
    customer = customer_get(actor=actor, pk=pk)
    root_id = int(customer.path.split("/")[0]) if customer.path else customer.pk
    root = Customer.objects.get(pk=root_id)
    members = list(
        Customer.objects.filter(path__startswith=root.path)
        .exclude(status=Customer.Status.MERGED)
        .order_by("depth", "legal_name")[: max_nodes + 1]
    )
    truncated = len(members) > max_nodes
    members = members[:max_nodes]
    contact_counts = dict(
        Contact.objects.filter(customer_id__in=[m.pk for m in members])
        .values_list("customer_id")
        .annotate(n=Count("pk"))
        .values_list("customer_id", "n")
    )
    nodes = {m.pk: TreeNode(m, contacts=contact_counts.get(m.pk, 0)) for m in members}
    for node in nodes.values():
        parent = nodes.get(node.customer.parent_id or 0)
        if parent is not None:
            parent.children.append(node)
    return {
        "root": nodes[root.pk],
        "size": len(members),
        "truncated": truncated,
        "ancestors": list(
            Customer.objects.filter(pk__in=customer.ancestor_ids()).order_by("depth")
        ),
    }


def tree_as_dict(node: TreeNode) -> dict[str, Any]:
    return {
        "id": node.customer.pk,
        "legal_name": node.customer.legal_name,
        "group_grade": node.customer.group_grade,
        "contacts": node.contacts,
        "children": [tree_as_dict(c) for c in node.children],
    }


# --- contacts (masked) -------------------------------------------------------------------


MASKS: dict[str, Callable[[str], str]] = {
    "mobile": pii.mask_phone,
    "phone": pii.mask_phone,
    "email": pii.mask_email,
    "wechat_id": pii.mask_text,
    "id_number": pii.mask_id_number,
}


def masked(contact: Contact) -> dict[str, str]:
    """The personal fields as shown on screen and in exports: always masked; the clear
    value needs an explicit, logged reveal."""
    return {name: mask(getattr(contact, name)) for name, mask in MASKS.items()}


def contact_list(*, actor: Actor, customer_id: int) -> QuerySet[Contact]:
    actor.require("contacts", "view")
    return Contact.objects.filter(customer_id=customer_id).order_by("status", "role", "name")


def contact_get(*, actor: Actor, pk: int) -> Contact:
    actor.require("contacts", "view")
    contact = Contact.objects.select_related("customer").filter(pk=pk).first()
    if contact is None:
        raise NotFound()
    return contact


# --- follow-ups and the timeline ---------------------------------------------------------


def followup_list(
    *, actor: Actor, customer_id: int | None = None, owner_id: int | None = None
) -> QuerySet[FollowUp]:
    items = FollowUp.objects.visible_to(actor, "view").select_related("bu", "owner", "customer")
    if customer_id:
        items = items.filter(customer_id=customer_id)
    if owner_id:
        items = items.filter(owner_id=owner_id)
    return items.order_by("-occurred_at", "-pk")


def followup_get(*, actor: Actor, pk: int, action: str = "view") -> FollowUp:
    return scoped_get(FollowUp, actor=actor, pk=pk, action=action)


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "followup", "change", later "opportunity", "ticket"…
    title: str
    body: str
    bu_id: int | None
    bu_name: str
    person_id: int | None
    person: str
    link: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimelineQuery:
    bu_id: int | None = None
    kind: str = ""
    person_id: int | None = None
    limit: int = 50


TimelineSource = Callable[[Actor, Customer, TimelineQuery], list[TimelineEntry]]
TIMELINE: list[TimelineSource] = []


def register_timeline(source: TimelineSource) -> TimelineSource:
    TIMELINE.append(source)
    return source


def _name(user: Any) -> str:
    return (user.display_name or user.username) if user else ""


@register_timeline
def _followups(actor: Actor, customer: Customer, query: TimelineQuery) -> list[TimelineEntry]:
    if query.kind not in ("", "followup") or not actor.can("followups", "view"):
        return []
    items = followup_list(actor=actor, customer_id=customer.pk, owner_id=query.person_id)
    if query.bu_id:
        items = items.filter(bu__path__startswith=unit_path(query.bu_id))
    return [
        TimelineEntry(
            at=f.occurred_at,
            kind="followup",
            title=f.get_kind_display(),
            body=f.content,
            bu_id=f.bu_id,
            bu_name=f.bu.name,
            person_id=f.owner_id,
            person=_name(f.owner),
            detail={
                "id": f.pk,
                "kind": f.kind,
                "outcome": f.outcome,
                "next_step": f.next_step,
                "next_due": f.next_due.isoformat() if f.next_due else None,
                "location": f.location,
            },
        )
        for f in items.prefetch_related(None)[: query.limit]
    ]


GOLDEN_TYPES = ("customers.customer", "customers.contact", "customers.changerequest")


def _field_labels(object_type: str, changes: dict[str, Any]) -> list[str]:
    """The changed fields' names as people read them (never a personal value)."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return sorted(changes)
    labels = []
    for name in sorted(changes):
        try:
            labels.append(str(model._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:
            labels.append(name)
    return labels


def visible_changes(actor: Actor, customer: Customer) -> QuerySet[ChangeRecord]:
    """The customer's change records the viewer may see: the golden record and its
    contacts (group-wide), and the relationships of units within the viewer's scope."""
    scoped = CustomerRelationship.objects.visible_to(actor, "view").filter(customer=customer)
    return ChangeRecord.objects.filter(subject=f"customers.customer:{customer.pk}").filter(
        Q(object_type__in=GOLDEN_TYPES)
        | Q(
            object_type="customers.customerrelationship",
            object_id__in=[str(pk) for pk in scoped.values_list("pk", flat=True)],
        )
    )


@register_timeline
def _changes(actor: Actor, customer: Customer, query: TimelineQuery) -> list[TimelineEntry]:
    """Changes to the golden record and its contacts (group-wide), and to relationships
    of units within the actor's scope."""
    if query.kind not in ("", "change"):
        return []
    records = visible_changes(actor, customer)
    if query.person_id:
        records = records.filter(actor_id=query.person_id)
    if query.bu_id:
        records = records.filter(bu__path__startswith=unit_path(query.bu_id))
    entries = []
    for r in records.select_related("actor", "bu").order_by("-id")[: query.limit]:
        entries.append(
            TimelineEntry(
                at=r.at,
                kind="change",
                title=f"{r.get_action_display()}{' · ' + r.verb if r.verb else ''}",
                body=r.object_repr,
                bu_id=r.bu_id,
                bu_name=r.bu.name if r.bu else "",
                person_id=r.actor_id,
                person=_name(r.actor) or r.actor_label,
                detail={
                    "object_type": r.object_type,
                    "fields": _field_labels(r.object_type, r.changes),
                },
            )
        )
    return entries


def timeline_people(*, actor: Actor, customer: Customer) -> list[User]:
    """Who appears in the customer's timeline for this viewer: authors of visible
    follow-ups and people who changed the record."""
    authors = FollowUp.objects.visible_to(actor, "view").filter(customer=customer)
    changers = visible_changes(actor, customer)
    return list(
        User.objects.filter(
            Q(pk__in=authors.values("owner_id")) | Q(pk__in=changers.values("actor_id"))
        ).order_by("username")
    )


def timeline(
    *, actor: Actor, customer: Customer, query: TimelineQuery | None = None
) -> list[TimelineEntry]:
    query = query or TimelineQuery()
    entries = [e for source in TIMELINE for e in source(actor, customer, query)]
    return sorted(entries, key=lambda e: e.at, reverse=True)[: query.limit]


# --- the 360° view ---------------------------------------------------------------------


def relationship_view(actor: Actor, customer: Customer) -> list[dict[str, Any]]:
    """Every engaged unit and its owner (group-wide); stage, grade, notes and dates only
    for relationships within the actor's scope."""
    mine = CustomerRelationship.objects.visible_to(actor, "view").filter(customer=customer)
    pools = CustomerRelationship.objects.filter(customer=customer).filter(pool_q(actor))
    scoped = set(mine.values_list("pk", flat=True))
    visible = scoped | set(pools.values_list("pk", flat=True))
    changeable = set(
        CustomerRelationship.objects.visible_to(actor, "change")
        .filter(customer=customer)
        .values_list("pk", flat=True)
    )
    rules = RuleCache()
    rels = list(customer.relationships.select_related("bu", "owner").order_by("bu__path"))
    plans = dict(reclaim_plans((r for r in rels if r.pk in visible), rules))
    rows = []
    for rel in rels:
        row: dict[str, Any] = {
            "id": rel.pk,
            "bu_id": rel.bu_id,
            "bu_name": rel.bu.name,
            "owner_id": rel.owner_id,
            "owner_name": _name(rel.owner),
            "in_pool": rel.owner_id is None,
            "visible": rel.pk in visible,
            "scoped": rel.pk in scoped,
            "can_change": rel.pk in changeable,
            "mine": rel.owner_id is not None and rel.owner_id == actor.user_id,
        }
        if rel.pk in visible:
            rule, plan = rules.of(rel), plans[rel]
            row.update(
                stage=rel.stage,
                stage_label=str(rel.get_stage_display()),
                grade=rel.grade,
                notes=rel.notes,
                last_followup_at=rel.last_followup_at,
                claimed_at=rel.claimed_at,
                protected_until=rel.protected_until,
                reclaim_on=plan.on if plan else None,
                reclaim_reason=plan.reason if plan else "",
                grades=rule.grade_choices,
            )
        rows.append(row)
    return rows


def key_figures(
    actor: Actor, customer: Customer, rels: list[dict[str, Any]], contacts: list[Contact]
) -> dict[str, Any]:
    year_ago = timezone.now() - dt.timedelta(days=365)
    figures = (
        FollowUp.objects.visible_to(actor, "view")
        .filter(customer=customer)
        .aggregate(
            followups_12m=Count("pk", filter=Q(occurred_at__gte=year_ago)),
            last_followup_at=Max("occurred_at"),
            open_next_steps=Count("pk", filter=Q(next_due__gte=timezone.localdate())),
        )
    )
    return {
        "engaged_units": len(rels),
        "contacts": sum(1 for c in contacts if c.status == Contact.Status.ACTIVE),
        **figures,
    }


def next_actions(
    actor: Actor,
    customer: Customer,
    rels: list[dict[str, Any]],
    pending: ChangeRequest | None,
) -> list[str]:
    """What the viewer may do next, as action codes the UI and API clients understand."""
    actions = []
    own_unit = actor.bu.pk if actor.bu else None
    if any(r["bu_id"] == own_unit and r.get("visible") for r in rels):
        if actor.can("followups", "create"):
            actions.append("log_followup")
    elif actor.can("customers", "create") and own_unit:
        actions.append("start_relationship")
    if any(r["in_pool"] and r["visible"] for r in rels) and actor.can("customers", "change"):
        actions.append("claim")
    if any(r["mine"] for r in rels):
        actions.append("release")
    engaged = any(r["scoped"] for r in rels)  # a relationship within the actor's scope
    if has_reach(actor, customer, "customers", "change", engaged=engaged):
        actions += ["edit", "move"]
    if has_reach(actor, customer, "contacts", "create", engaged=engaged):
        actions.append("add_contact")
    if has_reach(actor, customer, "contacts", "reveal_pii", engaged=engaged):
        actions.append("reveal_pii")
    if (
        pending
        and pending.requested_by_id != actor.user_id
        and has_reach(actor, customer, "customers", "approve", engaged=engaged)
    ):
        actions.append("approve_change")
    actions.append("unfollow" if is_following(actor, customer) else "follow")
    own_unit_path = actor.bu.path if actor.bu else None
    if own_unit_path and any(
        own_unit_path.startswith(g.bu_path)
        for g in actor.grants("customers", "change")
        if g.scope != DataScope.OWN
    ):
        actions.append("unit_unfollow" if unit_following(actor, customer) else "unit_follow")
    return actions


def pending_change(customer: Customer) -> ChangeRequest | None:
    return (
        ChangeRequest.objects.filter(customer=customer, status=ChangeRequest.Status.PENDING)
        .select_related("requested_by")
        .first()
    )


def is_following(actor: Actor, customer: Customer) -> bool:
    return Follow.objects.filter(customer=customer, user_id=actor.user_id).exists()


@dataclass(frozen=True)
class FieldOrigin:
    """Where the value a profile field holds came from, shown next to it."""

    source: str | None  # the system's name; None when a person entered it in groupcrm
    at: dt.datetime


FieldOriginSource = Callable[[Customer], dict[str, FieldOrigin]]
FIELD_ORIGINS: list[FieldOriginSource] = []


def register_field_origins(source: FieldOriginSource) -> FieldOriginSource:
    FIELD_ORIGINS.append(source)
    return source


def field_origins(customer: Customer) -> dict[str, FieldOrigin]:
    found: dict[str, FieldOrigin] = {}
    for source in FIELD_ORIGINS:
        found.update(source(customer))
    return found


def unit_following(actor: Actor, customer: Customer) -> bool:
    return bool(actor.bu) and Follow.objects.filter(customer=customer, bu=actor.bu).exists()


def view360(
    *, actor: Actor, pk: int, timeline_query: TimelineQuery | None = None
) -> dict[str, Any]:
    customer = customer_get(actor=actor, pk=pk)
    rels = relationship_view(actor, customer)
    contacts = (
        list(contact_list(actor=actor, customer_id=pk)) if actor.can("contacts", "view") else []
    )
    pending = pending_change(customer)
    children = list(customer.children.exclude(status=Customer.Status.MERGED)[:50])
    # A company without subsidiaries (most) needs no subtree query for its roll-ups.
    leaf = not children
    return {
        "customer": customer,
        "tags": list(customer.tags.values_list("name", flat=True)),
        "parent": customer.parent,
        "children": children,
        "rollups": rollups(actor=actor, customer=customer, leaf=leaf),
        "contacts": [(c, masked(c)) for c in contacts],
        "relationships": rels,
        "timeline": timeline(actor=actor, customer=customer, query=timeline_query),
        "figures": key_figures(actor, customer, rels, contacts),
        "pending_change": pending,
        "actions": next_actions(actor, customer, rels, pending),
        "field_sources": field_origins(customer),
        "panels": panels(actor=actor, customer=customer),
    }


# --- the public pool and my customers ----------------------------------------------------


def pool_list(
    *, actor: Actor, q: str = "", bu_id: int | None = None
) -> QuerySet[CustomerRelationship]:
    actor.require("customers", "view")
    items = CustomerRelationship.objects.filter(pool_q(actor)).select_related("customer", "bu")
    if bu_id:
        items = items.filter(bu__path__startswith=unit_path(bu_id))
    if q:
        items = items.filter(customer_id__in=search.search_ids(q))
    return items.order_by("-released_at", "customer__legal_name")


def reclaim_dates(
    rels: Iterable[CustomerRelationship],
) -> list[tuple[CustomerRelationship, dt.date | None]]:
    """Each relationship (its unit loaded) with the day it would return to the pool."""
    return [(rel, plan.on if plan else None) for rel, plan in reclaim_plans(rels)]


def my_relationships(*, actor: Actor) -> list[tuple[CustomerRelationship, dt.date | None]]:
    """The actor's own customers with the day each would return to the pool."""
    return reclaim_dates(
        CustomerRelationship.objects.filter(owner_id=actor.user_id)
        .select_related("customer", "bu")
        .order_by("customer__legal_name")
    )


def change_requests_pending(*, actor: Actor) -> QuerySet[ChangeRequest]:
    actor.require("customers", "approve")
    return (
        ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING)
        .exclude(requested_by_id=actor.user_id)
        .select_related("customer", "requested_by")
    )


def workbench(*, actor: Actor) -> dict[str, Any]:
    """The dashboard's customer figures, each within the viewer's scope."""
    today = timezone.localdate()
    week_ago = timezone.now() - dt.timedelta(days=7)
    mine = my_relationships(actor=actor)
    followups = FollowUp.objects.visible_to(actor, "view")
    return {
        "customer_count": Customer.objects.filter(status=Customer.Status.ACTIVE).count(),
        "my_customer_count": len(mine),
        "pool_count": CustomerRelationship.objects.filter(pool_q(actor)).count(),
        "followups_week": followups.filter(occurred_at__gte=week_ago).count(),
        "next_steps": list(
            followups.filter(owner_id=actor.user_id, next_due__gte=today)
            .select_related("customer")
            .order_by("next_due")[:6]
        ),
        "reclaim_soon": [
            (rel, due) for rel, due in mine if due and due <= today + dt.timedelta(days=7)
        ][:6],
    }


def merge_list(*, actor: Actor, customer_id: int) -> QuerySet[MergeRecord]:
    """Merges into this customer, newest first (to undo one)."""
    customer_get(actor=actor, pk=customer_id)
    return MergeRecord.objects.filter(survivor_id=customer_id).select_related(
        "merged_by", "unmerged_by"
    )
