"""Approval pages: the inbox (待我审批 / 我发起的 / 已处理) and one request."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupcrm.approvals import selectors, services
from groupcrm.approvals.forms import DecisionForm
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.approvals.registry import describe, kind_label, subject_link
from groupcrm.audit.selectors import object_history
from groupcrm.core.ui import paginate, submit

# The inbox shows the first customer changes; the rest are on the customers' own page.
CHANGE_PREVIEW = 10


def _rows(items: list[ApprovalRequest]) -> list[dict[str, Any]]:
    return [{"item": r, "kind": kind_label(r.kind), "summary": describe(r)} for r in items]


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    tab = request.GET.get("tab", "todo")
    if tab not in selectors.TABS:
        tab = "todo"
    page = paginate(request, selectors.approval_inbox(actor=actor, tab=tab))
    context: dict[str, Any] = {
        "tab": tab,
        "page": page,
        "rows": _rows(list(page.object_list)),
        "todo_count": selectors.approvals_to_decide(actor=actor).count(),
    }
    if tab == "todo":
        changes = selectors.change_requests_to_decide(actor=actor)
        context["changes"] = list(changes[:CHANGE_PREVIEW])
        context["change_count"] = changes.count()
    return render(request, "approvals/inbox.html", context)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request; approvers decide it here with a comment (POST)."""
    actor = request.actor
    item = selectors.approval_get(actor=actor, pk=pk)
    can_decide = selectors.can_decide(actor=actor, request=item)
    form = DecisionForm(request.POST or None)
    # The service is the authority on who may decide: a POST by anyone else gets its
    # 403/404/409 through the one UI error handler.
    response = submit(
        request,
        form,
        lambda data: services.approval_decide(
            actor=actor, pk=item.pk, decision=data["decision"], comment=data["comment"]
        ),
        success_url=request.path,
        message=_("Your decision has been recorded."),
    )
    if response:
        return response
    return render(
        request,
        "approvals/detail.html",
        {
            "item": item,
            "kind": kind_label(item.kind),
            "summary": describe(item),
            "subject_link": subject_link(item),
            "form": form,
            "can_decide": can_decide,
            "can_withdraw": item.requested_by_id == actor.user_id
            and item.status == ApprovalRequest.Status.PENDING,
            "history": paginate(request, object_history(obj=item)),
        },
    )


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    services.approval_withdraw(actor=request.actor, pk=pk)
    messages.success(request, _("Your request has been withdrawn."))
    return redirect("approvals:detail", pk)
