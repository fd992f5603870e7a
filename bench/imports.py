"""Benchmark of the import pipeline and the batch dedup (issue: data integration).

Generates a customer CSV with realistic errors and known duplicates, imports it through
the real pipeline (every row through the customer services) into a PostgreSQL database
of its own, COPYs the same file into a plain table in the same run for comparison, then
runs the batch dedup over the imported master and scores it against the known
duplicates. Prints rows/s, the COPY ratio, dedup time, peak memory, precision and recall.

    .venv/bin/python bench/imports.py --rows 5000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

DATABASE_URL = os.environ.get(
    "BENCH_IMPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/groupcrm_bench_import"
)
PREFIXES = ["华润", "长江", "东方", "昆仑", "泰山", "黄河", "珠江", "天山", "峨眉", "洞庭"]
TRADES = ["精密机械", "新能源", "医药", "物流", "半导体", "食品", "化工", "建设", "电子科技"]
PLACES = [
    "上海市浦东新区张江路",
    "北京市海淀区中关村大街",
    "广东省深圳市南山区科技园",
    "江苏省苏州市工业园区星湖街",
    "浙江省杭州市西湖区文三路",
]
HEADERS = ["客户编号", "客户名称", "统一社会信用代码", "详细地址", "网址"]


def generate(path: Path, rows: int, seed: int = 11) -> set[frozenset[str]]:
    """A 纷享销客-style export: ~10% duplicates written differently, ~3% bad rows."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from groupcrm.customers.normalize import make_uscc

    rng = random.Random(seed)
    truth: set[frozenset[str]] = set()
    originals: list[list[str]] = []
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for i in range(rows):
            ext = f"FX{i:07d}"
            if originals and rng.random() < 0.10:
                original = rng.choice(originals)
                name = original[1].replace("有限公司", rng.choice(["有限责任公司", "（有限公司）"]))
                writer.writerow([ext, name, "", original[3], original[4]])
                truth.add(frozenset({original[0], ext}))
                continue
            name = f"{rng.choice(PREFIXES)}{rng.choice(TRADES)}{i}有限公司"
            uscc = make_uscc(rng) if rng.random() < 0.8 else ""
            if rng.random() < 0.03:
                uscc = uscc[:-1] + ("0" if uscc[-1:] != "0" else "1") if uscc else "123"
            row = [ext, name, uscc, f"{rng.choice(PLACES)}{rng.randint(1, 999)}号", ""]
            writer.writerow(row)
            originals.append(row)
    return truth


def setup_django() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS groupcrm_bench_import")
        c.execute("CREATE DATABASE groupcrm_bench_import")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="groupcrm.settings",
        DATABASE_URL=DATABASE_URL,
        GROUPCRM_VAR_DIR=tempfile.mkdtemp(prefix="groupcrm-bench-import-"),
        LOG_LEVEL="WARNING",
        HUEY_IMMEDIATE="0",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="groupcrm-import-file-"))
    source_file = work / "customers.csv"
    truth = generate(source_file, args.rows)
    setup_django()

    from django.db import connection

    from groupcrm.core.actor import Actor
    from groupcrm.integration.matching import dedup_customers
    from groupcrm.integration.models import ImportSource, SourceRecord
    from groupcrm.integration.services import import_run, import_start
    from groupcrm.org.demo import build_demo
    from groupcrm.org.models import BusinessUnit, User

    build_demo()
    admin = Actor(User.objects.get(username="admin"))
    source = ImportSource.objects.create(name="纷享销客", kind="fxiaoke")
    unit = BusinessUnit.objects.get(code="hx-mfg")

    started = time.perf_counter()
    job = import_start(
        actor=admin,
        source_id=source.pk,
        bu_id=unit.pk,
        entity="customers",
        path=source_file,
        filename=source_file.name,
        run=False,
    )
    job = import_run(job.pk)
    import_seconds = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE copy_baseline (id text, name text, uscc text, address text, site text)"
        )
        started = time.perf_counter()
        with (
            cursor.connection.cursor() as raw,
            raw.copy("COPY copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            source_file.open("rb") as f,
        ):
            f.read(3)  # the BOM
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        copy_seconds = time.perf_counter() - started

    started = time.perf_counter()
    result = dedup_customers(actor=admin)
    dedup_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from groupcrm.integration.models import DuplicatePair

    ext_of = dict(SourceRecord.objects.values_list("customer_id", "external_id"))
    found = {
        frozenset({ext_of.get(p.left_id, ""), ext_of.get(p.right_id, "")})
        for p in DuplicatePair.objects.all()
    }
    # Exact duplicates by credit code are matched at import (not created twice).
    detectable = {pair for pair in truth if all(ext in ext_of.values() for ext in pair)}
    hits = found & detectable
    precision = len(hits) / len(found) if found else 0.0
    recall = len(hits) / len(detectable) if detectable else 0.0

    rows = job.done_rows
    print(f"rows in file: {args.rows} (known duplicates: {len(truth)})")
    print(
        f"import: {rows} rows in {import_seconds:.1f} s = {rows / import_seconds:.0f} rows/s "
        f"({job.created} created, {job.updated} updated, {job.matched} matched, "
        f"{job.rejected} rejected)"
    )
    print(f"COPY of the same file: {copy_seconds:.2f} s = {rows / copy_seconds:.0f} rows/s")
    print(f"import / COPY: {copy_seconds / import_seconds:.4f}×")
    print(
        f"batch dedup of {rows} customers: {dedup_seconds:.1f} s, {result['pairs']} pairs, "
        f"peak memory {peak_mb:.0f} MB"
    )
    print(
        f"dedup against the known duplicates: precision {precision:.3f}, recall {recall:.3f} "
        f"({len(hits)} of {len(detectable)})"
    )


if __name__ == "__main__":
    main()
