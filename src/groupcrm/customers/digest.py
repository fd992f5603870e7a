"""The daily email digest of followed customers (关注客户每日摘要)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from groupcrm.audit.models import ChangeRecord
from groupcrm.customers.models import Follow
from groupcrm.customers.selectors import GOLDEN_TYPES

OWNER_VERBS = ["claim", "release", "reclaim", "assign"]


def digest_send(*, since: dt.datetime | None = None) -> int:
    """Email each person who asked for a digest what changed on the customers they
    follow since ``since`` (default: 24 hours ago). Returns the number of emails sent.
    Only group-wide facts go out by email: golden-record, contact and owner changes."""
    since = since or timezone.now() - dt.timedelta(days=1)
    follows = defaultdict(list)
    for follow in Follow.objects.filter(digest=True, user__is_active=True).select_related(
        "user", "customer"
    ):
        if follow.user.email:
            follows[follow.user].append(follow.customer)
    # One read of every followed customer's changes, grouped by customer.
    changes = defaultdict(list)
    for record in (
        ChangeRecord.objects.filter(
            subject__in={f"customers.customer:{c.pk}" for cs in follows.values() for c in cs},
            at__gte=since,
        )
        .filter(Q(object_type__in=GOLDEN_TYPES) | Q(verb__in=OWNER_VERBS))
        .order_by("at")
    ):
        changes[record.subject].append(record)
    sent = 0
    for user, customers in follows.items():
        sections = [
            (c, changes[f"customers.customer:{c.pk}"])
            for c in customers
            if changes[f"customers.customer:{c.pk}"]
        ]
        if not sections:
            continue
        with translation.override(user.language):
            body = render_to_string(
                "customers/digest_email.txt",
                {"user": user, "sections": sections, "base_url": settings.SITE_URL},
            )
            send_mail(
                _("groupcrm: changes to the customers you follow"),
                body,
                None,
                [user.email],
            )
        sent += 1
    return sent
