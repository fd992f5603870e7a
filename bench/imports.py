"""Benchmark of the import pipeline, the batch dedup and the duplicate check on save
(issue: data integration), on PostgreSQL.

1. Generates a 纷享销客-style customer export (CSV, UTF-8 with BOM) with realistic names,
   about 3% bad rows and about 10% duplicates written differently (legal form, brackets,
   full-width characters, a branch suffix, a missing credit code) whose truth is known.
2. Imports it through the real pipeline (``import_start`` + ``import_run``: every row
   validated and normalised by the customer master's functions, written a batch at a
   time) into a database of its own, and COPYs the same file into a plain table of text
   columns in the same run for comparison.
3. Times the duplicate check a save runs (credit code, then similar names) over the
   imported master: p50/p95 of 1,000 checks of existing, varied and new names.
4. Runs the batch dedup (Splink) over the whole master in a child process, for its own
   peak memory, and scores the pairs against the known duplicates: precision, recall, F1.

    .venv/bin/python bench/imports.py --rows 1000000
    .venv/bin/python bench/imports.py --rows 1000000 --reuse --skip-import   # 3 and 4 again

The database (``groupcrm_bench_import`` unless BENCH_IMPORT_DATABASE_URL names another)
is dropped and created again unless ``--reuse``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get(
    "BENCH_IMPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/groupcrm_bench_import"
)
HEADERS = ["客户编号", "客户名称", "统一社会信用代码", "行业", "详细地址", "网址", "负责人"]
PLACES = [
    ("北京", "北京市朝阳区建国路"),
    ("上海", "上海市浦东新区张江路"),
    ("深圳", "广东省深圳市南山区科技园"),
    ("广州", "广东省广州市天河区珠江新城"),
    ("苏州", "江苏省苏州市工业园区星湖街"),
    ("杭州", "浙江省杭州市西湖区文三路"),
    ("成都", "四川省成都市武侯区天府大道"),
    ("武汉", "湖北省武汉市洪山区光谷大道"),
    ("西安", "陕西省西安市雁塔区高新路"),
    ("南京", "江苏省南京市鼓楼区中山北路"),
    ("天津", "天津市滨海新区经济开发区"),
    ("重庆", "重庆市渝北区金开大道"),
    ("青岛", "山东省青岛市市南区香港中路"),
    ("长沙", "湖南省长沙市岳麓区麓谷大道"),
    ("厦门", "福建省厦门市思明区鹭江道"),
    ("合肥", "安徽省合肥市蜀山区长江西路"),
]
# Characters of brand names (字号): three of them make millions of names, so distinct
# companies rarely share a brand, as in a real register.
BRAND = (
    "华润长江东方昆仑泰山黄河珠江天山峨眉洞庭宏达恒信鼎盛瑞丰金源银河远航博雅卓越海纳"
    "百川中科星辰汇通安泰新元明德永辉嘉禾德信正大同创蓝海青云晨光锦程富春鸿运"
    "振兴腾飞凯旋盛世龙凤麒麟龟鹤松柏梅兰竹菊春夏秋冬丰收吉祥如意福寿康宁和平"
    "友谊光明胜利前进红旗先锋开拓创新科技实业精工智能数码信息网络云端天地人和"
    "佳美优品联合集成万通千里百合九州八方七星六合五洲四海三江两岸一帆"
)
# Trades with their division (大类, two digits: the code a customer's industry holds);
# four-digit class codes are not divisions, and every row would import with a warning.
TRADES = [
    ("精密机械", "34"),
    ("新能源科技", "44"),
    ("医药", "27"),
    ("物流", "58"),
    ("半导体", "39"),
    ("食品", "14"),
    ("化工", "26"),
    ("建设工程", "48"),
    ("电子科技", "39"),
    ("软件", "65"),
    ("纺织", "17"),
    ("贸易", "51"),
]
# Bumped whenever the generator changes: files generated before are not reused.
DATA_VERSION = 2
FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
FULL_WIDTH = str.maketrans("()0123456789", "（）０１２３４５６７８９")


def _variant(rng: random.Random, name: str, place: str) -> str:
    """The same company as another system wrote it."""
    choice = rng.random()
    if choice < 0.25:
        for form in FORMS:
            if name.endswith(form):
                return name[: -len(form)] + rng.choice([f for f in FORMS if f != form])
    if choice < 0.45:
        return name.replace(place, f"（{place}）", 1) if name.startswith(place) else f"{name} "
    if choice < 0.6:
        return name.translate(FULL_WIDTH) + " "
    if choice < 0.8:
        return f"{name}{place}分公司"
    return name.replace("有限", " 有限", 1)


def generate(path: Path, rows: int, seed: int = 11) -> list[tuple[str, str]]:
    """Writes the file; returns the known duplicate pairs (external ids)."""
    sys.path.insert(0, str(ROOT / "src"))
    from groupcrm.customers.normalize import make_uscc

    rng = random.Random(seed)
    truth: list[tuple[str, str]] = []
    originals: list[tuple[str, str, str, str, str]] = []  # id, name, uscc, address, place
    seen: set[str] = set()
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for i in range(rows):
            ext = f"FX{i:07d}"
            if len(originals) > 100 and rng.random() < 0.10:
                oid, oname, ouscc, oaddress, oplace = rng.choice(originals)
                # A third of the duplicates still carry the credit code: the import
                # matches those at once; the rest are for the batch dedup.
                uscc = ouscc if rng.random() < 0.33 else ""
                address = oaddress if rng.random() < 0.7 else ""
                writer.writerow([ext, _variant(rng, oname, oplace), uscc, "", address, "", ""])
                truth.append((oid, ext))
                continue
            while True:
                place, street = rng.choice(PLACES)
                brand = "".join(rng.sample(BRAND, rng.choice((3, 3, 4))))
                trade, industry = rng.choice(TRADES)
                name = f"{place if rng.random() < 0.5 else ''}{brand}{trade}{rng.choice(FORMS)}"
                if name not in seen:
                    seen.add(name)
                    break
            uscc = make_uscc(rng) if rng.random() < 0.85 else ""
            address = f"{street}{rng.randint(1, 2999)}号"
            employees_or_error = rng.random()
            if employees_or_error < 0.015 and uscc:
                uscc = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")  # wrong check digit
            elif employees_or_error < 0.025:
                name = ""  # no name: rejected
            elif employees_or_error < 0.03:
                industry = "外星贸易"  # unknown industry: imported without it
            site = f"www.{ext.lower()}.com.cn" if rng.random() < 0.3 else ""
            owner = "zhangwei" if rng.random() < 0.001 else ""
            writer.writerow([ext, name, uscc, industry, address, site, owner])
            if name:
                originals.append((ext, name, uscc, address, place))
    return truth


def setup_django(reuse: bool) -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    if not reuse:
        with psycopg.connect(
            DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        DJANGO_SETTINGS_MODULE="groupcrm.settings",
        DATABASE_URL=DATABASE_URL,
        GROUPCRM_VAR_DIR=os.environ.get("BENCH_VAR_DIR")
        or tempfile.mkdtemp(prefix="groupcrm-bench-import-"),
        LOG_LEVEL="WARNING",
        HUEY_IMMEDIATE="0",
    )
    os.environ["BENCH_VAR_DIR"] = os.environ["GROUPCRM_VAR_DIR"]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_import(source_file: Path, rows: int) -> dict[str, float]:
    from django.db import connection

    from groupcrm.core.actor import Actor
    from groupcrm.integration.models import ImportSource
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
    checked = time.perf_counter()

    def progress(job: object) -> None:
        done = job.done_rows  # type: ignore[attr-defined]
        if done % 100_000 < 1000:
            rate = done / (time.perf_counter() - checked)
            print(f"  … {done:,} rows, {rate:,.0f} rows/s", flush=True)

    job = import_run(job.pk, progress=progress)
    finished = time.perf_counter()

    columns = ", ".join(f"c{i} text" for i in range(len(HEADERS)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TABLE IF EXISTS copy_baseline; CREATE TABLE copy_baseline ({columns})"
        )
        copy_started = time.perf_counter()
        with (
            cursor.connection.cursor() as raw,
            raw.copy("COPY copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            source_file.open("rb") as f,
        ):
            f.read(3)  # the BOM
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        copy_seconds = time.perf_counter() - copy_started
    total = finished - started
    return {
        "rows": job.done_rows,
        "created": job.created,
        "updated": job.updated,
        "matched": job.matched,
        "rejected": job.rejected,
        "check_seconds": checked - started,
        "import_seconds": total,
        "rows_per_s": job.done_rows / total,
        "copy_seconds": copy_seconds,
        "copy_rows_per_s": job.done_rows / copy_seconds,
        "ratio": copy_seconds / total,
    }


def duplicate_check(samples: int = 1000) -> dict[str, float]:
    """The check ``customer_create`` runs before a save: the credit code, then names
    similar to the one entered."""
    from groupcrm.customers.models import Customer
    from groupcrm.customers.services import similar_customers

    rng = random.Random(5)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    names = []
    while len(names) < samples:
        found = (
            Customer.objects.filter(pk__gte=rng.randint(1, top))
            .order_by("pk")
            .values_list("legal_name", "uscc")
            .first()
        )
        if found is None:
            continue
        name, uscc = found
        kind = len(names) % 3
        if kind == 1:
            name = name.replace("有限公司", "有限责任公司")
        elif kind == 2:
            name = f"{rng.choice(BRAND)}{rng.choice(BRAND)}新创{rng.choice(TRADES)[0]}有限公司"
        names.append((name, uscc))
    timings = []
    hits = 0
    for name, uscc in names:
        started = time.perf_counter()
        if uscc:
            Customer.objects.filter(uscc=uscc).exists()
        hits += bool(similar_customers(name))
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "samples": samples,
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "max_ms": timings[-1],
        "with_similar": hits,
    }


def floors(source_file: Path) -> dict[str, float]:
    """What the import cannot go below on this machine, measured apart: the customer
    master's own validation and derivation of every row (CPU time, one process, no
    database), and a COPY of the finished golden records into an empty copy of the
    customer table, with all its indexes, without the trigram index, and with only the
    primary key and the credit code's unique index. Relationships, lineage and field
    provenance, which the import also writes per row, are not in these figures."""
    from django.db import connection

    from groupcrm.core.bulk import _value_of, new_objects, reserve_ids
    from groupcrm.core.errors import ValidationError
    from groupcrm.customers import normalize, search
    from groupcrm.customers.models import Customer
    from groupcrm.customers.services import derive_customer
    from groupcrm.integration.bulk import parse_row
    from groupcrm.integration.models import ImportJob

    for cached in (normalize._words, normalize.normalize_company_name, normalize._word_pinyin):
        cached.cache_clear()  # as cold as a new file's names: the import just warmed them
    job = ImportJob.objects.filter(entity=ImportJob.Entity.CUSTOMERS).latest("pk")
    with source_file.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.DictReader(f))
    started = time.process_time()
    rows = []
    for number, values in enumerate(lines, start=2):
        try:
            rows.append(parse_row(job, number, values))
        except ValidationError:
            continue
    regions = normalize.parse_regions([row.fields.get("address", "") for row in rows])
    customers = new_objects(
        Customer, ({**row.fields, "source": Customer.Source.IMPORT} for row in rows)
    )
    for customer, region in zip(customers, regions, strict=True):
        derive_customer(customer, region if customer.address else None)
        customer.search_text = search.document(customer, [])
    python_seconds = time.process_time() - started

    seen: set[str] = set()
    unique = [c for c in customers if not c.uscc or (c.uscc not in seen and not seen.add(c.uscc))]
    for customer, pk in zip(unique, reserve_ids(Customer, len(unique)), strict=True):
        customer.pk = pk
        customer.path = customer.own_segment()
    fields = list(Customer._meta.concrete_fields)
    values = [_value_of(f, unique[0]) for f in fields]
    tuples = [[value(c) for value in values] for c in unique]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    figures = {"rows": len(lines), "python_rows_per_s": len(lines) / python_seconds}
    drops = {
        "all_indexes": [],
        "large_gin_pending_list": [],
        "without_trigram": ["cust_search_trgm"],
        "pk_and_uscc_only": [
            name
            for (name,) in connection.cursor().execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'customers_customer' "
                "AND indexname NOT IN ('customers_customer_pkey', 'cust_uscc_unique')"
            )
        ],
    }
    for variant, dropped in drops.items():
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS floor_customer")
            cursor.execute("CREATE TABLE floor_customer (LIKE customers_customer INCLUDING ALL)")
            for name in dropped:
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'floor_customer' "
                    "AND indexdef LIKE %s",
                    [f"%{_index_columns(cursor, name)}%"],
                )
                for (copied,) in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{copied}"')
            if variant == "large_gin_pending_list":
                cursor.execute("SET gin_pending_list_limit = '256MB'")
            started = time.perf_counter()
            raw = cursor.cursor
            for first in range(0, len(tuples), 1000):
                with raw.copy(f"COPY floor_customer ({columns}) FROM STDIN") as copy:
                    for row in tuples[first : first + 1000]:
                        copy.write_row(row)
            figures[f"copy_{variant}_rows_per_s"] = len(tuples) / (time.perf_counter() - started)
            cursor.execute("DROP TABLE floor_customer")
            cursor.execute("RESET gin_pending_list_limit")
    return figures


FLOOR_VARIANTS = {
    "all_indexes": "empty customer table with all its indexes",
    "large_gin_pending_list": "same, 256 MB GIN pending list",
    "without_trigram": "without the trigram index",
    "pk_and_uscc_only": "only the primary key and the credit code's unique index",
}


def _index_columns(cursor: object, name: str) -> str:
    """The ``USING …`` part of an index's definition, by which its copy is found."""
    cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])  # type: ignore[attr-defined]
    return cursor.fetchone()[0].split(" USING ", 1)[1]  # type: ignore[attr-defined]


