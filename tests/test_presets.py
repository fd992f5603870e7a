"""The ready mapping for Salesforce's data export (issue: data integration, point 1): an
Account and a Contact export import without any mapping chosen by hand, parents linked by
their ids in any row order, contacts to their companies by AccountId."""

from __future__ import annotations

from pathlib import Path

import pytest

from groupcrm.core.testing.personas import Personas
from groupcrm.customers.models import Contact, Customer, CustomerRelationship
from groupcrm.integration.models import RowIssue
from tests.test_integration import start, write_csv

ACCOUNT = [
    "Id",
    "Name",
    "Website",
    "Industry",
    "NumberOfEmployees",
    "AnnualRevenue",
    "BillingStreet",
    "ParentId",
    "OwnerId",
]
CONTACT = ["Id", "AccountId", "Name", "Title", "Department", "MobilePhone", "Phone", "Email"]


@pytest.mark.django_db
def test_a_salesforce_export_imports_without_a_hand_made_mapping(
    personas: Personas, tmp_path: Path
) -> None:
    accounts = write_csv(
        tmp_path / "Account.csv",
        ACCOUNT,
        [
            # The subsidiary comes first: its parent is linked once every row is in.
            [
                "0015g00000AbCdEAAV",
                "招商物流(深圳)有限公司",
                "",
                "58",
                "800",
                "1,200,000.50",
                "广东省深圳市南山区科技园1号",
                "0015g00000AbCdFAAV",
                "0055g00000XyZ12AAA",
            ],
            [
                "0015g00000AbCdFAAV",
                "招商物流集团有限公司",
                "www.cmlog.example.cn",
                "Transportation",
                "5000",
                "",
                "",
                "",
                "mfg_am",
            ],
        ],
    )
    job = start(personas, accounts, kind="salesforce")
    job.refresh_from_db()
    assert job.status == "done" and (job.created, job.rejected) == (2, 0)
    child = Customer.objects.get(legal_name="招商物流(深圳)有限公司")
    parent = Customer.objects.get(legal_name="招商物流集团有限公司")
    assert child.parent == parent
    assert (child.industry, child.employees, str(child.annual_revenue)) == (
        "58",
        800,
        "1200000.50",
    )
    assert child.province == "广东省" and parent.website == "www.cmlog.example.cn"
    rels = {r.customer_id: r for r in CustomerRelationship.objects.filter(bu=personas.units["mfg"])}
    assert rels[parent.pk].owner == personas.mfg_am
    assert rels[child.pk].owner is None  # a Salesforce user id is nobody here: the pool
    reasons = " ".join(RowIssue.objects.filter(job=job).values_list("reason", flat=True))
    assert "Transportation" in reasons and "0055g00000XyZ12AAA" in reasons  # said, not silent

    contacts = write_csv(
        tmp_path / "Contact.csv",
        CONTACT,
        [
            [
                "0035g00000QwErTAAZ",
                "0015g00000AbCdEAAV",
                "王芳",
                "采购经理",
                "采购部",
                "13912345678",
                "0755-86001234",
                "wangfang@cmlog.example.cn",
            ]
        ],
    )
    job = start(personas, contacts, kind="salesforce", entity="contacts")
    job.refresh_from_db()
    assert job.status == "done" and (job.created, job.rejected) == (1, 0)
    contact = Contact.objects.get(customer=child)
    assert (contact.name, contact.title, contact.department) == ("王芳", "采购经理", "采购部")
