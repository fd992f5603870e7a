"""Sales across the group (point 4): product catalogues per unit, price lists, quotes with
versions, discount approval through groupcrm.approvals and the printable quote and PDF —
through the services, the pages and the API."""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from groupcrm.approvals import services as approval_services
from groupcrm.approvals.models import ApprovalRequest
from groupcrm.audit.models import ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, PermissionDenied, ValidationError
from groupcrm.core.models import OutboxEvent
from groupcrm.core.testing.battery import ScopedBattery, ui_client
from groupcrm.core.testing.battery import api_client as api
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services as customer_services
from groupcrm.customers.normalize import make_uscc
from groupcrm.sales import services as sales_services
from groupcrm.sales.models import Opportunity
from groupcrm.sales.quotes import selectors, services
from groupcrm.sales.quotes.models import PriceList, Product, Quote, QuoteLine, QuoteSequence
from groupcrm.sales.quotes.money import amount_in_words, effective_discount, line_amount, totals
from groupcrm.sales.quotes.pdf import quote_pdf

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
BASE = "/api/v1/sales/quotes"
NAMES = iter(f"华夏报价测试客户{n:04d}有限公司" for n in range(10_000))


def opportunity(personas: Personas, unit: str = "mfg", owner: str = "mfg_am") -> Opportunity:
    customer = customer_services.customer_create(
        actor=SYSTEM,
        legal_name=next(NAMES),
        uscc=make_uscc(random.Random()),
        start_relationship=False,
        similar_override_reason="test data",
    )
    return sales_services.opportunity_create(
        actor=personas.actor(owner),
        customer_id=customer.pk,
        bu_id=personas.units[unit].pk,
        name="智能产线改造",
        amount="500000",
        expected_close=timezone.localdate() + dt.timedelta(days=30),
    )


def product(
    personas: Personas, unit: str = "mfg", code: str = "MX-100", price: str = "1000", **kw: Any
) -> Product:
    return services.product_create(
        actor=personas.actor("admin"),
        bu_id=personas.units[unit].pk,
        code=code,
        name=kw.pop("name", "五轴加工中心"),
        unit_of_measure=kw.pop("unit_of_measure", "台"),
        list_price=price,
        tax_rate=kw.pop("tax_rate", "13"),
        **kw,
    )


