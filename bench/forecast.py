"""Benchmark of the forecast page and the group pipeline roll-up (issue: sales across the
group, point 4), on PostgreSQL.

1. Builds the demo group (units, roles, people) in a database of its own, then COPYs
   (``core.bulk.insert_rows``) customers in groups (a parent with its subsidiaries) and
   ``--rows`` opportunities spread over the demo's selling units and their reps, over
   2025–2027 by close month, over the stages (about 45 % open, 20 % won, 35 % lost),
   over the forecast categories, with about 10 % of them split between two units; plus
   monthly quotas for every rep and unit.
2. Rebuilds the forecast's summary (``forecast_refresh``, the five-minute job) and
   times it.
3. Measures p50/p95 of ``--requests`` requests of each page through the Django test
   client (the whole view: middleware, selectors, template), after a few untimed ones:
   the forecast page as a group analyst and as a subsidiary's manager (team level, a
   quarter), the rep level, and the group pipeline roll-up.

    .venv/bin/python bench/forecast.py --rows 1000000
    .venv/bin/python bench/forecast.py --rows 1000000 --reuse     # measure again

The database (``groupcrm_bench_forecast`` unless BENCH_FORECAST_DATABASE_URL names
another) is dropped and created again unless ``--reuse``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get(
    "BENCH_FORECAST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/groupcrm_bench_forecast"
)
TARGET_MS = 200
CHUNK = 50_000


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
        or tempfile.mkdtemp(prefix="groupcrm-bench-forecast-"),
        LOG_LEVEL="WARNING",
        HUEY_IMMEDIATE="0",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    # The pages render without collected static files (no manifest in a fresh var dir).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)


def generate(rows: int, seed: int = 2026) -> dict[str, float]:
    from django.db import connection, transaction
    from django.utils import timezone

    from groupcrm.core.bulk import insert_rows, reserve_ids
    from groupcrm.customers.models import Customer
    from groupcrm.org.demo import build_demo
    from groupcrm.org.models import PATH_STEP, BusinessUnit, Membership
    from groupcrm.sales.forecast.models import Quota
    from groupcrm.sales.models import Opportunity, Pipeline, RevenueSplit, Stage

    rng = random.Random(seed)
    phases: dict[str, float] = {}
    started = time.perf_counter()
    build_demo()
    # Selling units: those with account managers; their reps are those members.
    reps: dict[int, list[int]] = {}
    for bu_id, user_id in Membership.objects.filter(
        is_active=True, role__code__in=("account_manager", "sales_lead", "group_kam")
    ).values_list("bu_id", "user_id"):
        reps.setdefault(bu_id, []).append(user_id)
    units = {u.pk: u for u in BusinessUnit.objects.filter(pk__in=reps)}
    unit_ids = sorted(reps)
    weights = [rng.uniform(0.5, 2.0) for _ in unit_ids]
    pipeline = Pipeline.objects.get(bu__isnull=True)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("order"))
    open_stages = [s for s in stages if s.outcome == Stage.Outcome.OPEN]
    won_stage = next(s for s in stages if s.outcome == Stage.Outcome.WON)
    lost_stage = next(s for s in stages if s.outcome == Stage.Outcome.LOST)
    phases["demo org"] = time.perf_counter() - started

    started = time.perf_counter()
    customers = max(1000, rows // 5)
    ids = reserve_ids(Customer, customers)
    batch, roots = [], []
    root: Customer | None = None
    with transaction.atomic():
        for number, pk in enumerate(ids):
            # A group: a parent and, for a third of them, 1–8 subsidiaries after it.
            if root is None or rng.random() < 0.4:
                root = Customer(pk=pk, parent=None, depth=0, path=f"{pk:0{PATH_STEP}d}/")
                customer = root
                roots.append(pk)
            else:
                customer = Customer(
                    pk=pk, parent_id=root.pk, depth=1, path=f"{root.path}{pk:0{PATH_STEP}d}/"
                )
            customer.legal_name = f"基准测试客户{number:07d}有限公司"
            customer.status = Customer.Status.ACTIVE
            batch.append(customer)
            if len(batch) == CHUNK:
                insert_rows(batch)
                batch = []
        insert_rows(batch)
    phases["customers"] = time.perf_counter() - started

    started = time.perf_counter()
    now = timezone.now()
    categories = [c.value for c in Opportunity.ForecastCategory]
    category_weights = [50, 25, 20, 5]
    tz = timezone.get_current_timezone()
    split_rows: list[RevenueSplit] = []
    opportunity_ids = reserve_ids(Opportunity, rows)
    with transaction.atomic():
        batch = []
        chosen_units = rng.choices(unit_ids, weights, k=rows)
        for number, (pk, bu_id) in enumerate(zip(opportunity_ids, chosen_units, strict=True)):
            roll = rng.random()
            close = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(3 * 365))
            amount = Decimal(rng.randrange(1, 500) * 10_000)
            if roll < 0.45:
                stage, status, closed_at = rng.choice(open_stages), "open", None
                close = max(close, dt.date(2026, 12, 3))
            else:
                won = roll < 0.65
                stage = won_stage if won else lost_stage
                status = "won" if won else "lost"
                close = min(close, dt.date(2026, 12, 1))
                closed_at = dt.datetime.combine(close, dt.time(rng.randrange(8, 20)), tzinfo=tz)
            batch.append(
                Opportunity(
                    pk=pk,
                    bu_id=bu_id,
                    owner_id=rng.choice(reps[bu_id]),
                    customer_id=rng.choice(ids),
                    name="基准商机",
                    amount=amount,
                    expected_close=close,
                    pipeline_id=pipeline.pk,
                    stage_id=stage.pk,
                    probability=stage.probability if status == "open" else 100 * (status == "won"),
                    forecast_category=rng.choices(categories, category_weights)[0],
                    status=status,
                    closed_at=closed_at,
                    stage_entered_at=now,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            if rng.random() < 0.10:
                other = rng.choice([u for u in unit_ids if u != bu_id])
                share = Decimal(rng.choice((20, 30, 40, 50)))
                split_rows.append(
                    RevenueSplit(
                        opportunity_id=pk,
                        bu_id=bu_id,
                        user_id=batch[-1].owner_id,
                        percent=100 - share,
                        source="referral",
                        created_at=now,
                    )
                )
                split_rows.append(
                    RevenueSplit(
                        opportunity_id=pk,
                        bu_id=other,
                        user_id=rng.choice(reps[other]),
                        percent=share,
                        source="referral",
                        created_at=now,
                    )
                )
            if len(batch) == CHUNK:
                insert_rows(batch)
                batch = []
                print(f"  … {number + 1:,} opportunities", flush=True)
        insert_rows(batch)
        for start in range(0, len(split_rows), CHUNK):
            insert_rows(split_rows[start : start + CHUNK])
    phases["opportunities"] = time.perf_counter() - started

    started = time.perf_counter()
    quotas = []
    months = [dt.date(2025 + m // 12, m % 12 + 1, 1) for m in range(36)]
    per_rep = Decimal(rows) * Decimal(250_000 * 0.2) / sum(len(r) for r in reps.values()) / 36
    for bu_id, people in reps.items():
        for month in months:
            quotas.append(Quota(bu_id=bu_id, user=None, period=month, amount=per_rep * len(people)))
            quotas.extend(
                Quota(bu_id=bu_id, user_id=u, period=month, amount=per_rep.quantize(Decimal(1)))
                for u in people
            )
    with transaction.atomic():
        insert_rows(quotas)
    with connection.cursor() as cursor:
        for table in ("customers_customer", "sales_opportunity", "sales_revenuesplit"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    phases["quotas, analyze"] = time.perf_counter() - started
    print(f"units selling: {len(units)}, reps: {sum(len(r) for r in reps.values())}")
    return phases


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(pct / 100 * len(ordered)) - 1)]


def measure(requests: int) -> list[tuple[str, list[float]]]:
    from django.test import Client

    from groupcrm.org.models import User

    analyst = User.objects.get(username="chenjing")
    manager = User.objects.get(username="liqiang")  # 华夏制造's general manager
    periods = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-03", "2026-11", "2027-Q1"]
    workloads = [
        ("forecast, group analyst, team level", analyst, "/sales/forecast/?level=team&period="),
        ("forecast, unit manager, team level", manager, "/sales/forecast/?level=team&period="),
        ("forecast, unit manager, rep level", manager, "/sales/forecast/?level=rep&period="),
        ("group pipeline roll-up, group analyst", analyst, "/sales/forecast/group-pipeline/?"),
        ("group pipeline roll-up, unit manager", manager, "/sales/forecast/group-pipeline/?"),
    ]
    results = []
    for name, user, url in workloads:
        client = Client()
        client.force_login(user)
        timings = []
        for number in range(requests + 3):
            target = url + (periods[number % len(periods)] if url.endswith("=") else "")
            started = time.perf_counter()
            response = client.get(target)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (target, response.status_code)
            if number >= 3:  # warm-up
                timings.append(elapsed)
        results.append((name, timings))
        print(
            f"{name}: p50 {statistics.median(timings):.0f} ms, "
            f"p95 {_percentile(timings, 95):.0f} ms, max {max(timings):.0f} ms",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--reuse", action="store_true", help="keep the database")
    args = parser.parse_args()
    setup_django(reuse=args.reuse)
    if not args.reuse:
        phases = generate(args.rows)
        for name, seconds in phases.items():
            print(f"generated {name} in {seconds:.0f} s")
    from groupcrm.sales.models import Opportunity, RevenueSplit

    print(
        f"dataset: {Opportunity.objects.count():,} opportunities, "
        f"{RevenueSplit.objects.values('opportunity_id').distinct().count():,} with splits"
    )
    from groupcrm.core.actor import Actor
    from groupcrm.sales.forecast.services import forecast_refresh

    started = time.perf_counter()
    refreshed = forecast_refresh(actor=Actor.system("bench"))
    print(
        f"forecast_refresh (the five-minute rebuild of the summary): "
        f"{time.perf_counter() - started:.1f} s, {refreshed['credits']:,} credit rows, "
        f"{refreshed['pipeline_cells']:,} pipeline cells"
    )
    results = measure(args.requests)
    print("\n| page | requests | p50 ms | p95 ms | max ms | target |")
    print("|---|---|---|---|---|---|")
    for name, timings in results:
        p95 = _percentile(timings, 95)
        verdict = "PASS" if p95 <= TARGET_MS else "FAIL"
        print(
            f"| {name} | {len(timings)} | {statistics.median(timings):.0f} | {p95:.0f} | "
            f"{max(timings):.0f} | {verdict} (≤ {TARGET_MS}) |"
        )


if __name__ == "__main__":
    main()