def run_dedup() -> dict[str, float]:
    """In this process (a child of the benchmark): the batch dedup over the master."""
    from groupcrm.core.actor import Actor
    from groupcrm.integration.matching import dedup_run
    from groupcrm.org.models import User

    admin = Actor(User.objects.get(username="admin"))
    started = time.perf_counter()
    result = dedup_run(actor=admin, entity="customers")
    return {
        "seconds": time.perf_counter() - started,
        "pairs": result["pairs"],
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def score(truth: list[tuple[str, str]], threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of what the import and the dedup found together, with the
    pairs at or above ``threshold``: a known duplicate counts as found when both rows
    landed on one record (matched at import by their credit code) or when their records
    form a candidate pair."""
    from groupcrm.integration.models import DuplicatePair, ImportJob, SourceRecord

    record_of = dict(
        SourceRecord.objects.filter(entity=ImportJob.Entity.CUSTOMERS).values_list(
            "external_id", "customer_id"
        )
    )
    pairs = {
        frozenset(p)
        for p in DuplicatePair.objects.filter(probability__gte=threshold)
        .values_list("left_id", "right_id")
        .iterator()
    }
    # Two duplicates of one original are duplicates of each other too: the truth is
    # its clusters (an original with all its copies), by record.
    cluster_of: dict[int, int] = {}
    same_record = 0
    found_pairs: set[frozenset[int]] = set()
    detectable = 0
    for left, right in truth:
        a, b = record_of.get(left), record_of.get(right)
        if a is None or b is None:
            continue  # a rejected row
        detectable += 1
        cluster_of.setdefault(a, a)
        cluster_of[b] = cluster_of[a]
        if a == b:
            same_record += 1
        elif frozenset((a, b)) in pairs:
            found_pairs.add(frozenset((a, b)))
    true_pairs = {pair for pair in pairs if len({cluster_of.get(pk, -pk) for pk in pair}) == 1}
    # A proposed pair of records from different clusters is a false positive.
    found = same_record + len(true_pairs)
    precision = found / (same_record + len(pairs)) if found else 0.0
    recall = (same_record + len(found_pairs)) / detectable if detectable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "known": detectable,
        "matched_at_import": same_record,
        "found_by_dedup": len(found_pairs),
        "proposed_pairs": len(pairs),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the database")
    parser.add_argument("--skip-import", action="store_true", help="with --reuse")
    parser.add_argument("--skip-dedup", action="store_true")
    parser.add_argument("--score-only", action="store_true", help="score the stored pairs")
    parser.add_argument(
        "--floors", action="store_true", help="after the import: what it cannot go below"
    )
    parser.add_argument("--dedup-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dedup_child:
        setup_django(reuse=True)
        print(json.dumps(run_dedup()))
        return

    work = Path(tempfile.gettempdir()) / "groupcrm-bench-import"
    work.mkdir(exist_ok=True)
    source_file = work / f"customers-{args.rows}-v{DATA_VERSION}.csv"
    truth_file = work / f"truth-{args.rows}-v{DATA_VERSION}.json"
    if not (source_file.exists() and truth_file.exists()):
        started = time.perf_counter()
        truth_file.write_text(json.dumps(generate(source_file, args.rows)))
        print(f"generated {source_file} in {time.perf_counter() - started:.0f} s")
    truth = [tuple(p) for p in json.loads(truth_file.read_text())]
    setup_django(reuse=args.reuse)
    print(
        f"file: {args.rows:,} rows, {source_file.stat().st_size / 1e6:.0f} MB, "
        f"{len(truth):,} known duplicates"
    )

    if args.score_only:
        print_scores(truth)
        return
    if not args.skip_import:
        figures = run_import(source_file, args.rows)
        print(
            f"import: {figures['rows']:,} rows in {figures['import_seconds']:.1f} s "
            f"(file check {figures['check_seconds']:.1f} s) = {figures['rows_per_s']:,.0f} rows/s; "
            f"{figures['created']:,} created, {figures['updated']:,} updated, "
            f"{figures['matched']:,} matched, {figures['rejected']:,} rejected"
        )
        print(
            f"COPY of the same file: {figures['copy_seconds']:.2f} s = "
            f"{figures['copy_rows_per_s']:,.0f} rows/s; import / COPY = {figures['ratio']:.3f}×"
        )

    if args.floors:
        low = floors(source_file)
        print(
            f"floors of {low['rows']:,} rows: validation and derivation alone "
            f"{low['python_rows_per_s']:,.0f} rows/s of one core"
        )
        for variant, label in FLOOR_VARIANTS.items():
            rate = low[f"copy_{variant}_rows_per_s"]
            print(f"  COPY of the finished golden records, {label}: {rate:,.0f} rows/s")

    check = duplicate_check()
    print(
        f"duplicate check on save over the master: p50 {check['p50_ms']:.1f} ms, "
        f"p95 {check['p95_ms']:.1f} ms, max {check['max_ms']:.1f} ms "
        f"({check['samples']} checks, {check['with_similar']} found similar names)"
    )

    if not args.skip_dedup:
        child = subprocess.run(
            [sys.executable, __file__, "--dedup-child", "--rows", str(args.rows)],
            capture_output=True,
            text=True,
            env=os.environ,
            check=True,
        )
        dedup = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"batch dedup of the master: {dedup['seconds']:.0f} s, {dedup['pairs']:,} pairs, "
            f"peak memory {dedup['peak_mb']:,.0f} MB"
        )
        print_scores(truth)


def print_scores(truth: list[tuple[str, str]]) -> None:
    for threshold in (0.5, 0.8, 0.9, 0.95, 0.99):
        quality = score(truth, threshold)
        print(
            f"pairs ≥ {threshold}: {quality['proposed_pairs']:,} proposed, "
            f"{quality['found_by_dedup']:,} known duplicates among them "
            f"(+{quality['matched_at_import']:,} matched at import by credit code, "
            f"of {quality['known']:,}): precision {quality['precision']:.3f}, "
            f"recall {quality['recall']:.3f}, F1 {quality['f1']:.3f}"
        )


if __name__ == "__main__":
    main()
