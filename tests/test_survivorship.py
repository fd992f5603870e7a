"""Survivorship and field provenance: which source's value a golden-record field keeps
(most trusted, most recent, fill only), where each value came from on the 360 view, the
rules page, and provenance through merges and unmerges."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from hypothesis import given
from hypothesis import strategies as st

from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import ValidationError
from groupcrm.core.events import outbox_dispatch
from groupcrm.core.testing.battery import ui_client
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import merge
from groupcrm.customers import services as customers
from groupcrm.customers.models import Customer
from groupcrm.integration import services, survivorship
from groupcrm.integration.models import (
    FieldSource,
    ImportJob,
    ImportSource,
    SourceRecord,
    SurvivorshipRule,
)
from groupcrm.integration.survivorship import Strategy, decide

USCC = "91350100M000100Y43"
HEADERS = ["编号", "客户名称", "统一社会信用代码", "网址", "详细地址", "员工人数"]
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def origin(trust: int, at: dt.datetime = T0) -> FieldSource:
    return FieldSource(field="website", trust=trust, at=at)


def import_rows(
    personas: Personas, tmp_path: Path, source: ImportSource, rows: list[list[str]]
) -> ImportJob:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    path = tmp_path / f"{source.name}-{len(list(tmp_path.iterdir()))}.csv"
    path.write_bytes(buffer.getvalue().encode())
    job = services.import_start(
        actor=personas.actor("mfg_manager"),
        source_id=source.pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        path=path,
        filename=path.name,
        run=False,
    )
    return services.import_run(job.pk)


def company(website: str = "", address: str = "", employees: str = "") -> list[str]:
    return ["1", "华润置地有限公司", USCC, website, address, employees]


@pytest.fixture
def two_sources(db: None) -> tuple[ImportSource, ImportSource]:
    erp = ImportSource.objects.create(name="集团ERP", trust=80)
    fxiaoke = ImportSource.objects.create(name="纷享销客", kind="fxiaoke", trust=40)
    return erp, fxiaoke


# --- the pure decision ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "current", "source", "trust", "at", "changes", "won"),
    [
        # An empty field is filled whatever the rule, even from the least trusted source.
        (Strategy.TRUSTED, "", origin(90), 10, T1, {"website": "new"}, {"website"}),
        (Strategy.FILL, "", origin(90), 10, T1, {"website": "new"}, {"website"}),
        (Strategy.RECENT, None, None, 10, T0, {"website": "new"}, {"website"}),
        # TRUSTED: at least as trusted as whoever supplied the current value.
        (Strategy.TRUSTED, "old", origin(50), 40, T1, {}, set()),
        (Strategy.TRUSTED, "old", origin(50), 50, T1, {"website": "new"}, {"website"}),
        (Strategy.TRUSTED, "old", origin(50), 80, T1, {"website": "new"}, {"website"}),
        # No provenance: entered in groupcrm, trusted 100.
        (Strategy.TRUSTED, "old", None, 99, T1, {}, set()),
        (Strategy.TRUSTED, "old", None, 100, T1, {"website": "new"}, {"website"}),
        # RECENT: the newest value, unless the current one is newer than this one.
        (Strategy.RECENT, "old", origin(100, T0), 1, T1, {"website": "new"}, {"website"}),
        (Strategy.RECENT, "old", origin(1, T1), 100, T0, {}, set()),
        # FILL: a value is never replaced.
        (Strategy.FILL, "old", origin(1), 100, T1, {}, set()),
        # The same value from a winning source: nothing to write, the provenance moves.
        (Strategy.TRUSTED, "new", origin(50), 60, T1, {}, {"website"}),
    ],
)
def test_it_decides_each_strategy_as_the_table_says(
    strategy: str,
    current: Any,
    source: FieldSource | None,
    trust: int,
    at: dt.datetime,
    changes: dict[str, Any],
    won: set[str],
) -> None:
    decision = decide(
        current={"website": current},
        origins={"website": source} if source else {},
        incoming={"website": "new"},
        trust=trust,
        at=at,
        rules={"website": strategy},
    )
    assert decision.changes == changes and decision.won == won


def test_it_follows_recent_for_fields_without_a_rule_and_compares_tags_as_sets() -> None:
    decision = decide(
        current={"address": "旧地址", "tags": ["b", "a"]},
        origins={"address": origin(100), "tags": origin(100)},
        incoming={"address": "新地址", "tags": ["a", "b"]},
        trust=1,
        at=T1,
        rules={},
    )
    assert decision.changes == {"address": "新地址"}
    assert decision.won == {"address", "tags"}


@given(
    strategy=st.sampled_from(Strategy.values),
    field=st.sampled_from(survivorship.FIELDS),
    current=st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=5)),
    incoming=st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=5)),
    trust=st.integers(0, 100),
    current_trust=st.one_of(st.none(), st.integers(0, 100)),
)
def test_it_never_empties_never_touches_guarded_fields_and_always_fills(
    strategy: str,
    field: str,
    current: str | None,
    incoming: str | None,
    trust: int,
    current_trust: int | None,
) -> None:
    origins = {} if current_trust is None else {field: origin(current_trust)}
    decision = decide(
        current={field: current},
        origins=origins,
        incoming={field: incoming},
        trust=trust,
        at=T1,
        rules={field: strategy},
    )
    assert set(decision.changes) <= decision.won
    assert all(not survivorship.is_empty(v) for v in decision.changes.values())
    if field in survivorship.GUARDED or survivorship.is_empty(incoming):
        assert not decision.won
    elif survivorship.is_empty(current):
        assert decision.changes == {field: incoming}
    elif strategy == Strategy.FILL:
        assert not decision.won


# --- imports from two sources -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("strategy", "website"),
    [
        (Strategy.TRUSTED, "www.erp.example"),
        (Strategy.RECENT, "www.crm.example"),
        (Strategy.FILL, "www.erp.example"),
    ],
)
def test_it_keeps_the_value_the_rule_picks_when_two_sources_disagree(
    personas: Personas,
    tmp_path: Path,
    two_sources: tuple[ImportSource, ImportSource],
    strategy: str,
    website: str,
) -> None:
    erp, fxiaoke = two_sources
    survivorship.survivorship_rule_set(
        actor=personas.actor("admin"), field="website", strategy=strategy
    )
    import_rows(personas, tmp_path, erp, [company(website="www.erp.example")])
    job = import_rows(
        personas, tmp_path, fxiaoke, [company(website="www.crm.example", address="上海市")]
    )
    land = Customer.objects.get(uscc=USCC)
    # The less trusted CRM fills the empty address under any rule.
    assert (land.website, land.address) == (website, "上海市")
    winner = erp if website == "www.erp.example" else fxiaoke
    sources = survivorship.sources_for([land.pk])[land.pk]
    assert sources["website"].source == winner and sources["address"].source == fxiaoke
    assert sources["address"].record == SourceRecord.objects.get(source=fxiaoke)
    assert sources["legal_name"].source == erp  # created by the ERP row
    assert job.updated == 1 and Customer.objects.count() == 1


@pytest.mark.django_db
def test_it_keeps_a_persons_edit_against_a_less_trusted_import_under_trusted(
    personas: Personas, tmp_path: Path, two_sources: tuple[ImportSource, ImportSource]
) -> None:
    erp, _fxiaoke = two_sources
    SurvivorshipRule.objects.create(field="website", strategy=Strategy.TRUSTED)
    import_rows(personas, tmp_path, erp, [company(website="www.erp.example", employees="10")])
    land = Customer.objects.get(uscc=USCC)
    customers.customer_update(actor=personas.actor("mfg_manager"), pk=land.pk, website="www.cr.cn")
    outbox_dispatch()
    manual = FieldSource.objects.get(customer=land, field="website")
    assert manual.source is None and manual.trust == survivorship.MANUAL_TRUST
    import_rows(personas, tmp_path, erp, [company(website="www.erp2.example", employees="20")])
    outbox_dispatch()
    land.refresh_from_db()
    # The website stays the person's; employees (RECENT) follow the import.
    assert (land.website, land.employees) == ("www.cr.cn", 20)
    assert FieldSource.objects.get(customer=land, field="website").source is None
    # The import's own change is not mistaken for a person's edit.
    assert FieldSource.objects.get(customer=land, field="employees").source == erp


@pytest.mark.django_db
def test_it_writes_no_value_and_no_provenance_for_a_refused_row(
    personas: Personas, tmp_path: Path, two_sources: tuple[ImportSource, ImportSource]
) -> None:
    erp, fxiaoke = two_sources
    import_rows(personas, tmp_path, erp, [company(website="www.erp.example")])
    land = Customer.objects.get(uscc=USCC)
    before = list(FieldSource.objects.filter(customer=land).values_list("field", "source", "at"))
    job = import_rows(
        personas, tmp_path, fxiaoke, [company(website="www.crm.example", employees="很多")]
    )
    assert (job.rejected, job.updated) == (1, 0)
    land.refresh_from_db()
    assert land.website == "www.erp.example"
    after = list(FieldSource.objects.filter(customer=land).values_list("field", "source", "at"))
    assert after == before


@pytest.mark.django_db
def test_it_upserts_a_batch_of_provenance_in_one_statement_last_entry_winning(
    two_sources: tuple[ImportSource, ImportSource], django_assert_num_queries: Any
) -> None:
    erp, fxiaoke = two_sources
    a = customers.customer_create(
        actor=Actor.system("tests"), legal_name="甲公司", start_relationship=False
    )
    b = customers.customer_create(
        actor=Actor.system("tests"), legal_name="乙公司", start_relationship=False
    )
    now = timezone.now()
    survivorship.remember(
        survivorship.claims(a.pk, ["website"], source=erp, record_id=None, at=now)
    )
    with django_assert_num_queries(1):
        survivorship.remember(
            survivorship.claims(a.pk, ["website", "address"], source=erp, record_id=None, at=now)
            + survivorship.claims(b.pk, ["website"], source=erp, record_id=None, at=now)
            + survivorship.claims(a.pk, ["website"], source=fxiaoke, record_id=None, at=now)
        )
    with django_assert_num_queries(1):
        found = survivorship.sources_for([a.pk, b.pk])
    assert found[a.pk]["website"].source_id == fxiaoke.pk
    assert found[a.pk]["website"].trust == 40 and found[a.pk]["address"].trust == 80
    assert set(found[b.pk]) == {"website"}


# --- the 360 view ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_360_page_and_api_say_where_each_value_came_from(
    personas: Personas, tmp_path: Path, two_sources: tuple[ImportSource, ImportSource]
) -> None:
    _erp, fxiaoke = two_sources
    import_rows(personas, tmp_path, fxiaoke, [company(website="www.crm.example")])
    land = Customer.objects.get(uscc=USCC)
    customers.customer_update(actor=personas.actor("mfg_manager"), pk=land.pk, address="上海市")
    outbox_dispatch()
    client = ui_client(personas, "mfg_manager")
    html = client.get(reverse("customers:detail", args=[land.pk])).content.decode()
    day = timezone.localdate().isoformat()
    website = re.search(r'data-origin="website">([^<]*)<', html)
    address = re.search(r'data-origin="address">([^<]*)<', html)
    assert website and "纷享销客" in website.group(1) and day in website.group(1)
    assert address and "纷享销客" not in address.group(1) and day in address.group(1)
    assert 'data-origin="annual_revenue"' not in html  # no value, no note
    auth = {"HTTP_AUTHORIZATION": f"Bearer {personas.token('mfg_manager')}"}
    data = client.get(f"/api/v1/customers/{land.pk}/view360", **auth).json()
    assert data["field_sources"]["website"]["source"] == "纷享销客"
    assert data["field_sources"]["address"]["source"] is None
    assert "annual_revenue" not in data["field_sources"]


# --- the rules page ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_rules_page_sets_a_rule_and_a_trust_with_an_audit_record(
    personas: Personas, two_sources: tuple[ImportSource, ImportSource]
) -> None:
    erp, _fxiaoke = two_sources
    FieldSource.objects.create(
        customer=customers.customer_create(
            actor=Actor.system("tests"), legal_name="甲公司", start_relationship=False
        ),
        field="website",
        source=erp,
        trust=80,
        at=timezone.now(),
    )
    client = ui_client(personas, "admin")
    page = client.get(reverse("integration:rules"))
    assert page.status_code == 200
    assert b'data-field="website"' in page.content and "集团ERP" in page.content.decode()
    assert reverse("integration:rules").encode() in client.get(reverse("integration:jobs")).content
    response = client.post(
        reverse("integration:rules"), {"field": "website", "strategy": Strategy.TRUSTED}
    )
    assert response.status_code == 302
    assert SurvivorshipRule.objects.get(field="website").strategy == Strategy.TRUSTED
    assert ChangeRecord.objects.filter(object_type="integration.survivorshiprule").exists()
    response = client.post(reverse("integration:source_trust", args=[erp.pk]), {"trust": "95"})
    assert response.status_code == 302
    erp.refresh_from_db()
    assert erp.trust == 95 and FieldSource.objects.get(source=erp).trust == 95


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"field": "favourite_colour", "strategy": "trusted"}, "field"),
        ({"field": "legal_name", "strategy": "recent"}, "field"),  # four-eyes only
        ({"field": "website", "strategy": "loudest"}, "strategy"),
    ],
)
def test_the_rules_page_refuses_an_unknown_field_or_strategy_and_writes_nothing(
    personas: Personas, data: dict[str, str], field: str
) -> None:
    client = ui_client(personas, "admin")
    response = client.post(reverse("integration:rules"), data)
    assert response.status_code == 422
    with translation.override("zh-hans"):
        message = gettext(
            "Choose one of the offered fields."
            if field == "field"
            else "Choose one of the offered values."
        )
    assert message in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        survivorship.survivorship_rule_set(actor=personas.actor("admin"), **data)
    assert field in refused.value.fields
    assert not SurvivorshipRule.objects.exists()
    assert not ChangeRecord.objects.filter(object_type="integration.survivorshiprule").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("trust", ["abc", "101", "-1", ""])
def test_a_trust_outside_0_to_100_is_refused(
    personas: Personas, two_sources: tuple[ImportSource, ImportSource], trust: str
) -> None:
    erp, _fxiaoke = two_sources
    client = ui_client(personas, "admin")
    response = client.post(reverse("integration:source_trust", args=[erp.pk]), {"trust": trust})
    assert response.status_code == 422
    with translation.override("zh-hans"):
        assert gettext("Enter a whole number from 0 to 100.") in response.content.decode()
    erp.refresh_from_db()
    assert erp.trust == 80


@pytest.mark.django_db
def test_the_rules_page_needs_integration_admin(
    personas: Personas, two_sources: tuple[ImportSource, ImportSource]
) -> None:
    erp, _fxiaoke = two_sources
    am = ui_client(personas, "mfg_am")
    assert am.get(reverse("integration:rules")).status_code == 403
    assert (
        am.post(reverse("integration:rules"), {"field": "website", "strategy": "fill"}).status_code
        == 403
    )
    trust = am.post(reverse("integration:source_trust", args=[erp.pk]), {"trust": "1"})
    assert trust.status_code == 403
    assert not SurvivorshipRule.objects.exists()
    erp.refresh_from_db()
    assert erp.trust == 80
    admin = ui_client(personas, "admin")
    response = admin.post(reverse("integration:source_trust", args=[999999]), {"trust": "1"})
    assert response.status_code == 404


# --- merges --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_merged_values_bring_their_provenance_and_an_unmerge_takes_it_back(
    personas: Personas, tmp_path: Path, two_sources: tuple[ImportSource, ImportSource]
) -> None:
    erp, _fxiaoke = two_sources
    import_rows(personas, tmp_path, erp, [company(address="上海市浦东新区张江路88号")])
    loser = Customer.objects.get(uscc=USCC)
    survivor = customers.customer_create(
        actor=Actor.system("tests"),
        legal_name="华润置地股份有限公司",
        address="旧地址",
        start_relationship=False,
        similar_override_reason="t",
    )
    # A person empties the survivor's address: that empty value is theirs.
    customers.customer_update(actor=personas.actor("admin"), pk=survivor.pk, address="")
    outbox_dispatch()
    emptied = FieldSource.objects.get(customer=survivor, field="address")
    assert emptied.source is None
    record = merge.customer_merge(
        actor=personas.actor("admin"), survivor_id=survivor.pk, loser_ids=[loser.pk]
    )
    survivor.refresh_from_db()
    assert survivor.address == "上海市浦东新区张江路88号"
    moved = FieldSource.objects.get(customer=survivor, field="address")
    assert moved.source == erp and moved.record == SourceRecord.objects.get(source=erp)
    assert FieldSource.objects.get(customer=loser, field="address").source == erp
    merge.customer_unmerge(actor=personas.actor("admin"), merge_id=record.pk)
    survivor.refresh_from_db()
    assert survivor.address == ""
    back = FieldSource.objects.get(customer=survivor, field="address")
    assert (back.source, back.at) == (None, emptied.at)
    assert FieldSource.objects.get(customer=loser, field="address").source == erp


@pytest.mark.django_db
def test_a_later_row_of_a_record_created_in_the_same_batch_competes_with_its_source(
    personas: Personas, tmp_path: Path, two_sources: tuple[ImportSource, ImportSource]
) -> None:
    _erp, fxiaoke = two_sources
    SurvivorshipRule.objects.create(field="website", strategy=Strategy.TRUSTED)
    SurvivorshipRule.objects.create(field="address", strategy=Strategy.FILL)
    job = import_rows(
        personas,
        tmp_path,
        fxiaoke,
        [company(website="www.one.example", address="北京市"), company(website="www.two.example")],
    )
    land = Customer.objects.get(uscc=USCC)
    # Same source, same trust: the later row wins; it has no address, the first one stays.
    assert (land.website, land.address) == ("www.two.example", "北京市")
    assert job.created == 1 and Customer.objects.count() == 1
    assert {f.source for f in FieldSource.objects.filter(customer=land)} == {fxiaoke}
