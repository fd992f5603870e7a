from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema

from groupcrm.core import pii
from groupcrm.org.schemas import Strict

Grade = Literal["strategic", "key", "growth", "basic", ""]
Stage = Literal["prospect", "intent", "won", "lost"]
PiiField = Literal["mobile", "phone", "email", "wechat_id", "id_number"]


class CustomerOut(Schema):
    id: int
    legal_name: str
    short_name: str
    uscc: str | None
    legal_form: str
    industry: str
    size: str
    employees: int | None
    annual_revenue: Decimal | None
    address: str
    province: str
    city: str
    district: str
    website: str
    tags: list[str]
    source: str
    status: str
    group_grade: str
    parent_id: int | None
    depth: int
    pinyin: str
    initials: str
    quality_score: int
    quality_issues: list[str]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [t.name for t in obj.tags.all()]


class ChangeRequestOut(Schema):
    id: int
    customer_id: int
    changes: dict[str, list[Any]]
    reason: str
    status: str
    requested_by_id: int
    decided_by_id: int | None
    decided_at: datetime | None
    decision_note: str
    created_at: datetime


class CustomerSaved(CustomerOut):
    """A saved customer; ``pending_change`` holds the fields awaiting approval."""

    pending_change: ChangeRequestOut | None = None


class _CustomerFields(Strict):
    short_name: str | None = Field(None, max_length=60)
    uscc: str | None = Field(None, max_length=40)
    legal_form: str | None = None
    industry: str | None = Field(None, max_length=2)
    size: str | None = None
    employees: int | None = Field(None, ge=0)
    annual_revenue: Decimal | None = Field(None, ge=0)
    address: str | None = Field(None, max_length=200)
    website: str | None = Field(None, max_length=200)
    tags: list[str] | None = None
    source: str | None = None
    group_grade: Grade | None = None


class CustomerIn(_CustomerFields):
    legal_name: str = Field(..., max_length=200)
    parent_id: int | None = None
    start_relationship: bool = True
    similar_override_reason: str = Field("", max_length=200)


class CustomerPatch(_CustomerFields):
    legal_name: str | None = Field(None, max_length=200)
    status: Literal["active", "archived"] | None = None
    change_reason: str = Field("", max_length=200)
    similar_override_reason: str = Field("", max_length=200)


class MoveIn(Strict):
    parent_id: int | None


class RelationshipOut(Schema):
    id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.legal_name")
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    owner_id: int | None
    stage: str
    grade: str
    notes: str
    protected_until: date | None
    claimed_at: datetime | None
    last_followup_at: datetime | None
    released_at: datetime | None
    release_reason: str


class RelationshipIn(Strict):
    bu_id: int | None = None
    owner_id: int | None = None
    stage: Stage = "prospect"


class RelationshipPatch(Strict):
    stage: Stage | None = None
    grade: str | None = Field(None, max_length=10)
    notes: str | None = None
    protected_until: date | None = None


class AssignIn(Strict):
    owner_id: int


class ReleaseIn(Strict):
    reason: str = Field(..., max_length=200)


class ContactOut(Schema):
    """Personal fields are always masked here; POST …/reveal returns one in clear."""

    id: int
    customer_id: int
    name: str
    title: str
    department: str
    role: str
    mobile: str
    phone: str
    email: str
    wechat_id: str
    id_number: str
    birthday: date | None
    birthday_lunar: bool
    preferred_channel: str
    notes: str
    status: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_mobile(obj: Any) -> str:
        return pii.mask_phone(obj.mobile)

    @staticmethod
    def resolve_phone(obj: Any) -> str:
        return pii.mask_phone(obj.phone)

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return pii.mask_email(obj.email)

    @staticmethod
    def resolve_wechat_id(obj: Any) -> str:
        return pii.mask_text(obj.wechat_id)

    @staticmethod
    def resolve_id_number(obj: Any) -> str:
        return pii.mask_id_number(obj.id_number)


