"""Customer search: one query over names, 拼音, initials, USCC, contact names and phones.

The index is ``Customer.search_text`` (lower-case names, keys, 拼音, initials, USCC and
contact names), kept current by the services through ``reindex``. Matching uses a
trigram index on each database: PostgreSQL ``pg_trgm`` (GIN on ``search_text``), SQLite
FTS5 with the ``trigram`` tokenizer (table ``customers_search``, rowid = customer id).
Queries shorter than three characters cannot use trigrams; they match as prefixes of
the name key, 拼音 and initials instead (B-tree indexes). Phone numbers are found
exactly through the contacts' blind index (core.pii).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Q

from groupcrm.core import pii
from groupcrm.customers.models import Contact, Customer
from groupcrm.customers.normalize import normalize_company_name, normalize_phone

MAX_RESULTS = 200
CANDIDATES = 1000  # trigram matches ranked per query, at most
PHONE_LIKE = re.compile(r"^[+\d][\d\s()-]{6,}$")
USCC_LIKE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


def document(customer: Customer, contact_names: Iterable[str]) -> str:
    parts = [
        customer.legal_name,
        customer.short_name,
        customer.name_key,
        customer.pinyin,
        customer.initials,
        customer.uscc or "",
        *contact_names,
    ]
    return " ".join(p for p in parts if p).lower()


def reindex(customer_ids: Iterable[int]) -> None:
    """Recompute the search text of these customers (call inside the writing service)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    names: dict[int, list[str]] = {}
    for customer_id, name in (
        Contact.objects.filter(customer_id__in=ids)
        .order_by("pk")
        .values_list("customer_id", "name")
    ):
        names.setdefault(customer_id, []).append(name)
    for customer in Customer.objects.filter(pk__in=ids):
        text = document(customer, names.get(customer.pk, []))
        Customer.objects.filter(pk=customer.pk).update(search_text=text)
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM customers_search WHERE rowid = %s", [customer.pk])
                cursor.execute(
                    "INSERT INTO customers_search (rowid, body) VALUES (%s, %s)",
                    [customer.pk, text],
                )


def index_new(customers: list[Customer]) -> None:
    """Search entries of customers just inserted in bulk with their ``search_text`` set
    (``document``): PostgreSQL indexes the column itself, SQLite needs its FTS rows."""
    if connection.vendor == "sqlite" and customers:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO customers_search (rowid, body) VALUES (%s, %s)",
                [(c.pk, c.search_text) for c in customers],
            )


def unindex(customer_ids: Iterable[int]) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for pk in customer_ids:
                cursor.execute("DELETE FROM customers_search WHERE rowid = %s", [pk])


def _phone_matches(q: str) -> list[int]:
    try:
        phone = normalize_phone(q)
    except ValueError:
        return []
    index = pii.blind_index("phone", phone)
    return list(
        Contact.objects.filter(Q(mobile_index=index) | Q(phone_index=index))
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
        .distinct()
    )


def _prefix(column: str, value: str) -> Q:
    """``column`` starts with ``value``, in a form each database serves from its B-tree:
    LIKE on PostgreSQL (pattern_ops index), a range on SQLite (whose LIKE ignores it)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{column}__startswith": value})
    return Q(**{f"{column}__gte": value, f"{column}__lt": value + "\U0010ffff"})


def _ids(queryset: Any, limit: int) -> list[int]:
    """Up to ``limit`` ids, unordered: the index scan stops at the limit instead of
    sorting every match by the model's default ordering."""
    return list(queryset.order_by().values_list("pk", flat=True)[:limit])


def _contains(needle: str, status_sql: str, limit: int) -> list[int]:
    """Trigram matches anywhere in the search text, closest names first. The candidates
    are capped before ranking so that a common fragment never sorts the whole table."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            cursor.execute(
                "SELECT id FROM (SELECT id, legal_name FROM customers_customer c "
                f"WHERE c.search_text LIKE %s {status_sql} LIMIT %s) m "
                "ORDER BY similarity(m.legal_name, %s) DESC, length(m.legal_name), m.id LIMIT %s",
                [like, CANDIDATES, needle, limit],
            )
        else:
            # FTS5 uses its trigram index for LIKE only without an ESCAPE clause.
            like = "%" + needle.replace("%", "").replace("_", "") + "%"
            cursor.execute(
                "SELECT c.id FROM (SELECT rowid FROM customers_search WHERE body LIKE %s "
                "LIMIT %s) s JOIN customers_customer c ON c.id = s.rowid "
                f"WHERE 1 = 1 {status_sql} ORDER BY length(c.legal_name), c.id LIMIT %s",
                [like, CANDIDATES, limit],
            )
        return [row[0] for row in cursor.fetchall()]


def search_ids(q: str, *, limit: int = MAX_RESULTS, include_merged: bool = False) -> list[int]:
    """Customer ids matching ``q``, best first: a phone's or credit code's exact owner,
    exact name or initials, then names, initials and 拼音 starting with ``q``, then
    names containing it anywhere (closest first). Each phase is a bounded index scan."""
    q = q.strip()
    if not q:
        return []
    if USCC_LIKE.match(q.upper()):
        found = list(Customer.objects.filter(uscc=q.upper()).values_list("pk", flat=True))
        if found:
            return found
    term = q.lower()
    key = normalize_company_name(q) or term
    customers = Customer.objects.all()
    if not include_merged:
        customers = customers.exclude(status=Customer.Status.MERGED)
    found: list[int] = _phone_matches(q) if PHONE_LIKE.match(q) else []
    found += _ids(customers.filter(Q(name_key=key) | Q(initials=term)), limit)
    prefix = [_prefix("name_key", key)]
    if term.isascii() and term.isalnum():
        prefix += [_prefix("initials", term), _prefix("pinyin", term)]
    by_prefix: list[int] = []
    for condition in prefix:
        by_prefix += _ids(customers.filter(condition), limit)
    lengths = dict(Customer.objects.filter(pk__in=by_prefix).values_list("pk", "legal_name"))
    found += sorted(dict.fromkeys(by_prefix), key=lambda pk: (len(lengths.get(pk, "")), pk))
    found = list(dict.fromkeys(found))
    latin_hit = term.isascii() and bool(found)
    needle = key if len(key) >= 3 else term
    if len(found) < limit and len(needle) >= 3 and not latin_hit:
        status_sql = "" if include_merged else "AND c.status <> 'merged'"
        found += _contains(needle, status_sql, limit)
    return list(dict.fromkeys(found))[:limit]
