"""The quote as a PDF in Chinese (A4), drawn with reportlab.

The text uses reportlab's built-in CID font STSong-Light, which every PDF reader
provides for Chinese: no font file ships with groupcrm and the PDF stays small.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from groupcrm.org.models import BusinessUnit
from groupcrm.sales.quotes.models import Quote
from groupcrm.sales.quotes.money import amount_in_words

FONT = "STSong-Light"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _yuan(value: Decimal) -> str:
    return f"{value:,.2f}"


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def group_name(unit: BusinessUnit) -> str:
    """The name of the group the unit belongs to (the root of its tree)."""
    root_id = unit.ancestor_ids()[0]
    if root_id == unit.pk:
        return unit.name
    return BusinessUnit.objects.filter(pk=root_id).values_list("name", flat=True).first() or ""


def quote_pdf(quote: Quote, lines: list[Any], *, compress: bool = True) -> bytes:
    """The PDF of one quote version; always in Chinese, the customer's language."""
    with translation.override("zh-hans"):
        return _render(quote, lines, compress=compress)


def _render(quote: Quote, lines: list[Any], *, compress: bool) -> bytes:
    font = _font()
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=13)
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=11)
    right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
    title = ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=TA_CENTER)
    head = ParagraphStyle("head", parent=base, fontSize=11, leading=16, alignment=TA_CENTER)

    def p(text: Any, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{_('Quote')} {quote.label}",
        author=quote.bu.name,
        subject=quote.customer.legal_name,
        creator="groupcrm",
        pageCompression=1 if compress else 0,
    )
    story: list[Any] = [
        p(f"{group_name(quote.bu)} · {quote.bu.name}", head),
        p(_("Quote"), title),
        Spacer(1, 4 * mm),
    ]
    owner = quote.owner.display_name or quote.owner.username
    info = [
        [p(_("Customer")), p(quote.customer.legal_name), p(_("Number")), p(quote.number)],
        [p(_("Opportunity")), p(quote.opportunity.name), p(_("Version")), p(f"v{quote.version}")],
        [
            p(_("Sales rep")),
            p(f"{owner} {quote.owner.email}".strip()),
            p(_("Date")),
            p(quote.quote_date.isoformat()),
        ],
        [p(""), p(""), p(_("Valid until")), p(quote.valid_until.isoformat())],
    ]
    info_table = Table(info, colWidths=[22 * mm, 88 * mm, 22 * mm, 46 * mm])
    info_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [info_table, Spacer(1, 5 * mm)]

    rows: list[list[Any]] = [
        [
            p("#", small),
            p(_("Product"), small),
            p(_("UoM"), small),
            p(_("Quantity"), small),
            p(_("Unit price"), small),
            p(_("Discount"), small),
            p(_("Tax rate"), small),
            p(_("Amount excl. tax"), small),
        ]
    ]
    for line in lines:
        text = f"{line.product.code} {line.description}"
        rows.append(
            [
                p(line.position, small),
                p(text, small),
                p(line.unit_of_measure, small),
                p(f"{line.quantity.normalize():f}", small),
                p(_yuan(line.unit_price), small),
                p(_percent(line.discount_percent), small),
                p(_percent(line.tax_rate), small),
                p(_yuan(line.net_amount), small),
            ]
        )
    table = Table(
        rows,
        colWidths=[8 * mm, 62 * mm, 12 * mm, 16 * mm, 24 * mm, 15 * mm, 15 * mm, 26 * mm],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    story += [table, Spacer(1, 4 * mm)]

    totals = [[p(_("Subtotal")), p(_yuan(quote.subtotal), right)]]
    if quote.discount_amount:
        totals.append(
            [
                p(
                    _("Overall discount %(percent)s")
                    % {"percent": _percent(quote.discount_percent)}
                ),
                p(f"-{_yuan(quote.discount_amount)}", right),
            ]
        )
    totals += [
        [p(_("Total excl. tax")), p(_yuan(quote.net_total), right)],
        [p(_("Tax")), p(_yuan(quote.tax_total), right)],
        [p(_("Total incl. tax (CNY)")), p(_yuan(quote.gross_total), right)],
        [p(_("In words")), p(amount_in_words(quote.gross_total), right)],
    ]
    totals_table = Table(totals, colWidths=[40 * mm, 70 * mm], hAlign="RIGHT")
    totals_table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, -2), (-1, -2), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [totals_table, Spacer(1, 6 * mm)]
    if quote.terms:
        story += [p(_("Terms"), head), Spacer(1, 2 * mm), p(quote.terms)]
    story += [
        Spacer(1, 10 * mm),
        p(
            _("Prices in CNY. This quote is valid until %(date)s.")
            % {"date": quote.valid_until.isoformat()},
            small,
        ),
    ]
    doc.build(story)
    return buffer.getvalue()
