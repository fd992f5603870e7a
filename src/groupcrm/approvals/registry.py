"""The approval kinds modules register: what their requests are, who decides them, and
what a decision does.

A module calls ``register_kind`` in its ``AppConfig.ready``. Approvers need
``approvals.approve`` reaching the request's unit and ``<module>.view`` (they must be
able to look at what they decide). The callbacks run inside the deciding transaction, so
the business effect and the decision commit (or roll back) together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils.functional import Promise

if TYPE_CHECKING:
    from groupcrm.approvals.models import ApprovalRequest
    from groupcrm.core.actor import Actor

Callback = Callable[["ApprovalRequest", "Actor"], None]


@dataclass(frozen=True)
class ApprovalKind:
    code: str
    label: Promise | str
    module: str
    on_approved: Callback
    # Runs when a request ends without approval: rejected or withdrawn (its status says
    # which), so the module can release whatever waited on it.
    on_rejected: Callback | None = None
    # A one-line, human summary of the payload (e.g. "折扣 15%"); the UI falls back to it.
    describe: Callable[[ApprovalRequest], str] | None = None
    # The URL name of the subject's page, taking the subject id (e.g. "quotes:detail").
    subject_url: str | None = None


KINDS: dict[str, ApprovalKind] = {}


def register_kind(
    code: str,
    label: Promise | str,
    *,
    module: str,
    on_approved: Callback,
    on_rejected: Callback | None = None,
    describe: Callable[[ApprovalRequest], str] | None = None,
    subject_url: str | None = None,
) -> ApprovalKind:
    """Register (or, on a module reload, replace) the kind ``code``."""
    if not code or len(code) > 60:
        raise ValueError("an approval kind needs a code of at most 60 characters")
    kind = ApprovalKind(code, label, module, on_approved, on_rejected, describe, subject_url)
    KINDS[code] = kind
    return kind


def kind_get(code: str) -> ApprovalKind | None:
    return KINDS.get(code)


def kind_label(code: str) -> str:
    kind = KINDS.get(code)
    return str(kind.label) if kind else code


def describe(request: ApprovalRequest) -> str:
    kind = KINDS.get(request.kind)
    return kind.describe(request) if kind and kind.describe else ""


def subject_link(request: ApprovalRequest) -> str | None:
    """The page of what the request is about, when its kind names one."""
    kind = KINDS.get(request.kind)
    if kind is None or kind.subject_url is None:
        return None
    return reverse(kind.subject_url, args=[request.subject_id])


def decidable_kinds(actor: Actor) -> list[str]:
    """Kinds whose module the actor may look at: only those they may decide."""
    return [code for code, kind in KINDS.items() if actor.can(kind.module, "view")]