class _ContactFields(Strict):
    title: str | None = Field(None, max_length=60)
    department: str | None = Field(None, max_length=60)
    role: str | None = None
    mobile: str | None = Field(None, max_length=40)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    wechat_id: str | None = Field(None, max_length=40)
    id_number: str | None = Field(None, max_length=18)
    birthday: date | None = None
    birthday_lunar: bool | None = None
    preferred_channel: str | None = None
    notes: str | None = None
    status: Literal["active", "left"] | None = None


class ContactIn(_ContactFields):
    name: str = Field(..., max_length=60)


class ContactPatch(_ContactFields):
    name: str | None = Field(None, max_length=60)


class ContactMoveIn(Strict):
    customer_id: int


class RevealIn(Strict):
    field: PiiField


class RevealOut(Schema):
    field: str
    value: str


class FollowUpOut(Schema):
    id: int
    customer_id: int
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    owner_id: int
    kind: str
    occurred_at: datetime
    content: str
    outcome: str
    next_step: str
    next_due: date | None
    location: str
    contact_ids: list[int]
    created_at: datetime

    @staticmethod
    def resolve_contact_ids(obj: Any) -> list[int]:
        return [c.pk for c in obj.contacts.all()]


FollowUpKind = Literal["call", "visit", "meeting", "email", "wechat", "note"]


class FollowUpIn(Strict):
    kind: FollowUpKind
    content: str
    occurred_at: datetime | None = None
    outcome: str = Field("", max_length=200)
    next_step: str = Field("", max_length=200)
    next_due: date | None = None
    location: str = Field("", max_length=200)
    contact_ids: list[int] = []
    bu_id: int | None = None


class FollowUpPatch(Strict):
    kind: FollowUpKind | None = None
    content: str | None = None
    occurred_at: datetime | None = None
    outcome: str | None = Field(None, max_length=200)
    next_step: str | None = Field(None, max_length=200)
    next_due: date | None = None
    location: str | None = Field(None, max_length=200)
    contact_ids: list[int] | None = None


class FollowIn(Strict):
    digest: bool = False


class DecisionIn(Strict):
    note: str = Field("", max_length=200)


class BulkIn(Strict):
    ids: list[int] = Field(..., min_length=1, max_length=500)
    operation: Literal["assign", "tag", "release"]
    value: str | int | None = None
    reason: str = Field("", max_length=200)


class BulkOut(Schema):
    done: int
    failed: list[dict[str, Any]]


class DuplicateOut(Schema):
    exact: dict[str, Any] | None
    similar: list[dict[str, Any]]


class CustomerRef(Schema):
    id: int
    legal_name: str
    group_grade: str


class RollupOut(Schema):
    code: str
    label: str
    value: int


class TimelineEntryOut(Schema):
    at: datetime
    kind: str
    title: str
    body: str
    bu_id: int | None
    bu_name: str
    person_id: int | None
    person: str
    detail: dict[str, Any]


class FieldOriginOut(Schema):
    source: str | None = Field(description="The system's name; null: entered in groupcrm.")
    at: datetime


class View360Out(Schema):
    customer: CustomerOut
    parent: CustomerRef | None
    children: list[CustomerRef]
    rollups: list[RollupOut]
    contacts: list[ContactOut]
    relationships: list[dict[str, Any]]
    timeline: list[TimelineEntryOut]
    figures: dict[str, Any]
    pending_change: ChangeRequestOut | None
    actions: list[str]
    # Field name → where its value came from, for the fields whose origin is recorded.
    field_sources: dict[str, FieldOriginOut]


class HierarchyNode(Schema):
    id: int
    legal_name: str
    group_grade: str
    contacts: int
    children: list["HierarchyNode"] = []


class HierarchyOut(Schema):
    root: HierarchyNode
    size: int
    truncated: bool
    ancestors: list[CustomerRef]


class MergeIn(Strict):
    loser_ids: list[int] = Field(..., min_length=1, max_length=50)
    reason: str = Field("", max_length=200)


class MergeOut(Schema):
    id: int
    survivor_id: int
    losers: list[int]
    reason: str
    merged_by_id: int | None
    merged_at: datetime
    unmerged_at: datetime | None


class UnmergeOut(Schema):
    merge_id: int
    kept: list[str]
