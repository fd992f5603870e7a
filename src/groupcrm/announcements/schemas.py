from datetime import datetime

from ninja import Field, Schema

from groupcrm.org.schemas import Strict


class AnnouncementOut(Schema):
    id: int
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    owner_id: int
    title: str
    body: str
    pinned: bool
    publish_at: datetime
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AnnouncementIn(Strict):
    title: str = Field(..., max_length=120)
    body: str
    bu_id: int | None = None
    pinned: bool = False
    publish_at: datetime | None = None
    expires_at: datetime | None = None


class AnnouncementPatch(Strict):
    title: str | None = Field(None, max_length=120)
    body: str | None = None
    pinned: bool | None = None
    publish_at: datetime | None = None
    expires_at: datetime | None = None
