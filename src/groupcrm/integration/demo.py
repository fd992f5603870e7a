"""Demo data integration (``groupcrm demo``): 华夏物流's customer export from its old
纷享销客 CRM, imported through the real pipeline and followed by a batch dedup run, so that
a new user finds a finished import with its rejected rows, where each value came from on
the 360° pages, and a duplicate review queue to work through (the demo's own customers
are clean).

The export repeats some of the group's customers the way another system wrote them: a
different legal form, a space, a branch's name; a few carry their credit code (matched at
import), the rest only their address (left to the batch dedup). Two rows are bad.
Deterministic for a seed."""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

from groupcrm.core.actor import Actor
from groupcrm.customers.models import Customer
from groupcrm.integration.matching import dedup_run
from groupcrm.integration.models import ImportSource
from groupcrm.integration.services import import_run, import_start, source_create
from groupcrm.org.models import BusinessUnit, User

SOURCE = "纷享销客（华夏物流旧系统）"
HEADERS = ["客户编号", "客户名称", "统一社会信用代码", "行业", "详细地址", "负责人"]


def _variant(rng: random.Random, name: str) -> str:
    """The same company as the other system wrote it."""
    choice = rng.random()
    if name.endswith("股份有限公司") and choice < 0.4:
        return name.removesuffix("股份有限公司") + "有限公司"
    if name.endswith("有限公司") and choice < 0.6:
        return name.removesuffix("有限公司") + "有限责任公司"
    if choice < 0.8:
        return name.replace("有限", " 有限", 1)
    return name.removesuffix("公司") + "公司上海分公司"


def load_imports(*, rng_seed: int = 2026, repeated: int = 24) -> dict[str, int]:
    """Import the export into 华夏物流 as the demo's administrator, then look for
    duplicates. Does nothing when the source exists already."""
    if ImportSource.objects.filter(name=SOURCE).exists():
        return {"rows": 0, "created": 0, "matched": 0, "rejected": 0, "pairs": 0}
    rng = random.Random(rng_seed)
    admin = Actor(User.objects.get(username="admin"), request_id="demo")
    unit = BusinessUnit.objects.get(code="hx-log")
    source = source_create(actor=admin, name=SOURCE, kind=ImportSource.Kind.FXIAOKE)
    known = list(
        Customer.objects.filter(status=Customer.Status.ACTIVE, uscc__isnull=False)
        .exclude(address="")
        .order_by("pk")[:600]
    )
    rows = []
    for number, customer in enumerate(rng.sample(known, min(repeated, len(known))), start=1):
        uscc = customer.uscc if number <= 4 else ""  # matched at import
        name = customer.legal_name if uscc else _variant(rng, customer.legal_name)
        rows.append([f"FX-{number:04d}", name, uscc, customer.industry, customer.address, ""])
    rows += [
        ["FX-0801", "锦程冷链物流有限公司", "", "59", "上海市浦东新区外高桥港区88号", "hanbing"],
        # Someone who left long ago: the company goes to the unit's pool, with a warning.
        ["FX-0802", "鸿运城配有限公司", "", "54", "广东省广州市白云区机场路18号", "周离职"],
        ["FX-0901", "", "", "", "浙江省宁波市北仑区", ""],  # no name: rejected
        ["FX-0902", "远航仓储有限公司", "91330200MA2AB0000X", "", "", ""],  # wrong check digit
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "纷享销客客户导出.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(HEADERS)
            writer.writerows(rows)
        job = import_start(
            actor=admin,
            source_id=source.pk,
            bu_id=unit.pk,
            entity="customers",
            path=path,
            filename=path.name,
            run=False,
        )
    job = import_run(job.pk)
    found = dedup_run(actor=admin, entity="customers")
    return {
        "rows": job.done_rows,
        "created": job.created,
        "matched": job.matched + job.updated,
        "rejected": job.rejected,
        "pairs": found["pairs"],
    }
