from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from groupcrm.announcements import selectors, services
from groupcrm.announcements.schemas import AnnouncementIn, AnnouncementOut, AnnouncementPatch
from groupcrm.core.api_support import PagePagination, actor_of

router = Router(tags=["announcements"])


@router.get("", response=list[AnnouncementOut])
@paginate(PagePagination)
def announcement_list(request: HttpRequest, q: str = "", bu_id: int | None = None) -> Any:
    return selectors.announcement_list(actor=actor_of(request), q=q, bu_id=bu_id)


@router.post("", response={201: AnnouncementOut})
def announcement_create(request: HttpRequest, payload: AnnouncementIn) -> Any:
    return Status(
        201, services.announcement_create(actor=actor_of(request), **payload.model_dump())
    )


@router.get("/{announcement_id}", response=AnnouncementOut)
def announcement_get(request: HttpRequest, announcement_id: int) -> Any:
    return selectors.announcement_get(actor=actor_of(request), pk=announcement_id)


@router.patch("/{announcement_id}", response=AnnouncementOut)
def announcement_update(
    request: HttpRequest, announcement_id: int, payload: AnnouncementPatch
) -> Any:
    actor = actor_of(request)
    current = selectors.announcement_get(actor=actor, pk=announcement_id, action="change")
    fields = ("title", "body", "pinned", "publish_at", "expires_at")
    changes = payload.model_dump(exclude_unset=True)
    # Only the expiry can be cleared with null; other nulls leave the value as is.
    changes = {k: v for k, v in changes.items() if v is not None or k == "expires_at"}
    data = {**{f: getattr(current, f) for f in fields}, **changes}
    return services.announcement_update(actor=actor, pk=announcement_id, **data)


@router.delete("/{announcement_id}", response={204: None})
def announcement_delete(request: HttpRequest, announcement_id: int) -> Status:
    services.announcement_delete(actor=actor_of(request), pk=announcement_id)
    return Status(204, None)
