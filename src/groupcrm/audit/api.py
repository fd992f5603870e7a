from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from groupcrm.audit.selectors import access_record_list, change_record_list
from groupcrm.core.api_support import PagePagination, actor_of

router = Router(tags=["audit"])


class ChangeRecordOut(Schema):
    id: int
    at: datetime
    actor_id: int | None
    actor_label: str
    bu_id: int | None
    request_id: str
    ip: str | None
    action: str
    verb: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, Any]
    hash: str
    prev_hash: str


@router.get("/records", response=list[ChangeRecordOut], summary="Change records in your scope")
@paginate(PagePagination)
def records(
    request: HttpRequest,
    actor_id: int | None = None,
    bu_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> Any:
    return change_record_list(
        actor=actor_of(request),
        actor_id=actor_id,
        bu_id=bu_id,
        object_type=object_type,
        object_id=object_id,
        action=action,
        date_from=date_from,
        date_to=date_to,
    )


class AccessRecordOut(Schema):
    id: int
    at: datetime
    actor_id: int | None
    bu_id: int | None
    request_id: str
    ip: str | None
    kind: str
    object_type: str
    object_id: str
    object_repr: str
    detail: str


@router.get("/access", response=list[AccessRecordOut], summary="Reveals and exports in your scope")
@paginate(PagePagination)
def access(
    request: HttpRequest, kind: str = "", actor_id: int | None = None, object_id: str = ""
) -> Any:
    return access_record_list(
        actor=actor_of(request), kind=kind, actor_id=actor_id, object_id=object_id
    )