def quote(
    personas: Personas,
    unit: str = "mfg",
    owner: str = "mfg_am",
    *,
    lines: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> Quote:
    opp = opportunity(personas, unit, owner)
    item = Product.objects.filter(bu=personas.units[unit]).first() or product(personas, unit)
    return services.quote_create(
        actor=personas.actor(owner),
        opportunity_id=opp.pk,
        lines=lines if lines is not None else [{"product_id": item.pk, "quantity": "2"}],
        **kw,
    )


def pdf_text(data: bytes) -> str:
    """The text shown by the PDF's (uncompressed) content: STSong-Light strings are
    UTF-16BE inside PDF string literals."""
    out = []
    for match in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", data, re.S):
        raw, escaped = bytearray(), match.group(1)
        i = 0
        while i < len(escaped):
            byte = escaped[i]
            if byte == 0x5C:  # backslash
                nxt = escaped[i + 1 : i + 4]
                octal = re.match(rb"[0-7]{1,3}", nxt)
                if octal:
                    raw.append(int(octal.group(0), 8))
                    i += 1 + len(octal.group(0))
                    continue
                raw.append({ord("n"): 10, ord("r"): 13, ord("t"): 9}.get(nxt[0], nxt[0]))
                i += 2
                continue
            raw.append(byte)
            i += 1
        out.append(bytes(raw).decode("utf-16-be", errors="replace"))
    return "".join(out)


def counts() -> tuple[int, ...]:
    return (
        Quote.objects.count(),
        QuoteLine.objects.count(),
        ChangeRecord.objects.count(),
        OutboxEvent.objects.count(),
    )


# --- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"),
        ("0", "零元整"),
        ("100", "壹佰元整"),
        ("100.50", "壹佰元伍角整"),
        ("100.05", "壹佰元零伍分"),
        ("10005", "壹万零伍元整"),
        ("100000", "壹拾万元整"),
        ("10000500", "壹仟万零伍佰元整"),
        ("100000005", "壹亿零伍元整"),
        ("0.05", "伍分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("1000000000000", "壹万亿元整"),
        ("99999999999999.99", "玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("2.345", "贰元叁角伍分"),  # half up to the fen
    ],
)
def test_amounts_read_in_chinese_capitals(amount: str, words: str) -> None:
    assert amount_in_words(Decimal(amount)) == words


def test_totals_round_half_up_and_tax_goes_per_rate() -> None:
    assert line_amount(Decimal("3"), Decimal("33.33"), Decimal("10")) == Decimal("89.99")
    assert line_amount(Decimal("1"), Decimal("0.05"), Decimal("50")) == Decimal("0.03")
    result = totals(
        [(Decimal("1000.00"), Decimal("13")), (Decimal("500.00"), Decimal("6"))], Decimal("10")
    )
    assert result.subtotal == Decimal("1500.00")
    assert result.net_total == Decimal("1350.00")
    assert result.discount_amount == Decimal("150.00")
    assert result.tax_total == Decimal("117.00") + Decimal("27.00")
    assert result.gross_total == result.net_total + result.tax_total
    assert effective_discount(Decimal(100), Decimal(90), Decimal(10), Decimal(0)) == Decimal(19)
    assert effective_discount(Decimal(0), Decimal(90), Decimal(0), Decimal(0)) == 0


# --- the permission battery --------------------------------------------------------------


class TestQuotePermissions(ScopedBattery):
    model = Quote
    ui_list = "quotes:list"
    ui_detail = "quotes:detail"
    ui_edit = "quotes:edit"
    ui_delete = "quotes:delete"
    api_base = BASE
    api_patch = {"terms": "付款方式：合同签订后预付30%。"}

    def make(self, personas: Personas, unit: str, owner: str) -> Quote:
        return quote(personas, unit, owner)

    def edit_form(self, row: Any) -> dict[str, Any]:
        line = row.lines.first()
        return {
            "valid_until": (timezone.localdate() + dt.timedelta(days=20)).isoformat(),
            "discount_percent": "0",
            "terms": "改过的条款",
            "notes": "",
            "lines-0-product_id": str(line.product_id) if line else "",
            "lines-0-quantity": "3",
        }


@pytest.mark.django_db
def test_the_catalogue_is_inherited_down_the_tree_and_managed_only_by_admins(
    personas: Personas,
) -> None:
    group = product(personas, "hx", "HX-1", name="集团服务包")
    mfg = product(personas, "mfg", "MX-1")
    team = product(personas, "mfg-sh", "SH-1", name="上海专属")
    fin = product(personas, "fin", "FN-1", name="供应链融资")
    seen = {p.pk for p in selectors.product_list(actor=personas.actor("sh_am"))}
    assert seen == {group.pk, mfg.pk, team.pk}
    seen = {p.pk for p in selectors.product_list(actor=personas.actor("mfg_am"))}
    assert seen == {group.pk, mfg.pk}
    assert fin.pk not in {p.pk for p in selectors.product_list(actor=personas.actor("mfg_am"))}
    catalogue = set(selectors.catalogue_for(personas.units["mfg-sh"]).values_list("pk", flat=True))
    assert catalogue == {group.pk, mfg.pk, team.pk}
    with pytest.raises(PermissionDenied):
        services.product_update(actor=personas.actor("mfg_am"), pk=mfg.pk, name="改名")
    with pytest.raises(ValidationError):  # the manager administers mfg, not the group
        services.product_create(
            actor=personas.actor("mfg_manager"),
            bu_id=personas.units["hx"].pk,
            code="X",
            name="X",
            unit_of_measure="套",
            list_price="1",
            tax_rate="13",
        )
    api_, auth = api(personas, "mfg_manager")
    assert api_.get(f"/api/v1/sales/products/{group.pk}", **auth).status_code == 200
    response = api_.patch(
        f"/api/v1/sales/products/{group.pk}",
        {"name": "改名"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 404  # seen through inheritance, not administered


@pytest.mark.django_db
def test_a_product_code_is_unique_per_unit_and_bad_input_names_the_field(
    personas: Personas,
) -> None:
    product(personas, "mfg", "MX-1")
    product(personas, "fin", "MX-1")  # another unit may use the code
    with pytest.raises(ValidationError) as exc:
        product(personas, "mfg", "mx-1")
    assert exc.value.code == "duplicate_code"
    for field, value in (("list_price", "-1"), ("list_price", "abc"), ("tax_rate", "101")):
        with pytest.raises(ValidationError) as exc:
            product(personas, "mfg", "MX-2", **{"price" if field == "list_price" else field: value})
        assert field in exc.value.fields
    api_, auth = api(personas, "admin")
    response = api_.post(
        "/api/v1/sales/products",
        {
            "bu_id": personas.units["mfg"].pk,
            "code": "API-1",
            "name": "工业机器人",
            "unit_of_measure": "台",
            "list_price": "NaN",
            "tax_rate": "13",
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert not Product.objects.filter(code="API-1").exists()


# --- price lists --------------------------------------------------------------------------


@pytest.mark.django_db
def test_overlapping_price_lists_of_one_unit_are_refused_clearly(personas: Personas) -> None:
    item = product(personas)
    admin = personas.actor("admin")
    unit = personas.units["mfg"].pk
    services.price_list_create(
        actor=admin,
        bu_id=unit,
        name="2026 价目表",
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2026, 12, 31),
        items=[{"product_id": item.pk, "unit_price": "900"}],
    )
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.price_list_create(
            actor=admin, bu_id=unit, name="年中促销", valid_from=dt.date(2026, 6, 1)
        )
    assert exc.value.code == "price_list_overlap"
    assert "2026 价目表" in str(exc.value.message) and "overlap" in str(exc.value.message)
    # Another unit, an inactive list, or the next year are fine.
    services.price_list_create(
        actor=admin, bu_id=personas.units["fin"].pk, name="金融", valid_from=dt.date(2026, 6, 1)
    )
    services.price_list_create(
        actor=admin, bu_id=unit, name="草稿", valid_from=dt.date(2026, 6, 1), is_active=False
    )
    later = services.price_list_create(
        actor=admin, bu_id=unit, name="2027", valid_from=dt.date(2027, 1, 1)
    )
    # Moving the later one into 2026 overlaps too, through the API as well.
    api_, auth = api(personas, "admin")
    response = api_.patch(
        f"/api/v1/sales/price-lists/{later.pk}",
        {"valid_from": "2026-12-01"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and response.json()["code"] == "price_list_overlap"
    later.refresh_from_db()
    assert later.valid_from == dt.date(2027, 1, 1)
    with pytest.raises(ValidationError) as exc:
        services.price_list_create(
            actor=admin,
            bu_id=unit,
            name="倒序",
            valid_from=dt.date(2030, 2, 1),
            valid_to=dt.date(2030, 1, 1),
        )
    assert "valid_to" in exc.value.fields


@pytest.mark.django_db
def test_a_quote_takes_the_price_list_valid_on_its_date_else_the_list_price(
    personas: Personas,
) -> None:
    listed = product(personas, "mfg", "MX-1", price="1000")
    unlisted = product(personas, "mfg", "MX-2", price="250")
    inherited = product(personas, "hx", "HX-1", price="80", tax_rate="6")
    admin = personas.actor("admin")
    today = timezone.localdate()
    services.price_list_create(
        actor=admin,
        bu_id=personas.units["mfg"].pk,
        name="当期价目表",
        valid_from=today - dt.timedelta(days=10),
        valid_to=today + dt.timedelta(days=10),
        items=[{"product_id": listed.pk, "unit_price": "920"}],
    )
    services.price_list_create(
        actor=admin,
        bu_id=personas.units["mfg"].pk,
        name="过期价目表",
        valid_from=today - dt.timedelta(days=100),
        valid_to=today - dt.timedelta(days=11),
        items=[{"product_id": unlisted.pk, "unit_price": "1"}],
    )
    services.price_list_create(
        actor=admin,
        bu_id=personas.units["hx"].pk,
        name="集团价目表",
        valid_from=today - dt.timedelta(days=1),
        items=[{"product_id": inherited.pk, "unit_price": "75"}],
    )
    row = quote(
        personas,
        "mfg-sh",
        "sh_am",
        lines=[
            {"product_id": listed.pk, "quantity": "2"},
            {"product_id": unlisted.pk, "quantity": "1.5", "discount_percent": "10"},
            {"product_id": inherited.pk, "quantity": "10", "unit_price": "70"},
        ],
    )
    lines = list(row.lines.order_by("position"))
    assert [ln.unit_price for ln in lines] == [Decimal("920"), Decimal("250"), Decimal("70")]
    assert [ln.reference_price for ln in lines] == [Decimal(920), Decimal(250), Decimal(75)]
    assert [ln.net_amount for ln in lines] == [Decimal("1840"), Decimal("337.50"), Decimal(700)]
    assert lines[2].tax_rate == Decimal(6) and lines[2].effective_discount == Decimal("6.67")
    assert row.subtotal == Decimal("2877.50")
    # Tax per rate: 13% of 2177.50 is 283.075, half up 283.08; 6% of 700 is 42.00.
    assert row.tax_total == Decimal("325.08")
    assert row.gross_total == row.net_total + row.tax_total


# --- quotes: create and bad input ------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_a_numbered_draft_following_the_opportunity(personas: Personas) -> None:
    services.quote_settings_set(
        actor=personas.actor("admin"), bu_id=personas.units["mfg"].pk, number_prefix="bj"
    )
    row = quote(personas, "mfg-sh", "sh_am")
    year = timezone.localdate().year
    assert row.number == f"BJ-{year}-000001" and row.version == 1
    assert (row.bu_id, row.owner_id, row.customer_id) == (
        row.opportunity.bu_id,
        row.opportunity.owner_id,
        row.opportunity.customer_id,
    )
    assert row.status == Quote.Status.DRAFT
    assert row.valid_until == row.quote_date + dt.timedelta(days=30)
    assert quote(personas, "mfg", "mfg_am").number == f"BJ-{year}-000002"
    assert quote(personas, "fin", "fin_am").number == f"FIN-{year}-000001"
    assert OutboxEvent.objects.filter(name="quotes.quote_created").count() == 3
    assert ChangeRecord.objects.filter(object_type="quotes.quote", action="create").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-2"}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "1.234"}, "quantity"),
        ({"quantity": ""}, "quantity"),
        ({"discount_percent": "100.01"}, "discount_percent"),
        ({"discount_percent": "-1"}, "discount_percent"),
        ({"discount_percent": "Infinity"}, "discount_percent"),
        ({"unit_price": "-0.01"}, "unit_price"),
        ({"unit_price": "1e3x"}, "unit_price"),
        ({"tax_rate": "300"}, "tax_rate"),
    ],
)
def test_bad_lines_are_refused_naming_the_line_and_field_and_write_nothing(
    personas: Personas, line: dict[str, Any], field: str
) -> None:
    opp = opportunity(personas)
    item = product(personas)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.quote_create(
            actor=personas.actor("mfg_am"),
            opportunity_id=opp.pk,
            lines=[
                {"product_id": item.pk, "quantity": "1"},
                {"product_id": item.pk, "quantity": "1", **line},
            ],
        )
    assert list(exc.value.fields) == [f"lines.1.{field}"]
    assert counts() == before
    assert not QuoteSequence.objects.filter(last__gt=0).exists()


@pytest.mark.django_db
def test_a_product_of_another_unit_or_an_inactive_one_is_refused(personas: Personas) -> None:
    opp = opportunity(personas)
    fin_product = product(personas, "fin", "FN-1")
    team_product = product(personas, "mfg-sh", "SH-1")  # below mfg: not mfg's catalogue
    old = product(personas, "mfg", "OLD", is_active=False)
    with pytest.raises(ValidationError) as exc:
        services.quote_create(
            actor=personas.actor("mfg_am"),
            opportunity_id=opp.pk,
            lines=[
                {"product_id": fin_product.pk, "quantity": "1"},
                {"product_id": team_product.pk, "quantity": "1"},
                {"product_id": old.pk, "quantity": "1"},
                {"product_id": 999_999, "quantity": "1"},
            ],
        )
    assert set(exc.value.fields) == {f"lines.{i}.product_id" for i in range(4)}
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_an_opportunity_out_of_scope_or_closed_gets_no_quote(personas: Personas) -> None:
    opp = opportunity(personas, "mfg", "mfg_am2")
    product(personas)
    with pytest.raises(ValidationError) as exc:
        services.quote_create(actor=personas.actor("mfg_am"), opportunity_id=opp.pk)
    assert "opportunity_id" in exc.value.fields
    with pytest.raises(ValidationError):
        services.quote_create(actor=personas.actor("fin_manager"), opportunity_id=opp.pk)
    with pytest.raises(PermissionDenied):
        services.quote_create(actor=personas.actor("nobody"), opportunity_id=opp.pk)
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_header_bad_input_is_refused(personas: Personas) -> None:
    opp = opportunity(personas)
    today = timezone.localdate()
    for kwargs, field in (
        ({"discount_percent": "120"}, "discount_percent"),
        ({"discount_percent": "-5"}, "discount_percent"),
        ({"valid_until": today - dt.timedelta(days=1)}, "valid_until"),
        ({"valid_until": today + dt.timedelta(days=400)}, "valid_until"),
        ({"terms": "条" * 4001}, "terms"),
    ):
        with pytest.raises(ValidationError) as exc:
            services.quote_create(actor=personas.actor("mfg_am"), opportunity_id=opp.pk, **kwargs)
        assert field in exc.value.fields, kwargs
    assert not Quote.objects.exists()


# --- quotes: the flow ----------------------------------------------------------------------


@pytest.mark.django_db
def test_within_the_threshold_submitting_approves_and_sending_follows(
    personas: Personas,
) -> None:
    row = quote(personas)
    item = row.lines.first().product
    services.quote_update(
        actor=personas.actor("mfg_am"),
        pk=row.pk,
        lines=[{"product_id": item.pk, "quantity": "2", "discount_percent": "15"}],
    )
    row = services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk)
    assert row.status == Quote.Status.APPROVED and row.approval is None
    assert not ApprovalRequest.objects.exists()
    row = services.quote_send(actor=personas.actor("mfg_am"), pk=row.pk)
    assert row.status == Quote.Status.SENT and row.sent_at is not None
    assert OutboxEvent.objects.filter(name="quotes.quote_sent").count() == 1


@pytest.mark.django_db
def test_editing_a_non_draft_or_sending_before_approval_is_a_409(personas: Personas) -> None:
    row = quote(personas)
    with pytest.raises(Conflict) as exc:
        services.quote_send(actor=personas.actor("mfg_am"), pk=row.pk)
    assert exc.value.code == "wrong_status"
    item = row.lines.first().product
    services.quote_update(
        actor=personas.actor("mfg_am"),
        pk=row.pk,
        lines=[{"product_id": item.pk, "quantity": "2", "discount_percent": "30"}],
    )
    row = services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk, reason="战略客户")
    assert row.status == Quote.Status.PENDING
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.quote_update(actor=personas.actor("mfg_am"), pk=row.pk, terms="偷偷改")
    assert exc.value.code == "not_editable"
    with pytest.raises(Conflict):
        services.quote_send(actor=personas.actor("mfg_am"), pk=row.pk)
    assert counts() == before
    api_, auth = api(personas, "mfg_am")
    response = api_.post(f"{BASE}/{row.pk}/send", **auth)
    assert response.status_code == 409 and response.json()["code"] == "wrong_status"
    response = api_.patch(
        f"{BASE}/{row.pk}", {"terms": "x"}, content_type="application/json", **auth
    )
    assert response.status_code == 409 and response.json()["code"] == "not_editable"
    client = ui_client(personas, "mfg_am")
    response = client.get(reverse("quotes:edit", args=[row.pk]))
    assert response.status_code == 302
    assert Quote.objects.get(pk=row.pk).terms == ""


@pytest.mark.django_db
def test_a_discount_above_the_threshold_goes_through_approvals_with_four_eyes(
    personas: Personas,
) -> None:
    services.quote_settings_set(
        actor=personas.actor("admin"), bu_id=personas.units["hx"].pk, discount_threshold="10"
    )
    assert selectors.threshold_for(personas.units["mfg-sh"]) == Decimal(10)
    row = quote(personas, discount_percent="12")
    row = services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk, reason="年度框架")
    request = row.approval
    assert row.status == Quote.Status.PENDING and request.kind == "quotes.discount"
    assert request.bu_id == personas.units["mfg"].pk
    assert request.payload["max_discount"] == "12.00" and request.payload["threshold"] == "10.00"
    # The requester cannot decide; an account manager has no approvals permission at all.
    with pytest.raises(PermissionDenied):
        approval_services.approval_decide(
            actor=personas.actor("mfg_am"), pk=request.pk, decision="approve"
        )
    approval_services.approval_decide(
        actor=personas.actor("mfg_manager"), pk=request.pk, decision="approve", comment="同意"
    )
    row.refresh_from_db()
    assert (row.status, row.approval_comment) == (Quote.Status.APPROVED, "同意")
    assert OutboxEvent.objects.filter(name="quotes.quote_approved").count() == 1
    services.quote_send(actor=personas.actor("mfg_am"), pk=row.pk)


@pytest.mark.django_db
def test_a_rejected_or_withdrawn_discount_sends_the_quote_back_to_draft(
    personas: Personas,
) -> None:
    row = quote(personas, discount_percent="40")
    row = services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk)
    approval_services.approval_decide(
        actor=personas.actor("mfg_lead"), pk=row.approval_id, decision="reject", comment="太低"
    )
    row.refresh_from_db()
    assert (row.status, row.approval_comment) == (Quote.Status.DRAFT, "太低")
    page = ui_client(personas, "mfg_am").get(reverse("quotes:detail", args=[row.pk]))
    assert "太低" in page.content.decode()
    row = services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk)
    first = row.approval_id
    row = services.quote_withdraw(actor=personas.actor("mfg_am"), pk=row.pk)
    assert row.status == Quote.Status.DRAFT
    assert ApprovalRequest.objects.get(pk=first).status == "withdrawn"


