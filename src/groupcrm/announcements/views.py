from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.announcements import selectors, services
from groupcrm.announcements.forms import AnnouncementForm
from groupcrm.audit.selectors import object_history
from groupcrm.core.ui import form_page, paginate, submit


@login_required
def announcement_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("announcements", "view")
    items = selectors.announcement_list(actor=actor, q=request.GET.get("q", "").strip())
    return render(
        request,
        "announcements/list.html",
        {"page": paginate(request, items), "can_create": actor.can("announcements", "create")},
    )


@login_required
def announcement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    item = selectors.announcement_get(actor=actor, pk=pk)
    return render(
        request,
        "announcements/detail.html",
        {
            "item": item,
            "history": paginate(request, object_history(obj=item)),
            "can_change": actor.can("announcements", "change"),
            "can_delete": actor.can("announcements", "delete"),
        },
    )


@login_required
def announcement_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("announcements", "create")
    form = AnnouncementForm(
        request.POST or None,
        actor=actor,
        with_unit=True,
        initial={"bu": actor.bu.pk if actor.bu else None},
    )

    def save(data: dict) -> object:
        unit = data.pop("bu")
        return services.announcement_create(actor=actor, bu_id=unit.pk, **data)

    done = submit(
        request,
        form,
        save,
        success_url=lambda a: reverse("announcements:detail", args=[a.pk]),
        message=_("Announcement published."),
    )
    return done or render(
        request,
        "form.html",
        {"form": form, "title": _("New announcement"), "back": reverse("announcements:list")},
    )


@login_required
def announcement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    item = selectors.announcement_get(actor=actor, pk=pk, action="change")
    fields = ("title", "body", "pinned", "publish_at", "expires_at")
    form = AnnouncementForm(
        request.POST or None,
        actor=actor,
        with_unit=False,
        initial={f: getattr(item, f) for f in fields},
    )
    done = submit(
        request,
        form,
        lambda d: services.announcement_update(actor=actor, pk=pk, **d),
        success_url=reverse("announcements:detail", args=[pk]),
        message=_("Announcement saved."),
    )
    return done or form_page(
        request, form, title=_("Edit announcement"), back=reverse("announcements:detail", args=[pk])
    )


@login_required
@require_POST
def announcement_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.announcement_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Announcement deleted."))
    return redirect("announcements:list")
