"""Runs in the PostgreSQL + Redis pass: the queue and cache on a real Redis server."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.db import transaction
from huey.contrib.djhuey import HUEY

from groupcrm.core.actor import Actor
from groupcrm.core.events import publish
from groupcrm.core.models import OutboxEvent
from groupcrm.core.tasks import dispatch_outbox_task

pytestmark = pytest.mark.redis


@pytest.mark.django_db(transaction=True)
def test_commit_enqueues_dispatch_on_redis_and_the_worker_delivers(redis_url: str) -> None:
    assert type(HUEY).__name__ == "RedisHuey"
    HUEY.flush()
    with transaction.atomic():
        event = publish(actor=Actor.system("t"), name="test.redis", payload={"n": 1})
    assert HUEY.pending_count() == 1  # enqueued after commit, waiting for a worker
    task = HUEY.dequeue()
    assert task.name == dispatch_outbox_task.task_class.__name__
    HUEY.execute(task)
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.DONE


def test_cache_is_redis(redis_url: str) -> None:
    cache.set("groupcrm-test", "值", 5)
    assert cache.get("groupcrm-test") == "值"
    assert type(caches["default"]).__name__ == "RedisCache"
