"""The duplicates API: both queues (paginated, scoped, personal data masked), decisions
with their validation, and starting a batch run."""

from __future__ import annotations

from typing import Any

import pytest

from groupcrm.core.testing.battery import api_client
from groupcrm.customers.models import Contact, MergeRecord
from groupcrm.integration.matching import dedup_run
from groupcrm.integration.models import ContactPair
from tests.test_dedup_contacts import _master, _pair


@pytest.fixture
def queued(personas: Any) -> dict[str, Any]:
    made = _master(personas)
    dedup_run(actor=personas.actor("admin"), entity="contacts")
    return made


@pytest.mark.django_db
def test_it_lists_contact_pairs_masked_paginated_and_scoped(personas, queued) -> None:  # type: ignore[no-untyped-def]
    client, admin = api_client(personas, "admin")
    steward, am = api_client(personas, "mfg_manager")[1], api_client(personas, "mfg_am")[1]
    data = client.get("/api/v1/duplicates/contacts?page_size=2", **admin).json()
    assert data["count"] >= 3 and len(data["items"]) == 2
    first = data["items"][0]
    assert {"probability", "reasons", "left", "right"} <= set(first)
    assert all(
        "*" in side["mobile"] or not side["mobile"] for side in (first["left"], first["right"])
    )
    everything = client.get("/api/v1/duplicates/contacts?page_size=100", **admin).json()
    reachable = client.get("/api/v1/duplicates/contacts?page_size=100", **steward).json()
    hidden = _pair(queued["wq"], queued["wq2"]).pk
    assert hidden in {p["id"] for p in everything["items"]}
    assert hidden not in {p["id"] for p in reachable["items"]}
    assert client.get("/api/v1/duplicates/customers", **admin).status_code == 200
    assert client.get("/api/v1/duplicates/contacts", **am).status_code == 403


@pytest.mark.django_db
def test_it_decides_a_pair_and_refuses_bad_decisions_without_writing(personas, queued) -> None:  # type: ignore[no-untyped-def]
    client, auth = api_client(personas, "admin")
    pair = _pair(queued["zw"], queued["zw2"])
    url = f"/api/v1/duplicates/contacts/{pair.pk}/decide"
    bad = client.post(url, {"decision": "maybe"}, content_type="application/json", **auth)
    assert bad.status_code == 422 and "decision" in bad.content.decode()
    wrong = client.post(
        url,
        {"decision": "merge", "survivor_id": queued["ln"].pk},
        content_type="application/json",
        **auth,
    )
    assert wrong.status_code == 422 and "survivor_id" in wrong.content.decode()
    assert wrong["Content-Type"].startswith("application/problem+json")
    assert ContactPair.objects.get(pk=pair.pk).status == "pending"
    assert not MergeRecord.objects.exists()
    # 金融's pair is out of 制造's steward's reach: it does not exist for them.
    other = _pair(queued["wq"], queued["wq2"])
    hidden = client.post(
        f"/api/v1/duplicates/contacts/{other.pk}/decide",
        {"decision": "distinct"},
        content_type="application/json",
        **api_client(personas, "mfg_manager")[1],
    )
    assert hidden.status_code == 404
    done = client.post(
        url,
        {"decision": "merge", "survivor_id": queued["zw"].pk},
        content_type="application/json",
        **auth,
    )
    assert done.status_code == 200 and done.json()["status"] == "merged"
    assert not Contact.objects.filter(pk=queued["zw2"].pk).exists()
    later = client.post(
        f"/api/v1/duplicates/contacts/{other.pk}/decide",
        {"decision": "defer"},
        content_type="application/json",
        **auth,
    )
    assert later.json()["status"] == "deferred"


@pytest.mark.django_db
def test_only_a_group_steward_starts_a_run(personas) -> None:  # type: ignore[no-untyped-def]
    _master(personas)
    client, admin = api_client(personas, "admin")
    denied = client.post(
        "/api/v1/duplicates/runs",
        {"entity": "contacts"},
        content_type="application/json",
        **api_client(personas, "mfg_manager")[1],
    )
    assert denied.status_code == 403 and not ContactPair.objects.exists()
    bad = client.post(
        "/api/v1/duplicates/runs",
        {"entity": "shoes"},
        content_type="application/json",
        **admin,
    )
    assert bad.status_code == 422 and "entity" in bad.content.decode()
    from huey.contrib.djhuey import HUEY

    # The queued task runs in this process (with Redis it would wait for a worker).
    immediate, HUEY.immediate = HUEY.immediate, True
    try:
        started = client.post(
            "/api/v1/duplicates/runs",
            {"entity": "contacts"},
            content_type="application/json",
            **admin,
        )
    finally:
        HUEY.immediate = immediate
    assert started.status_code == 202 and started.json() == {"entity": "contacts", "queued": True}
    assert ContactPair.objects.exists()