@pytest.mark.django_db
def test_a_unit_price_below_the_reference_counts_as_discount(personas: Personas) -> None:
    item = product(personas, price="1000")
    row = quote(personas, lines=[{"product_id": item.pk, "quantity": "1", "unit_price": "800"}])
    assert row.max_discount == Decimal("20.00")
    row = services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk)
    assert row.status == Quote.Status.PENDING


@pytest.mark.django_db
def test_revising_makes_a_new_draft_version_and_keeps_the_old_read_only(
    personas: Personas,
) -> None:
    row = quote(personas)
    services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk)
    services.quote_send(actor=personas.actor("mfg_am"), pk=row.pk)
    v2 = services.quote_revise(actor=personas.actor("mfg_am"), pk=row.pk)
    row.refresh_from_db()
    assert (v2.number, v2.version, v2.status) == (row.number, 2, Quote.Status.DRAFT)
    assert row.status == Quote.Status.SUPERSEDED
    assert v2.lines.count() == row.lines.count() == 1
    with pytest.raises(Conflict):
        services.quote_update(actor=personas.actor("mfg_am"), pk=row.pk, terms="x")
    with pytest.raises(Conflict):
        services.quote_revise(actor=personas.actor("mfg_am"), pk=row.pk)
    with pytest.raises(Conflict):
        services.quote_delete(actor=personas.actor("mfg_am"), pk=v2.pk)
    services.quote_update(actor=personas.actor("mfg_am"), pk=v2.pk, terms="第二版")
    api_, auth = api(personas, "mfg_am")
    assert [q["id"] for q in api_.get(BASE, **auth).json()["items"]] == [v2.pk]
    detail = api_.get(f"{BASE}/{v2.pk}", **auth).json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["terms"] == "第二版" and detail["lines"][0]["quantity"] == "2.00"
    page = ui_client(personas, "mfg_am").get(reverse("quotes:detail", args=[row.pk]))
    assert b'data-testid="versions"' in page.content and b"v2" in page.content


