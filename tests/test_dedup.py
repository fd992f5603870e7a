"""Batch duplicate detection: the engine on generated companies with known duplicates,
the dedup-file command on any CSV, and configuration errors."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from groupcrm.integration.dedup import ConfigError, DedupConfig, find_pairs, frame

PREFIXES = [
    "华润",
    "长江",
    "东方",
    "昆仑",
    "泰山",
    "黄河",
    "珠江",
    "天山",
    "峨眉",
    "洞庭",
    "太湖",
    "燕山",
]
WORDS = ["精密机械", "新能源", "医药", "物流", "半导体", "食品", "化工", "建设", "电子科技", "纺织"]
STREETS = ["张江路", "科技园", "星湖街"]
CITIES = ["上海市浦东新区", "北京市海淀区", "广东省深圳市南山区", "江苏省苏州市工业园区"]
CONFIG = """
threshold = 0.5
[[fields]]
name = "company"
kind = "company_name"
[[fields]]
name = "tel"
kind = "phone"
[[fields]]
name = "addr"
kind = "address"
"""


def companies(
    n: int = 300, dupes: int = 40, seed: int = 5
) -> tuple[list[dict[str, str]], set[frozenset[str]]]:
    rng = random.Random(seed)
    rows, truth = [], set()
    names = set()
    while len(rows) < n:
        name = (
            f"{rng.choice(PREFIXES)}{rng.choice(WORDS)}{rng.choice(['', '科技', '实业', '发展'])}"
        )
        if name in names:
            continue
        names.add(name)
        rows.append(
            {
                "id": f"r{len(rows)}",
                "company": name + rng.choice(["有限公司", "股份有限公司"]),
                "tel": f"021-{rng.randint(50000000, 69999999)}",
                "addr": f"{rng.choice(CITIES)}{rng.choice(STREETS)}{rng.randint(1, 999)}号",
            }
        )
    for i in range(dupes):
        original = rows[i]
        variant = {
            "id": f"d{i}",
            "company": rng.choice(
                [
                    original["company"].replace("股份有限公司", "股份公司")
                    if "股份" in original["company"]
                    else original["company"].replace("有限公司", "有限责任公司"),
                    original["company"].replace("有限公司", "（有限公司）"),
                    " ".join(original["company"]),
                    original["company"],
                ]
            ),
            "tel": rng.choice([original["tel"], original["tel"].replace("021-", "+86 21 "), ""]),
            "addr": rng.choice([original["addr"], original["addr"].replace("号", "号楼"), ""]),
        }
        rows.append(variant)
        truth.add(frozenset({original["id"], variant["id"]}))
    return rows, truth


def test_engine_finds_known_duplicates_with_reasons() -> None:
    rows, truth = companies()
    config = DedupConfig.from_dict(__import__("tomllib").loads(CONFIG))
    pairs = find_pairs(frame(rows, "id", config), config)
    found = {frozenset({p.left, p.right}) for p in pairs}
    hits = found & truth
    precision = len(hits) / len(found)
    recall = len(hits) / len(truth)
    assert recall >= 0.85 and precision >= 0.85, (precision, recall)
    best = pairs[0]
    assert best.probability >= 0.8 and best.cluster
    fields = {r["field"] for r in best.reasons}
    assert fields >= {"company"} and all("bayes_factor" in r for r in best.reasons)


def test_dedup_file_command_writes_pairs(tmp_path: Path) -> None:
    rows, truth = companies(n=120, dupes=15, seed=9)
    source = tmp_path / "companies.csv"
    with source.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "company", "tel", "addr"])
        writer.writeheader()
        writer.writerows(rows)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "pairs.csv"
    stdout = io.StringIO()
    with translation.override("en"):
        call_command(
            "dedup-file",
            str(source),
            id_column="id",
            config=str(config),
            out=str(out),
            stdout=stdout,
        )
    written = list(csv.DictReader(out.open(encoding="utf-8")))
    assert written and {"id_l", "id_r", "match_probability", "cluster_id", "reasons"} <= set(
        written[0]
    )
    found = {frozenset({r["id_l"], r["id_r"]}) for r in written}
    assert len(found & truth) >= 0.8 * len(truth)
    assert "duplicate pairs" in stdout.getvalue()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[fields]]\nname = "company"\nkind = "shoe_size"\n', "shoe_size"),
        ('threshold = 2\n[[fields]]\nname = "company"\nkind = "text"\n', "threshold"),
        ('blocking = [["nope"]]\n[[fields]]\nname = "company"\nkind = "text"\n', "nope"),
        ("not toml at all [", "cannot be read"),
        ("", "at least one field"),
    ],
)
def test_bad_configurations_are_explained(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with translation.override("en"), pytest.raises(ConfigError) as exc:
        DedupConfig.from_toml(path)
    assert message.lower() in str(exc.value).lower()


def test_the_command_names_missing_columns(tmp_path: Path) -> None:
    source = tmp_path / "x.csv"
    source.write_text("id,name\n1,a\n2,b\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with pytest.raises(CommandError, match="company"):
        call_command(
            "dedup-file",
            str(source),
            id_column="id",
            config=str(config),
            out=str(tmp_path / "o.csv"),
        )


@pytest.mark.django_db
def test_the_master_queue_merges_and_remembers_decisions(personas) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    from groupcrm.core.actor import Actor
    from groupcrm.customers import services
    from groupcrm.customers.models import Customer
    from groupcrm.integration.matching import dedup_run, pair_decide, review_queue
    from groupcrm.integration.models import DuplicatePair

    system = Actor.system("tests")
    rows, truth = companies(n=80, dupes=10, seed=3)
    ids = {}
    for row in rows:
        customer = services.customer_create(
            actor=system,
            legal_name=row["company"],
            address=row["addr"],
            start_relationship=False,
            similar_override_reason="test",
        )
        ids[row["id"]] = customer.pk
        unit = "mfg" if row["id"].startswith("r") else "fin"
        services.relationship_start(
            actor=system, customer_id=customer.pk, bu_id=personas.units[unit].pk
        )
    admin = personas.actor("admin")
    result = dedup_run(actor=admin, entity="customers")
    assert result["pairs"] >= 8
    expected = {frozenset({ids[a], ids[b]}) for a, b in (sorted(t) for t in truth)}
    queue = list(review_queue(actor=admin))
    found = {frozenset({p.left_id, p.right_id}) for p in queue}
    assert len(found & expected) >= 8
    # 华夏制造's steward only sees pairs of customers 制造 works with: none across units.
    mfg_ids = {ids[r["id"]] for r in rows if r["id"].startswith("r")}
    steward = list(review_queue(actor=personas.actor("mfg_manager")))
    assert all({p.left_id, p.right_id} <= mfg_ids for p in steward)
    assert len(steward) < len(queue)
    first, second = queue[0], queue[1]
    pair_decide(actor=admin, pk=first.pk, decision="merge", survivor_id=first.left_id)
    assert Customer.objects.get(pk=first.right_id).status == "merged"
    pair_decide(actor=admin, pk=second.pk, decision="distinct")
    dedup_run(actor=admin, entity="customers")  # a later run keeps the decision
    assert DuplicatePair.objects.get(pk=second.pk).status == "distinct"
    page = Client()
    page.force_login(personas.admin)
    html = page.get("/imports/duplicates/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="keep-left"' in html
    assert "名称 · 相同" in html and "name · exact" not in html  # reasons as people say them
    assert page.get("/imports/duplicates/?status=distinct").status_code == 200


def test_two_different_credit_codes_are_two_companies_even_when_codes_are_unique() -> None:
    """As in the customer master, where a credit code is unique: no pair agrees on it, so
    Splink cannot train on blocking by it. It must still count (two codes: two legal
    entities); a failed training round once dropped the field from every prediction."""
    from groupcrm.customers.normalize import make_uscc
    from groupcrm.integration.matching import CUSTOMER_CONFIG

    rng = random.Random(7)
    rows = [
        {
            "id": str(i),
            "name": f"{rng.choice(PREFIXES)}{i}号{rng.choice(WORDS)}有限公司",
            "uscc": make_uscc(rng),
            "address": f"{rng.choice(CITIES)}{rng.choice(STREETS)}{i}号",
            "website": "",
            "phone": "",
        }
        for i in range(400)
    ]
    same, other = set(), set()
    for i in range(40):
        copy = {
            **rows[i],
            "id": f"d{i}",
            "name": rows[i]["name"].replace("有限公司", "股份有限公司"),
        }
        if i % 2:
            # A neighbour: another registered company at the same address, of a similar
            # name (its 字号 differs by a character).
            copy["name"] = rows[i]["name"].replace("号", "号新", 1)
            copy["uscc"] = make_uscc(rng)
            other.add(frozenset((str(i), f"d{i}")))
        else:
            copy["uscc"] = ""  # the same company, written without its code
            same.add(frozenset((str(i), f"d{i}")))
        rows.append(copy)
    pairs = find_pairs(frame(rows, "id", CUSTOMER_CONFIG), CUSTOMER_CONFIG)
    found = {frozenset((p.left, p.right)): p for p in pairs}
    assert same <= found.keys()
    # A neighbour at the same address may still be worth a look, but its two codes
    # count against it, and say so.
    for key in other & found.keys():
        [code] = [r for r in found[key].reasons if r["field"] == "uscc"]
        assert code["agreement"] == "differs" and code["bayes_factor"] < 0.01
        assert found[key].probability < min(found[k].probability for k in same)
