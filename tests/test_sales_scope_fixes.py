"""Scope fixes in the sales pages and API: customers are read through
``customers.selectors.customer_get`` (customers.view, 404 for unknown ids), a unit taken
from the request must be one the actor works for, and pickers offer what services accept."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from groupcrm.core.actor import Actor
from groupcrm.core.testing.battery import api_client, ui_client
from groupcrm.core.testing.personas import PASSWORD, Personas
from groupcrm.org.services import bu_create, role_create, user_create
from groupcrm.sales.models import Opportunity
from groupcrm.sales.quotes.models import QuoteSettings
from tests.test_conflicts import company, group
from tests.test_leads import lead
from tests.test_sales_opportunities import opportunity

pytestmark = pytest.mark.usefixtures("default_pipeline")
SYSTEM = Actor.system("tests")
NOTICE = 'data-testid="conflict-notice"'


def seller_without_customers(personas: Personas) -> Client:
    """A seller in 华夏制造 whose role lacks customers.view (may not read golden records)."""
    role = role_create(
        actor=SYSTEM,
        name="seller",
        code="seller",
        permissions=[
            "opportunities.view",
            "opportunities.create",
            "conflicts.view",
            "conflicts.create",
            "contracts.view",
        ],
        data_scope="own",
    )
    user = user_create(
        actor=SYSTEM,
        username="seller",
        password=PASSWORD,
        bu_id=personas.units["mfg"].pk,
        role_id=role.pk,
        display_name="seller",
        email="seller@example.com",
    )
    client = Client()
    client.force_login(user)
    return client


# --- customers read through customer_get -----------------------------------------------------

# (page, name of its customer parameter)
CUSTOMER_PAGES = [
    ("conflicts:notice", "customer_id"),
    ("conflicts:raise", "customer"),
    ("sales:create", "customer"),
    ("contracts:receivables", "customer_id"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "param"), CUSTOMER_PAGES)
def test_pages_do_not_read_customers_without_customers_view(
    personas: Personas, page: str, param: str
) -> None:
    customer = company()
    response = seller_without_customers(personas).get(reverse(page), {param: customer.pk})
    assert response.status_code == 403
    assert customer.legal_name not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "param"), CUSTOMER_PAGES)
def test_an_unknown_customer_id_is_a_404(personas: Personas, page: str, param: str) -> None:
    missing = company().pk + 1000
    assert ui_client(personas, "mfg_am").get(reverse(page), {param: missing}).status_code == 404


@pytest.mark.django_db
def test_lead_conversion_shows_the_notice_only_for_an_offered_customer(
    personas: Personas,
) -> None:
    g = group(personas)
    row = lead(personas, company_name="南京无关联科技有限公司")
    client = ui_client(personas, "mfg_am")
    url = reverse("leads:convert", args=[row.pk])
    page = client.get(url, {"customer_id": g["child"].pk}).content.decode()
    assert NOTICE not in page and g["child"].legal_name not in page
    posted = client.post(url, {"customer_id": g["child"].pk}).content.decode()
    assert NOTICE not in posted and g["child"].legal_name not in posted


# --- the unit the notice takes the side of ---------------------------------------------------


@pytest.mark.django_db
def test_the_notice_takes_only_a_unit_the_actor_works_for(personas: Personas) -> None:
    g = group(personas)
    client = ui_client(personas, "mfg_am2")
    own = client.get(
        reverse("conflicts:notice"),
        {"customer_id": g["parent"].pk, "bu_id": personas.units["mfg"].pk},
    ).content.decode()
    assert NOTICE in own and "华夏金融" in own
    # From 华夏金融's side the notice would list 华夏制造's own opportunities (mfg_am's).
    other = client.get(
        reverse("conflicts:notice"),
        {"customer_id": g["parent"].pk, "bu_id": personas.units["fin"].pk},
    ).content.decode()
    assert NOTICE not in other and "mfg_am" not in other
    form = client.post(
        reverse("sales:create"),
        {"customer_id": g["parent"].pk, "bu_id": personas.units["fin"].pk},
    ).content.decode()
    assert NOTICE not in form and not Opportunity.objects.filter(owner=personas.mfg_am2).exists()


@pytest.mark.django_db
def test_the_engagements_api_takes_only_a_unit_the_caller_works_for(personas: Personas) -> None:
    g = group(personas)
    client, auth = api_client(personas, "mfg_am2")
    url = "/api/v1/sales/engagements"
    ok = client.get(url, {"customer_id": g["parent"].pk}, **auth)
    assert ok.status_code == 200 and {e["bu_name"] for e in ok.json()} == {"华夏金融"}
    refused = client.get(
        url, {"customer_id": g["parent"].pk, "bu_id": personas.units["fin"].pk}, **auth
    )
    assert refused.status_code == 422 and "bu_id" in refused.json()["errors"]


# --- the split editor offers what the service accepts ----------------------------------------


@pytest.mark.django_db
def test_the_split_editor_offers_members_of_every_top_level_unit(personas: Personas) -> None:
    partner = bu_create(actor=SYSTEM, name="合作伙伴", code="partner", kind="group", parent_id=None)
    rep = user_create(
        actor=SYSTEM,
        username="partner_rep",
        password=PASSWORD,
        bu_id=partner.pk,
        role_id=personas.roles["am"].pk,
        display_name="partner_rep",
        email="partner_rep@example.com",
    )
    row = opportunity(personas, amount="100000")
    url = reverse("forecast:splits", args=[row.pk])
    client = ui_client(personas, "admin")
    page = client.get(url).content.decode()
    assert f'<option value="{rep.pk}">' in page
    response = client.post(
        url,
        {
            "splits-TOTAL_FORMS": "2",
            "splits-INITIAL_FORMS": "0",
            "splits-0-bu_id": personas.units["mfg"].pk,
            "splits-0-user_id": personas.mfg_am.pk,
            "splits-0-percent": "70",
            "splits-1-bu_id": partner.pk,
            "splits-1-user_id": rep.pk,
            "splits-1-percent": "30",
        },
    )
    assert response.status_code == 302
    assert set(row.splits.values_list("user_id", flat=True)) == {personas.mfg_am.pk, rep.pk}


# --- bad input is a field error, not a server error ------------------------------------------

HUGE = "9" * 25  # an id SQLite cannot compare (OverflowError before the fix)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "query"),
    [
        ("quotes:list", {"bu_id": HUGE, "customer_id": HUGE}),
        ("quotes:products", {"bu_id": HUGE}),
        ("quotes:price_lists", {"bu_id": HUGE}),
        ("contracts:list", {"bu_id": HUGE, "opportunity_id": HUGE}),
        ("contracts:expenses", {"owner_id": HUGE}),
        ("contracts:receivables_export", {"customer_id": HUGE}),
        ("sales:list", {"owner_id": HUGE}),
        ("leads:list", {"owner_id": HUGE}),
        ("leads:queue", {"bu_id": HUGE}),
    ],
)
def test_a_huge_id_in_a_list_filter_finds_nothing(
    personas: Personas, page: str, query: dict[str, str]
) -> None:
    response = ui_client(personas, "admin").get(reverse(page), query)
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_huge_decimal_is_a_field_error(personas: Personas) -> None:
    client, auth = api_client(personas, "admin")
    unit = personas.units["hx"].pk
    product = client.post(
        "/api/v1/sales/products",
        {
            "bu_id": unit,
            "code": "P1",
            "name": "服务",
            "unit_of_measure": "次",
            "list_price": "1e999",
            "tax_rate": "6",
        },
        content_type="application/json",
        **auth,
    )
    assert product.status_code == 422 and "list_price" in product.json()["errors"]
    page = ui_client(personas, "admin").post(
        reverse("quotes:settings"), {"bu_id": unit, "discount_threshold": "1e999"}
    )
    assert page.status_code == 200 and not QuoteSettings.objects.exists()


@pytest.mark.django_db
def test_a_referral_to_a_non_numeric_unit_is_a_form_error(personas: Personas) -> None:
    row = opportunity(personas)
    response = ui_client(personas, "mfg_am").post(
        reverse("leads:referral_create"),
        {"item": f"opportunity:{row.pk}", "to_bu_id": "abc", "referrer_percent": "20"},
    )
    assert response.status_code == 200 and 'name="to_bu_id"' in response.content.decode()


@pytest.mark.django_db
def test_the_opportunity_form_names_contacts_only_to_who_may_see_them(
    personas: Personas,
) -> None:
    from groupcrm.core.testing.personas import perms
    from groupcrm.customers import services as customers
    from groupcrm.org.models import User

    system = Actor.system("tests")
    customer = customers.customer_create(
        actor=system, legal_name="泰山重工有限公司", similar_override_reason="test"
    )
    customers.contact_create(actor=system, customer_id=customer.pk, name="王采购")
    role = role_create(
        actor=system,
        name="seller",
        code="seller",
        permissions=[*perms("opportunities"), *perms("customers", actions=("view",))],
        data_scope="team",
    )
    user_create(
        actor=system,
        username="seller",
        password=PASSWORD,
        bu_id=personas.units["mfg"].pk,
        role_id=role.pk,
    )
    personas.users["seller"] = User.objects.get(username="seller")
    url = reverse("sales:create") + f"?customer={customer.pk}"
    assert "王采购" in ui_client(personas, "mfg_am").get(url).content.decode()
    html = ui_client(personas, "seller").get(url).content.decode()
    assert "泰山重工有限公司" in html and "王采购" not in html
