"""The customer master: golden records, duplicates, hierarchy, relationships and the
public pool, contacts with protected personal data, follow-ups, four-eyes changes."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from groupcrm.audit.models import AccessRecord, ChangeRecord
from groupcrm.core.actor import Actor
from groupcrm.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from groupcrm.core.models import Notification, OutboxEvent
from groupcrm.core.events import outbox_dispatch
from groupcrm.core.testing.battery import ScopedBattery
from groupcrm.core.testing.personas import Personas
from groupcrm.customers import services
from groupcrm.customers.models import (
    ChangeRequest,
    Contact,
    Customer,
    CustomerRelationship,
    FollowUp,
    PoolRule,
)
from groupcrm.customers.normalize import make_uscc
from groupcrm.customers.search import search_ids
from groupcrm.customers.selectors import view360

RNG = random.Random(7)


def uscc() -> str:
    return make_uscc(RNG)


def new_customer(personas: Personas, who: str = "mfg_am", name: str = "华夏制造有限公司", **kw: Any) -> Customer:
    return services.customer_create(actor=personas.actor(who), legal_name=name, **kw)


def api(personas: Personas, who: str) -> tuple[Client, dict[str, str]]:
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {personas.token(who)}"}


@pytest.mark.django_db
def test_create_derives_keys_pinyin_region_and_starts_my_relationship(personas: Personas) -> None:
    c = new_customer(personas, uscc=uscc(), address="上海市浦东新区世纪大道100号", industry="34")
    assert c.name_key == "华夏制造" and c.initials == "hxzz" and c.pinyin == "huaxiazhizao"
    assert (c.province, c.district) == ("上海市", "浦东新区")
    rel = CustomerRelationship.objects.get(customer=c)
    assert rel.owner == personas.mfg_am and rel.bu == personas.units["mfg"]
    assert ChangeRecord.objects.filter(subject=f"customers.customer:{c.pk}").count() == 2
    assert OutboxEvent.objects.filter(name="customers.created").exists()
    assert search_ids("hxzz") == [c.pk]
    assert search_ids("华夏") == [c.pk]
    assert search_ids("华夏制造有限") == [c.pk]
