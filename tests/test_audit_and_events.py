from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from groupcrm.audit.models import AppendOnlyError, ChangeRecord
from groupcrm.audit.services import audit_verify
from groupcrm.core.actor import Actor
from groupcrm.core.events import SUBSCRIBERS, outbox_dispatch, publish, subscriber
from groupcrm.core.models import EventDelivery, OutboxEvent
from groupcrm.core.services import outbox_retry
from groupcrm.core.testing.personas import Personas


@pytest.mark.django_db
def test_chain_verifies_and_names_the_first_tampered_record(personas: Personas) -> None:
    checked, broken, _ = audit_verify()
    assert broken is None and checked == ChangeRecord.objects.count() > 10
    victim = ChangeRecord.objects.order_by("id")[5]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_changerecord SET actor_label = %s WHERE id = %s", ["mallory", victim.pk]
        )
    with pytest.raises(CommandError, match=f"#{victim.pk}"):
        call_command("audit", "verify")


@pytest.mark.django_db
def test_deleting_a_record_breaks_the_chain_at_its_successor(personas: Personas) -> None:
    ids = list(ChangeRecord.objects.order_by("id").values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_changerecord WHERE id = %s", [ids[3]])
    _, broken, why = audit_verify()
    assert broken is not None and broken.pk == ids[4] and "prev_hash" in why


@pytest.mark.django_db
def test_records_are_append_only(personas: Personas) -> None:
    record = ChangeRecord.objects.first()
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()


@pytest.mark.django_db
def test_record_carries_actor_request_and_field_changes(personas: Personas) -> None:
    from groupcrm.org.services import bu_update

    actor = Actor(personas.admin, request_id="req-123", ip="10.1.2.3")
    unit = personas.units["fin"]
    bu_update(actor=actor, pk=unit.pk, name="华夏金融控股", code=unit.code, kind=unit.kind)
    record = ChangeRecord.objects.order_by("-id").first()
    assert (record.actor_id, record.request_id, record.ip, record.bu_id) == (
        personas.admin.pk,
        "req-123",
        "10.1.2.3",
        unit.pk,
    )
    assert record.changes == {"name": ["华夏金融", "华夏金融控股"]}


@pytest.mark.django_db
def test_rolled_back_service_leaves_no_event() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(actor=Actor.system("t"), name="test.rolled_back", payload={})
        raise RuntimeError("boom")
    assert not OutboxEvent.objects.filter(name="test.rolled_back").exists()


@pytest.fixture
def flaky_subscriber():
    calls: list[str] = []
    state = {"fail": True}

    @subscriber("test.flaky")
    def flaky(event: OutboxEvent) -> None:
        calls.append(str(event.pk))
        if state["fail"]:
            raise ValueError("downstream unavailable")

    yield calls, state
    SUBSCRIBERS.pop("test.flaky", None)


@pytest.mark.django_db
def test_failed_delivery_is_retried_then_dead_lettered_then_retried_by_admin(
    flaky_subscriber, personas, settings
) -> None:
    calls, state = flaky_subscriber
    settings.OUTBOX_MAX_ATTEMPTS = 2
    with transaction.atomic():
        event = publish(actor=Actor.system("t"), name="test.flaky", payload={})
    outbox_dispatch()
    event.refresh_from_db()
    assert event.status == "pending" and event.attempts == 1 and "downstream" in event.last_error
    OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)
    outbox_dispatch()
    event.refresh_from_db()
    assert event.status == "dead"
    state["fail"] = False
    outbox_retry(actor=personas.actor("admin"), event_id=str(event.pk))
    outbox_dispatch()
    event.refresh_from_db()
    assert event.status == "done" and len(calls) == 3
    assert EventDelivery.objects.filter(event=event).count() == 1
    outbox_dispatch()
    assert len(calls) == 3  # delivered: never again


@pytest.mark.django_db
def test_events_wait_while_no_worker_runs(personas: Personas) -> None:
    pending = OutboxEvent.objects.filter(status="pending").count()
    assert pending > 0  # the personas' creation published events that nobody delivered yet
    assert outbox_dispatch() == pending
    assert not OutboxEvent.objects.filter(status="pending").exists()
