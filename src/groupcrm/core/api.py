from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.core import selectors, services
from groupcrm.core.api_support import PagePagination, actor_of

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


@router.get("/notifications", response=list[NotificationOut])
@paginate(PagePagination)
def notification_list(request: HttpRequest, unread: bool = False) -> Any:
    return selectors.notification_list(actor=actor_of(request), unread=unread)


@router.post("/notifications/{notification_id}/read", response={204: None})
def notification_read(request: HttpRequest, notification_id: int) -> Status:
    services.notification_mark_read(actor=actor_of(request), pk=notification_id)
    return Status(204, None)