@pytest.mark.django_db
def test_accepting_can_set_the_opportunitys_amount_with_its_version(personas: Personas) -> None:
    row = quote(personas)
    services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk)
    services.quote_send(actor=personas.actor("mfg_am"), pk=row.pk)
    opp = row.opportunity
    with pytest.raises(Conflict) as exc:
        services.quote_accept(
            actor=personas.actor("mfg_am"),
            pk=row.pk,
            update_opportunity=True,
            opportunity_version=opp.version + 5,
        )
    assert exc.value.code == "stale"
    assert Quote.objects.get(pk=row.pk).status == Quote.Status.SENT
    row = services.quote_accept(
        actor=personas.actor("mfg_am"),
        pk=row.pk,
        update_opportunity=True,
        opportunity_version=opp.version,
    )
    opp.refresh_from_db()
    assert row.status == Quote.Status.ACCEPTED and opp.amount == row.gross_total
    assert opp.version == 2


@pytest.mark.django_db
def test_a_sent_quote_past_its_validity_expires(personas: Personas) -> None:
    row = quote(personas)
    services.quote_submit(actor=personas.actor("mfg_am"), pk=row.pk)
    services.quote_send(actor=personas.actor("mfg_am"), pk=row.pk)
    later = row.valid_until + dt.timedelta(days=1)
    assert services.quotes_expire(actor=SYSTEM, today=row.valid_until) == 0
    assert services.quotes_expire(actor=SYSTEM, today=later) == 1
    row.refresh_from_db()
    assert row.status == Quote.Status.EXPIRED
    assert services.quote_revise(actor=personas.actor("mfg_am"), pk=row.pk).version == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_quotes_never_share_a_number(personas: Personas) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    item = product(personas)
    opps = [opportunity(personas) for _ in range(4)]
    barrier = threading.Barrier(len(opps))
    numbers: list[str] = []

    def create(opp_id: int) -> None:
        barrier.wait()
        try:
            row = services.quote_create(
                actor=personas.actor("mfg_am"),
                opportunity_id=opp_id,
                lines=[{"product_id": item.pk, "quantity": "1"}],
            )
            numbers.append(row.number)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(o.pk,)) for o in opps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(numbers)) == 4 and QuoteSequence.objects.get().last == 4


