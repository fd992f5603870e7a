"""The demo quotes (quotes.demo): through the services, consistent, loaded once."""

from __future__ import annotations

import pytest

from groupcrm.approvals.models import ApprovalRequest
from groupcrm.audit.services import audit_verify
from groupcrm.customers.demo import load_customers
from groupcrm.org.demo import build_demo
from groupcrm.sales.demo import load_pipeline
from groupcrm.sales.quotes.demo import load_quotes
from groupcrm.sales.quotes.models import PriceList, Product, Quote


@pytest.mark.django_db
def test_demo_quotes_have_catalogues_price_lists_and_quotes_in_every_state() -> None:
    build_demo()
    load_customers(count=120)
    load_pipeline(count=100)
    counts = load_quotes()
    assert counts["products"] == Product.objects.count() >= 15
    assert counts["price_lists"] == PriceList.objects.count() >= 4
    assert counts["quotes"] >= 20
    # Every quote adds up, follows its opportunity and takes a product its unit may quote.
    for quote in Quote.objects.select_related("opportunity", "bu"):
        assert quote.gross_total == quote.net_total + quote.tax_total
        assert (quote.bu_id, quote.owner_id) == (
            quote.opportunity.bu_id,
            quote.opportunity.owner_id,
        )
        ancestors = set(quote.bu.ancestor_ids())
        assert all(line.product.bu_id in ancestors for line in quote.lines.all())
    states = set(Quote.objects.values_list("status", flat=True))
    assert {"draft", "pending", "approved"} <= states
    assert ApprovalRequest.objects.filter(kind="quotes.discount", status="approved").exists()
    assert ApprovalRequest.objects.filter(kind="quotes.discount", status="pending").exists()
    assert load_quotes()["quotes"] == 0  # a second run adds nothing
    assert audit_verify()[1] is None
