"""The demo's import (``groupcrm demo``): a finished 纷享销客 import into 华夏物流 with its
rejected rows and warnings, and a duplicate queue a new user can work through."""

from __future__ import annotations

import pytest

from groupcrm.customers.demo import load_customers
from groupcrm.integration.demo import SOURCE, load_imports
from groupcrm.integration.models import DuplicatePair, ImportJob, RowIssue, SourceRecord
from groupcrm.org.demo import build_demo


@pytest.mark.django_db
def test_the_demo_imports_an_old_crms_export_and_queues_its_duplicates() -> None:
    build_demo()
    load_customers(count=120)
    figures = load_imports()
    job = ImportJob.objects.get(source__name=SOURCE)
    assert job.status == "done" and job.bu.code == "hx-log"
    assert figures["rows"] == 28 and figures["rejected"] == 2
    assert figures["matched"] == 4 and figures["created"] == 22
    rejected = RowIssue.objects.filter(job=job, imported=False).values_list("row", flat=True)
    assert sorted(rejected) == [28, 29]
    warned = RowIssue.objects.get(job=job, imported=True)
    assert "周离职" in warned.reason  # not a member of the unit: the pool, said
    assert SourceRecord.objects.filter(job=job).count() == 26
    # The variants of known customers wait for review, with their reasons.
    pending = DuplicatePair.objects.filter(status=DuplicatePair.Status.PENDING)
    assert figures["pairs"] >= 10 and pending.count() >= 10
    assert all(pair.reasons for pair in pending)
    assert load_imports()["rows"] == 0  # a second run adds nothing
