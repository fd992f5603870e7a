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

from django.db import connection
from django.db.models import Q

from groupcrm.core import pii
from groupcrm.customers.models import Contact, Customer
from groupcrm.customers.normalize import normalize_company_name, normalize_phone

MAX_RESULTS = 200
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


def _prefix_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"c.{column} LIKE %s"
    # SQLite's LIKE is case-insensitive and skips the index: a range uses it.
    return f"(c.{column} >= %s AND c.{column} < %s || char(1114111))"


def _prefix_params(value: str) -> list[str]:
    if connection.vendor == "postgresql":
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return [escaped + "%"]
    return [value, value]


def search_ids(q: str, *, limit: int = MAX_RESULTS, include_merged: bool = False) -> list[int]:
    """Customer ids matching ``q``, best first: exact name or initials, then prefixes,
    then other trigram matches (closest name first)."""
    q = q.strip()
    if not q:
        return []
    if USCC_LIKE.match(q.upper()):
        found = list(Customer.objects.filter(uscc=q.upper()).values_list("pk", flat=True))
        if found:
            return found
    phone_hits = _phone_matches(q) if PHONE_LIKE.match(q) else []
    term = q.lower()
    key = normalize_company_name(q) or term
    status = "" if include_merged else "AND c.status <> 'merged'"
    rank = (
        "ORDER BY (c.name_key = %s) DESC, (c.initials = %s) DESC, (c.short_name = %s) DESC, "
        f"({_prefix_sql('name_key')}) DESC, ({_prefix_sql('initials')}) DESC, "
    )
    rank_params: list[object] = [key, term, q, *_prefix_params(key), *_prefix_params(term)]
    if connection.vendor == "postgresql":
        rank += "similarity(c.legal_name, %s) DESC, "
        rank_params.append(q)
    rank += "length(c.legal_name), c.id LIMIT %s"
    if len(term) >= 3 or len(key) >= 3:
        needle = key if len(key) >= 3 else term
        if connection.vendor == "postgresql":
            like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like += "%"
            sql = (
                f"SELECT c.id FROM customers_customer c WHERE c.search_text LIKE %s {status} {rank}"
            )
        else:
            # FTS5 uses its trigram index for LIKE only without an ESCAPE clause.
            like = "%" + needle.replace("%", "").replace("_", "") + "%"
            sql = (
                "SELECT c.id FROM customers_search s JOIN customers_customer c ON c.id = s.rowid "
                f"WHERE s.body LIKE %s {status} {rank}"
            )
        params: list[object] = [like, *rank_params, limit]
    else:
        where = " OR ".join(_prefix_sql(col) for col in ("name_key", "initials", "pinyin"))
        sql = f"SELECT c.id FROM customers_customer c WHERE ({where}) {status} {rank}"
        params = [
            *_prefix_params(key),
            *_prefix_params(term),
            *_prefix_params(term),
            *rank_params,
            limit,
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    return list(dict.fromkeys([*phone_hits, *ids]))[:limit]
