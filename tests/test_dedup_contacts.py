"""Contact dedup: the engine on generated people with known duplicates, the batch over
the contacts of the master, its review queue, the contact merge and its exact undo, and
reviewer decisions as labels for the next run."""

from __future__ import annotations

import random
from typing import Any

import pytest

from groupcrm.core.actor import Actor
from groupcrm.core.errors import NotFound, PermissionDenied, ValidationError
from groupcrm.core.testing.battery import ui_client
from groupcrm.customers import services
from groupcrm.customers.merge import contact_merge, customer_unmerge
from groupcrm.customers.models import Contact, FollowUp, MergeRecord
from groupcrm.integration.dedup import find_pairs, frame, train
from groupcrm.integration.matching import (
    CONTACT_CONFIG,
    CONTACTS,
    dedup_run,
    pair_decide,
    review_queue,
)
from groupcrm.integration.models import ContactPair, ImportSource, SourceRecord

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡杜叶程苏魏吕丁"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国志红玉春梅海燕晓东宇浩然轩欣怡涵诺博文桐"
)
TRADITIONAL = str.maketrans("张陈刘杨黄赵吴伟丽华国红东", "張陳劉楊黃趙吳偉麗華國紅東")


def people(
    n: int = 400, dupes: int = 50, seed: int = 7, companies: int = 60
) -> tuple[list[dict[str, Any]], set[frozenset[str]]]:
    """Contacts at ``companies`` customers (five to a group); the last ``dupes`` rows
    repeat earlier people: traditional characters, spaces, a missing phone or email, or
    recorded at another company."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    truth: set[frozenset[str]] = set()
    for i in range(n):
        rows.append(
            {
                "id": f"c{i}",
                "name": rng.choice(SURNAMES)
                + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2]))),
                "mobile": f"1{rng.randrange(3 * 10**9, 10**10)}" if rng.random() < 0.8 else "",
                "email": f"u{rng.randrange(10**9)}@example.com" if rng.random() < 0.6 else "",
                "company": rng.randrange(companies),
            }
        )
    for i in range(dupes):
        original = rows[i]
        name = original["name"]
        variant = rng.random()
        if variant < 0.3:
            name = name.translate(TRADITIONAL)
        elif variant < 0.5:
            name = " ".join(name)
        mobile = original["mobile"] if rng.random() < 0.6 else ""
        email = original["email"] if rng.random() < 0.5 else ""
        moved = (mobile or email) and rng.random() < 0.5
        rows.append(
            {
                "id": f"d{i}",
                "name": name,
                "mobile": mobile,
                "email": email,
                "company": rng.randrange(companies) if moved else original["company"],
            }
        )
        truth.add(frozenset({original["id"], f"d{i}"}))
    for row in rows:
        row["company"] = f"/{row['company'] // 5:08d}/{row['company']:08d}/"
    return rows, truth


def test_it_finds_known_duplicate_contacts_with_high_precision_and_recall() -> None:
    rows, truth = people()
    pairs = find_pairs(frame(rows, "id", CONTACT_CONFIG), CONTACT_CONFIG)
    found = {frozenset({p.left, p.right}) for p in pairs}
    hits = found & truth
    precision, recall = len(hits) / len(found), len(hits) / len(truth)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    # 張偉 and 张 伟 are one spelling of one name: the pair is found on the name alone.
    assert {"c0", "d0"} in [{p.left, p.right} for p in pairs]
    zhang = next(p for p in pairs if {p.left, p.right} == {"c0", "d0"})
    assert {r["field"]: r["agreement"] for r in zhang.reasons}["name"] in ("exact", "partial")


def _m(linker: Any, comparison: str, label: str) -> float:
    model = linker.misc.save_model_to_json()
    levels = next(c for c in model["comparisons"] if c["output_column_name"] == comparison)
    return next(
        level["m_probability"]
        for level in levels["comparison_levels"]
        if level.get("label_for_charts") == label
    )


def test_labelled_duplicates_pull_the_model_towards_what_reviewers_decided() -> None:
    rows, truth = people()
    data = frame(rows, "id", CONTACT_CONFIG)
    labels = [tuple(sorted(pair)) for pair in sorted(truth, key=sorted)[:20]]
    by_id = {row["id"]: row for row in rows}
    # What the labels alone say: the share of known duplicates at the same company.
    same = sum(by_id[a]["company"] == by_id[b]["company"] for a, b in labels) / len(labels)
    level = "Exact match on company"
    unlabelled = _m(train(data, CONTACT_CONFIG)[0], "company", level)
    labelled = _m(train(data, CONTACT_CONFIG, labels)[0], "company", level)
    assert unlabelled != labelled
    assert abs(labelled - same) < abs(unlabelled - same), (unlabelled, labelled, same)


# --- the batch over the master ----------------------------------------------------------


def _master(personas: Any) -> dict[str, Any]:
    """Two customers of one group (制造 works with both) and one of 金融, with contacts;
    张伟 is recorded twice at the parent (one in traditional characters) and 李娜 at
    the parent and its subsidiary with the same email."""
    system = Actor.system("tests")
    made = {}
    for key, name, parent, unit in [
        ("a", "华夏精密机械有限公司", None, "mfg"),
        ("b", "华夏精密机械（苏州）有限公司", "a", "mfg"),
        ("c", "东方物流有限公司", None, "fin"),
    ]:
        customer = services.customer_create(
            actor=system,
            legal_name=name,
            start_relationship=False,
            similar_override_reason="test",
            parent_id=made[parent].pk if parent else None,
        )
        services.relationship_start(
            actor=system, customer_id=customer.pk, bu_id=personas.units[unit].pk
        )
        made[key] = customer
    rng = random.Random(11)
    for i in range(45):
        services.contact_create(
            actor=system,
            customer_id=made["abc"[i % 3]].pk,
            name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            mobile=f"139{i:08d}",
            email=f"p{i}@example.com" if i % 2 else "",
        )

    def add(key: str, name: str, **fields: Any) -> Contact:
        return services.contact_create(actor=system, customer_id=made[key].pk, name=name, **fields)

    made["zw"] = add("a", "张伟", mobile="13800000001", email="zw@example.com")
    made["zw2"] = add("a", "張 偉", mobile="13800000001", title="采购经理", department="采购部")
    made["ln"] = add("a", "李娜", email="lina@example.com")
    made["ln2"] = add("b", "李娜", email="lina@example.com", mobile="13800000002")
    made["wq"] = add("c", "王强", mobile="13800000003")
    made["wq2"] = add("c", "王强", mobile="13800000003", email="wq@example.com")
    return made


def _pair(a: Contact, b: Contact) -> ContactPair:
    left, right = sorted((a.pk, b.pk))
    return ContactPair.objects.get(left_id=left, right_id=right)


@pytest.mark.django_db
def test_it_queues_duplicate_contacts_for_the_reviewers_who_may_see_them(personas) -> None:  # type: ignore[no-untyped-def]
    made = _master(personas)
    admin = personas.actor("admin")
    result = dedup_run(actor=admin, entity="contacts")
    assert result["pairs"] >= 3 and result["new"] == result["pairs"]
    queue = list(review_queue(actor=admin, entity=CONTACTS))
    found = {frozenset({p.left_id, p.right_id}) for p in queue}
    assert {
        frozenset({made["zw"].pk, made["zw2"].pk}),
        frozenset({made["ln"].pk, made["ln2"].pk}),
        frozenset({made["wq"].pk, made["wq2"].pk}),
    } <= found
    assert [p.probability for p in queue] == sorted((p.probability for p in queue), reverse=True)
    zw = _pair(made["zw"], made["zw2"])
    assert {r["field"]: r["agreement"] for r in zw.reasons}["mobile"] == "exact"
    # 制造's steward sees the pairs at customers 制造 works with, not 金融's 王强.
    steward = list(review_queue(actor=personas.actor("mfg_manager"), entity=CONTACTS))
    assert zw.pk in {p.pk for p in steward}
    assert _pair(made["wq"], made["wq2"]).pk not in {p.pk for p in steward}
    with pytest.raises(PermissionDenied):
        dedup_run(actor=personas.actor("mfg_manager"), entity="contacts")
    with pytest.raises(NotFound):
        pair_decide(
            actor=personas.actor("mfg_manager"),
            pk=_pair(made["wq"], made["wq2"]).pk,
            decision="distinct",
            entity=CONTACTS,
        )
    page = ui_client(personas, "admin")
    html = page.get("/imports/duplicates/contacts/").content.decode()
    assert "张伟" in html and "138****0001" in html and "13800000001" not in html
    assert 'data-testid="dedup-entity"' in html


@pytest.mark.django_db
def test_a_contact_merge_moves_every_link_and_an_unmerge_restores_it_exactly(personas) -> None:  # type: ignore[no-untyped-def]
    made = _master(personas)
    admin = personas.actor("admin")
    keep, lose = made["zw"], made["zw2"]
    before = Contact.objects.filter(pk=lose.pk).values().get()
    both = services.followup_create(
        actor=admin,
        customer_id=made["a"].pk,
        bu_id=personas.units["mfg"].pk,
        kind="call",
        content="两人都在",
        contact_ids=[keep.pk, lose.pk],
    )
    only = services.followup_create(
        actor=admin,
        customer_id=made["a"].pk,
        bu_id=personas.units["mfg"].pk,
        kind="visit",
        content="只有张偉",
        contact_ids=[lose.pk],
    )
    source = ImportSource.objects.create(name="ERP")
    record = SourceRecord.objects.create(
        source=source, entity="contacts", external_id="7", payload={}, contact=lose
    )
    dedup_run(actor=admin, entity="contacts")
    pair = _pair(keep, lose)
    other = ContactPair.objects.filter(status="pending").exclude(pk=pair.pk).first()
    pair_decide(actor=admin, pk=pair.pk, decision="merge", survivor_id=keep.pk, entity=CONTACTS)

    assert not Contact.objects.filter(pk=lose.pk).exists()
    keep.refresh_from_db()
    assert (keep.title, keep.department) == ("采购经理", "采购部")  # filled from the loser
    assert set(FollowUp.objects.get(pk=only.pk).contacts.all()) == {keep}
    assert set(FollowUp.objects.get(pk=both.pk).contacts.all()) == {keep}
    assert SourceRecord.objects.get(pk=record.pk).contact_id == keep.pk
    merge = MergeRecord.objects.get(losers=[lose.pk])
    assert merge.snapshot["entity"] == CONTACTS
    assert "13800000001" not in str(merge.snapshot)  # personal data stays encrypted
    assert not ContactPair.objects.filter(pk=pair.pk).exists()

    customer_unmerge(actor=admin, merge_id=merge.pk)  # what the customer page's undo calls
    restored = Contact.objects.filter(pk=lose.pk).values().get()
    for key in ("mobile", "email", "phone"):  # ciphertexts differ, clear values do not
        assert Contact.objects.get(pk=lose.pk).__dict__[key] == Contact(**before).__dict__[key]
        before.pop(key), restored.pop(key)
    assert restored == before
    keep.refresh_from_db()
    assert (keep.title, keep.department) == ("", "")
    assert set(FollowUp.objects.get(pk=only.pk).contacts.all()) == {Contact.objects.get(pk=lose.pk)}
    assert {c.pk for c in FollowUp.objects.get(pk=both.pk).contacts.all()} == {keep.pk, lose.pk}
    assert SourceRecord.objects.get(pk=record.pk).contact_id == lose.pk
    assert ContactPair.objects.get(pk=pair.pk).status == "pending"
    if other is not None:
        assert ContactPair.objects.filter(pk=other.pk).exists()


@pytest.mark.django_db
def test_it_refuses_bad_decisions_and_merges_and_writes_nothing(personas) -> None:  # type: ignore[no-untyped-def]
    made = _master(personas)
    admin = personas.actor("admin")
    dedup_run(actor=admin, entity="contacts")
    pair = _pair(made["zw"], made["zw2"])
    with pytest.raises(ValidationError) as exc:
        pair_decide(actor=admin, pk=pair.pk, decision="maybe", entity=CONTACTS)
    assert "decision" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        pair_decide(
            actor=admin, pk=pair.pk, decision="merge", survivor_id=made["ln"].pk, entity=CONTACTS
        )
    assert "survivor_id" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        contact_merge(actor=admin, survivor_id=made["zw"].pk, loser_ids=[made["zw"].pk, 999999])
    assert "loser_ids" in exc.value.fields
    assert ContactPair.objects.get(pk=pair.pk).status == "pending"
    assert Contact.objects.filter(pk=made["zw2"].pk).exists()
    assert not MergeRecord.objects.exists()


@pytest.mark.django_db
def test_decisions_are_remembered_and_merges_train_the_next_run(personas) -> None:  # type: ignore[no-untyped-def]
    made = _master(personas)
    admin = personas.actor("admin")
    assert dedup_run(actor=admin, entity="contacts")["labels"] == 0
    distinct = _pair(made["wq"], made["wq2"])
    pair_decide(actor=admin, pk=distinct.pk, decision="distinct", entity=CONTACTS)
    merged = _pair(made["zw"], made["zw2"])
    pair_decide(
        actor=admin, pk=merged.pk, decision="merge", survivor_id=made["zw"].pk, entity=CONTACTS
    )
    result = dedup_run(actor=admin, entity="contacts")
    assert result["labels"] == 1  # the merge, with the merged contact's row from its record
    assert ContactPair.objects.get(pk=distinct.pk).status == "distinct"
    pending = review_queue(actor=admin, entity=CONTACTS)
    assert distinct.pk not in {p.pk for p in pending}
    assert not pending.filter(right_id=made["zw2"].pk).exists()