# --- the PDF and the print view -----------------------------------------------------------


@pytest.mark.django_db
def test_the_pdf_is_chinese_with_the_number_totals_and_amount_in_words(
    personas: Personas,
) -> None:
    item = product(personas, price="6172.84")
    row = quote(
        personas,
        lines=[{"product_id": item.pk, "quantity": "2"}],
        terms="交货期：合同签订后30天",
    )
    data = quote_pdf(row, selectors.quote_lines(row), compress=False)
    assert data.startswith(b"%PDF")
    assert b"STSong-Light" in data
    text = pdf_text(data)
    assert row.number in text and row.customer.legal_name in text
    assert "华夏控股 · 华夏制造" in text and "五轴加工中心" in text
    assert f"{row.gross_total:,.2f}" in text and amount_in_words(row.gross_total) in text
    assert "交货期：合同签订后30天" in text
    response = ui_client(personas, "mfg_am").get(reverse("quotes:pdf", args=[row.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"{row.number}-v1.pdf" in response["Content-Disposition"]
    api_, auth = api(personas, "mfg_am")
    assert api_.get(f"{BASE}/{row.pk}/pdf", **auth).content.startswith(b"%PDF")
    fin, fin_auth = api(personas, "fin_am")
    assert fin.get(f"{BASE}/{row.pk}/pdf", **fin_auth).status_code == 404


@pytest.mark.django_db
def test_the_print_view_is_a_clean_a4_page(personas: Personas) -> None:
    row = quote(personas)
    page = ui_client(personas, "mfg_am").get(reverse("quotes:print", args=[row.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "@media print" in html and "size: A4" in html and 'class="navbar' not in html
    assert row.number in html and amount_in_words(row.gross_total) in html


# --- the pages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_builds_a_quote_and_shows_line_errors_in_place(personas: Personas) -> None:
    opp = opportunity(personas)
    item = product(personas)
    client = ui_client(personas, "mfg_am")
    url = reverse("quotes:create") + f"?opportunity={opp.pk}"
    page = client.get(url)
    assert page.status_code == 200 and item.code in page.content.decode()
    with translation.override("en"):
        response = client.post(
            url,
            {
                "discount_percent": "0",
                "lines-0-product_id": str(item.pk),
                "lines-0-quantity": "0",
                "lines-1-product_id": "",
                "lines-1-quantity": "",
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 200
    assert 'data-field="quantity"' in response.content.decode()
    assert not Quote.objects.exists()
    response = client.post(
        url,
        {
            "discount_percent": "5",
            "lines-0-product_id": str(item.pk),
            "lines-0-quantity": "3",
            "lines-0-discount_percent": "2.5",
        },
    )
    row = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "quotes:detail", args=[row.pk]
    )
    assert row.discount_percent == Decimal(5) and row.lines.get().quantity == Decimal(3)
    detail = client.get(response["Location"]).content.decode()
    assert row.number in detail and amount_in_words(row.gross_total) in detail


@pytest.mark.django_db
def test_the_ui_walks_the_flow_with_buttons(personas: Personas) -> None:
    row = quote(personas, discount_percent="50")
    am = ui_client(personas, "mfg_am")
    am.post(reverse("quotes:submit", args=[row.pk]), {"reason": "清库存"})
    row.refresh_from_db()
    assert row.status == Quote.Status.PENDING and row.approval.reason == "清库存"
    response = am.post(reverse("quotes:send", args=[row.pk]), HTTP_REFERER="/x")
    assert Quote.objects.get(pk=row.pk).status == Quote.Status.PENDING
    manager = ui_client(personas, "mfg_manager")
    inbox = manager.get(reverse("approvals:inbox")).content.decode()
    assert row.number in inbox
    manager.post(
        reverse("approvals:detail", args=[row.approval_id]), {"decision": "approve", "comment": ""}
    )
    am.post(reverse("quotes:send", args=[row.pk]))
    am.post(reverse("quotes:reject", args=[row.pk]), {"reason": "预算不足"})
    row.refresh_from_db()
    assert (row.status, row.customer_reason) == (Quote.Status.REJECTED, "预算不足")
    response = am.post(reverse("quotes:revise", args=[row.pk]))
    v2 = Quote.objects.get(number=row.number, version=2)
    assert response["Location"] == reverse("quotes:edit", args=[v2.pk])
    assert response.status_code == 302


@pytest.mark.django_db
def test_catalogue_pages_for_admins_and_readers(personas: Personas) -> None:
    item = product(personas)
    admin = ui_client(personas, "mfg_manager")
    assert item.code in admin.get(reverse("quotes:products")).content.decode()
    response = admin.post(
        reverse("quotes:product_create"),
        {
            "bu_id": personas.units["mfg"].pk,
            "code": "NEW-1",
            "name": "设备维保服务",
            "unit_of_measure": "年",
            "list_price": "-5",
            "tax_rate": "6",
            "is_active": "on",
        },
    )
    assert response.status_code == 200 and not Product.objects.filter(code="NEW-1").exists()
    response = admin.post(
        reverse("quotes:price_list_create"),
        {
            "bu_id": personas.units["mfg"].pk,
            "name": "2026 价目表",
            "valid_from": "2026-01-01",
            "is_active": "on",
            "items-0-product_id": str(item.pk),
            "items-0-unit_price": "950",
        },
    )
    assert response.status_code == 302
    assert PriceList.objects.get().items.get().unit_price == Decimal(950)
    listing = admin.get(reverse("quotes:price_lists")).content.decode()
    assert "2026 价目表" in listing
    edit = admin.get(reverse("quotes:price_list_edit", args=[PriceList.objects.get().pk]))
    assert edit.status_code == 200 and 'value="950.00"' in edit.content.decode()
    response = admin.post(
        reverse("quotes:price_list_create"),
        {
            "bu_id": personas.units["mfg"].pk,
            "name": "重叠",
            "valid_from": "2026-06-01",
            "is_active": "on",
        },
    )
    assert response.status_code == 200 and PriceList.objects.count() == 1
    reader = ui_client(personas, "mfg_am")
    assert reader.get(reverse("quotes:products")).status_code == 200
    assert reader.get(reverse("quotes:product_create")).status_code == 403
    assert reader.get(reverse("quotes:settings")).status_code == 403
    page = admin.post(
        reverse("quotes:settings"),
        {"bu_id": personas.units["mfg"].pk, "discount_threshold": "12.5", "number_prefix": "SH"},
    )
    assert page.status_code == 302
    assert selectors.threshold_for(personas.units["mfg-sh"]) == Decimal("12.5")
    assert selectors.prefix_for(personas.units["mfg-sh"]) == "SH"


@pytest.mark.django_db
def test_the_opportunity_tag_and_the_360_panel_list_the_quotes(personas: Personas) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    row = quote(personas)
    request = RequestFactory().get("/")
    request.actor = personas.actor("mfg_am")
    html = Template("{% load quote_tags %}{% opportunity_quotes o %}").render(
        Context({"request": request, "o": row.opportunity})
    )
    assert row.number in html and 'data-testid="new-quote"' in html
    request.actor = personas.actor("fin_am")
    html = Template("{% load quote_tags %}{% opportunity_quotes o %}").render(
        Context({"request": request, "o": row.opportunity})
    )
    assert row.number not in html
    page = ui_client(personas, "mfg_am").get(reverse("customers:detail", args=[row.customer_id]))
    assert 'data-testid="quotes-panel"' in page.content.decode()
    assert row.number in page.content.decode()


@pytest.mark.django_db
def test_the_navigation_shows_quotes_and_products_with_quotes_view(personas: Personas) -> None:
    page = ui_client(personas, "mfg_am").get(reverse("quotes:list")).content.decode()
    assert reverse("quotes:products") in page and 'data-testid="empty"' in page
    assert ui_client(personas, "nobody").get(reverse("quotes:list")).status_code == 403


# --- the API -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_walks_a_quote_from_draft_to_accepted(personas: Personas) -> None:
    opp = opportunity(personas)
    item = product(personas, price="1200")
    am, auth = api(personas, "mfg_am")
    response = am.post(
        BASE,
        {
            "opportunity_id": opp.pk,
            "lines": [{"product_id": item.pk, "quantity": 3, "discount_percent": "20"}],
            "terms": "预付30%",
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["lines"][0]["unit_price"] == "1200.00"
    assert body["net_total"] == "2880.00" and body["gross_total"] == "3254.40"
    assert body["amount_in_words"] == "叁仟贰佰伍拾肆元肆角整"
    pk = body["id"]
    response = am.patch(
        f"{BASE}/{pk}",
        {"lines": [{"product_id": item.pk, "quantity": "1", "discount_percent": "101"}]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    assert "lines.0.discount_percent" in str(response.json())
    response = am.post(
        f"{BASE}/{pk}/submit", {"reason": "竞品压价"}, content_type="application/json", **auth
    )
    assert response.json()["status"] == "pending"
    approval = response.json()["approval_id"]
    manager, manager_auth = api(personas, "mfg_manager")
    response = manager.post(
        f"/api/v1/approvals/{approval}/decide",
        {"decision": "approve", "comment": "可以"},
        content_type="application/json",
        **manager_auth,
    )
    assert response.status_code == 200, response.content
    assert am.post(f"{BASE}/{pk}/send", **auth).json()["status"] == "sent"
    response = am.post(
        f"{BASE}/{pk}/accept",
        {"update_opportunity": True, "opportunity_version": opp.version},
        content_type="application/json",
        **auth,
    )
    assert response.json()["status"] == "accepted"
    opp.refresh_from_db()
    assert opp.amount == Decimal("3254.40")
    response = am.post(f"{BASE}/{pk}/revise", **auth)
    assert response.status_code == 409
    listing = am.get(f"{BASE}?status=accepted", **auth).json()
    assert [q["id"] for q in listing["items"]] == [pk]


@pytest.mark.django_db
def test_the_api_refuses_unknown_fields_and_reads_price_lists(personas: Personas) -> None:
    opp = opportunity(personas)
    item = product(personas)
    admin, auth = api(personas, "admin")
    response = admin.post(
        BASE,
        {"opportunity_id": opp.pk, "lines": [], "colour": "red"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422
    response = admin.post(
        "/api/v1/sales/price-lists",
        {
            "bu_id": personas.units["mfg"].pk,
            "name": "2026",
            "valid_from": "2026-01-01",
            "items": [{"product_id": item.pk, "unit_price": "-1"}],
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 422 and "items.0.unit_price" in str(response.json())
    response = admin.get("/api/v1/sales/price-lists", **auth)
    assert response.status_code == 200 and response.json()["count"] == 0
    response = admin.put(
        f"/api/v1/sales/quote-settings/{personas.units['mfg'].pk}",
        {"discount_threshold": "20", "number_prefix": "MFG"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200 and response.json()["effective_threshold"] == "20.00"


@pytest.mark.django_db
def test_a_refused_action_in_the_ui_says_why_and_changes_nothing(personas: Personas) -> None:
    row = quote(personas, lines=[])
    client = ui_client(personas, "mfg_am")
    detail = reverse("quotes:detail", args=[row.pk])
    response = client.post(
        reverse("quotes:submit", args=[row.pk]),
        HTTP_REFERER=f"http://testserver{detail}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    page = client.get(detail, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Add at least one line before submitting." in page
    assert Quote.objects.get(pk=row.pk).status == Quote.Status.DRAFT
