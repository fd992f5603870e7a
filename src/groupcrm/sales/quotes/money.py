"""Quote arithmetic and amounts in Chinese capital numerals (大写金额).

Money rounds half up to the fen (as on invoices). A line's amount is its quantity times
its unit price less its own discount; the quote's overall discount then applies per tax
rate, and the tax is computed per rate on the discounted base (as a 增值税 invoice does),
so the totals always add up: net + tax = gross.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal, discount: Decimal) -> Decimal:
    """The line's amount excluding tax, after its own discount (in per cent)."""
    return money(quantity * unit_price * (HUNDRED - discount) / HUNDRED)


def effective_discount(
    reference_price: Decimal, unit_price: Decimal, discount: Decimal, overall: Decimal
) -> Decimal:
    """How far below the reference price the customer pays, in per cent: the line's
    discount, a unit price under the reference and the overall discount together."""
    if reference_price <= 0:
        return Decimal(0)
    paid = unit_price * (HUNDRED - discount) / HUNDRED * (HUNDRED - overall) / HUNDRED
    percent = HUNDRED - paid * HUNDRED / reference_price
    return money(min(max(percent, Decimal(0)), HUNDRED))


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_amount: Decimal
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    by_rate: tuple[tuple[Decimal, Decimal, Decimal], ...]  # (rate, net, tax)


def totals(lines: list[tuple[Decimal, Decimal]], overall_discount: Decimal) -> Totals:
    """Totals of ``lines`` given as (amount excluding tax, tax rate in per cent)."""
    bases: dict[Decimal, Decimal] = defaultdict(Decimal)
    for amount, rate in lines:
        bases[rate] += amount
    by_rate = []
    for rate in sorted(bases):
        base = bases[rate] - money(bases[rate] * overall_discount / HUNDRED)
        by_rate.append((rate, base, money(base * rate / HUNDRED)))
    subtotal = sum(bases.values(), Decimal(0))
    net = sum((b for _r, b, _t in by_rate), Decimal(0))
    tax = sum((t for _r, _b, t in by_rate), Decimal(0))
    return Totals(
        subtotal=money(subtotal),
        discount_amount=money(subtotal - net),
        net_total=money(net),
        tax_total=money(tax),
        gross_total=money(net + tax),
        by_rate=tuple(by_rate),
    )


def _section(number: int) -> str:
    """0–9999 in capitals, zeros inside collapsed to one 零 and trailing zeros dropped."""
    out = ""
    pending_zero = False
    for place in range(3, -1, -1):
        digit = number // 10**place % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out += DIGITS[0]
            pending_zero = False
        out += DIGITS[digit] + PLACES[place]
    return out


def _integer_words(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10_000)
        groups.append(group)
    out = ""
    zero_between = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_between = bool(out)
            continue
        if out and (zero_between or group < 1000):
            out += DIGITS[0]
        unit = ("", "万", "亿", "万")[index] if index < 4 else ""
        if index == 3 and groups[2] == 0:
            unit = "万亿"
        out += _section(group) + unit
        zero_between = False
    return out


def amount_in_words(amount: Decimal) -> str:
    """壹万贰仟叁佰肆拾伍元陆角柒分 for 12345.67; 整 when there are no fen; up to
    9999万亿 (the 14 integer digits an amount holds)."""
    amount = money(amount)
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    yuan, cents = divmod(fen_total, 100)
    jiao, fen = divmod(cents, 10)
    if not fen_total:
        return "零元整"
    out = sign
    if yuan:
        out += _integer_words(yuan) + "元"
    if jiao:
        out += DIGITS[jiao] + "角"
    elif yuan and fen:
        out += DIGITS[0]
    if fen:
        out += DIGITS[fen] + "分"
    else:
        out += "整"
    return out
