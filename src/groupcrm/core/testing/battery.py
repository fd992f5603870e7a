"""The generic permission battery every BU-owned model's tests reuse (design.md §10).

Subclass ``ScopedBattery``, name the model's UI and API addresses and say how to make a
row in a unit for an owner; the battery checks anonymous, no permission, permitted,
constrained (own) scope, and that a user of BU A cannot list, get, change or delete
BU B's rows through the UI or the API.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse

from groupcrm.core.testing.personas import Personas


def ui_client(personas: Personas, who: str) -> Client:
    client = Client()
    client.force_login(getattr(personas, who))
    return client


def api_client(personas: Personas, who: str) -> tuple[Client, dict[str, str]]:
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {personas.token(who)}"}


class ScopedBattery:
    model: type[models.Model]
    ui_list: str  # URL name of the list page
    ui_detail: str  # URL name taking pk
    ui_edit: str  # URL name taking pk (GET form, POST save)
    ui_delete: str | None  # URL name taking pk (POST), or None when rows are not deleted
    api_base: str  # e.g. "/api/v1/announcements"
    api_patch: dict[str, Any]  # a valid PATCH body

    def make(self, personas: Personas, unit: str, owner: str) -> models.Model:
        raise NotImplementedError

    def edit_form(self, row: models.Model) -> dict[str, Any]:
        raise NotImplementedError

    # helpers ---------------------------------------------------------------------------

    def ui(self, personas: Personas, who: str) -> Client:
        return ui_client(personas, who)

    def api(self, personas: Personas, who: str) -> tuple[Client, dict[str, str]]:
        return api_client(personas, who)

    def api_ids(self, personas: Personas, who: str) -> set[int]:
        client, auth = self.api(personas, who)
        response = client.get(f"{self.api_base}?page_size=200", **auth)
        if response.status_code == 403:
            return set()
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    # the battery -----------------------------------------------------------------------

    @pytest.mark.django_db
    def test_anonymous_is_sent_to_login_and_api_says_401(self, personas: Personas) -> None:
        row = self.make(personas, "mfg", "mfg_am")
        response = Client().get(reverse(self.ui_detail, args=[row.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert Client().get(self.api_base).status_code == 401
        assert Client().get(f"{self.api_base}/{row.pk}").status_code == 401

    @pytest.mark.django_db
    def test_without_permission_nothing_is_reachable(self, personas: Personas) -> None:
        row = self.make(personas, "mfg", "mfg_am")
        client = self.ui(personas, "nobody")
        assert client.get(reverse(self.ui_list)).status_code == 403
        assert client.get(reverse(self.ui_detail, args=[row.pk])).status_code == 404
        assert row.pk not in self.api_ids(personas, "nobody")
        api, auth = self.api(personas, "nobody")
        assert api.get(f"{self.api_base}/{row.pk}", **auth).status_code == 404

    @pytest.mark.django_db
    def test_permitted_user_lists_gets_changes_and_deletes(self, personas: Personas) -> None:
        row = self.make(personas, "mfg", "mfg_am")
        client = self.ui(personas, "mfg_manager")
        assert client.get(reverse(self.ui_detail, args=[row.pk])).status_code == 200
        assert row.pk in self.api_ids(personas, "mfg_manager")
        response = client.post(reverse(self.ui_edit, args=[row.pk]), self.edit_form(row))
        assert response.status_code == 302, response.content
        api, auth = self.api(personas, "mfg_manager")
        response = api.patch(
            f"{self.api_base}/{row.pk}", self.api_patch, content_type="application/json", **auth
        )
        assert response.status_code == 200, response.content
        if self.ui_delete:
            assert client.post(reverse(self.ui_delete, args=[row.pk])).status_code == 302
            assert not type(row).objects.filter(pk=row.pk).exists()

    @pytest.mark.django_db
    def test_own_scope_sees_only_own_rows(self, personas: Personas) -> None:
        mine = self.make(personas, "mfg", "mfg_am")
        colleagues = self.make(personas, "mfg", "mfg_am2")
        ids = self.api_ids(personas, "mfg_am")
        assert mine.pk in ids and colleagues.pk not in ids
        client = self.ui(personas, "mfg_am")
        assert client.get(reverse(self.ui_detail, args=[colleagues.pk])).status_code == 404
        # A team-scope lead of the same unit sees both.
        assert {mine.pk, colleagues.pk} <= self.api_ids(personas, "mfg_lead")

    @pytest.mark.django_db
    def test_other_bu_cannot_list_get_change_or_delete(self, personas: Personas) -> None:
        row = self.make(personas, "mfg", "mfg_am")
        before = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
        for who in ("fin_manager", "fin_am"):
            assert row.pk not in self.api_ids(personas, who)
            client = self.ui(personas, who)
            assert client.get(reverse(self.ui_detail, args=[row.pk])).status_code == 404
            assert client.get(reverse(self.ui_edit, args=[row.pk])).status_code == 404
            assert (
                client.post(reverse(self.ui_edit, args=[row.pk]), self.edit_form(row)).status_code
                == 404
            )
            if self.ui_delete:
                assert client.post(reverse(self.ui_delete, args=[row.pk])).status_code == 404
            api, auth = self.api(personas, who)
            assert api.get(f"{self.api_base}/{row.pk}", **auth).status_code == 404
            response = api.patch(
                f"{self.api_base}/{row.pk}", self.api_patch, content_type="application/json", **auth
            )
            assert response.status_code == 404
            assert response["Content-Type"] == "application/problem+json"
            assert api.delete(f"{self.api_base}/{row.pk}", **auth).status_code in (404, 405)
        row.refresh_from_db()
        assert {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields} == before
        # The group-wide analyst sees it, the subsidiary's manager too.
        assert row.pk in self.api_ids(personas, "analyst")
        assert row.pk in self.api_ids(personas, "mfg_manager")


class GroupWideBattery:
    """The battery for records shared group-wide (the customer golden record and its
    contacts): everyone with the module's view permission reads them across units, only
    units engaged with the customer write them, nobody else reaches them at all.

    ``make`` returns a row of a customer engaged by mfg's account manager ``mfg_am``."""

    api_list: str  # format string with {row.…} fields, e.g. "/api/v1/customers"
    api_detail: str  # e.g. "/api/v1/customers/{row.pk}"
    ui_detail: str  # URL name taking the customer's pk
    ui_edit: str  # URL name taking the row's pk
    api_patch: dict[str, Any]

    def make(self, personas: Personas) -> models.Model:
        raise NotImplementedError

    def customer_pk(self, row: models.Model) -> int:
        return row.pk

    def edit_form(self, row: models.Model) -> dict[str, Any]:
        raise NotImplementedError

    def _state(self, row: models.Model) -> dict[str, Any]:
        row.refresh_from_db()
        return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}

    @pytest.mark.django_db
    def test_anonymous_is_sent_to_login_and_api_says_401(self, personas: Personas) -> None:
        row = self.make(personas)
        response = Client().get(reverse(self.ui_detail, args=[self.customer_pk(row)]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert Client().get(self.api_list.format(row=row)).status_code == 401
        assert Client().get(self.api_detail.format(row=row)).status_code == 401

    @pytest.mark.django_db
    def test_without_permission_nothing_is_reachable(self, personas: Personas) -> None:
        row = self.make(personas)
        client = ui_client(personas, "nobody")
        assert client.get(reverse(self.ui_detail, args=[self.customer_pk(row)])).status_code == 403
        api, auth = api_client(personas, "nobody")
        assert api.get(self.api_list.format(row=row), **auth).status_code == 403
        assert api.get(self.api_detail.format(row=row), **auth).status_code == 403

    @pytest.mark.django_db
    def test_every_unit_reads_but_only_the_engaged_one_writes(self, personas: Personas) -> None:
        row = self.make(personas)
        before = self._state(row)
        for who in ("fin_am", "fin_manager", "analyst"):
            api, auth = api_client(personas, who)
            assert api.get(self.api_detail.format(row=row), **auth).status_code == 200
            response = api.patch(
                self.api_detail.format(row=row),
                self.api_patch,
                content_type="application/json",
                **auth,
            )
            assert response.status_code == 403, (who, response.content)
            assert response["Content-Type"] == "application/problem+json"
            client = ui_client(personas, who)
            assert client.get(reverse(self.ui_edit, args=[row.pk])).status_code == 403
            response = client.post(reverse(self.ui_edit, args=[row.pk]), self.edit_form(row))
            assert response.status_code == 403
        assert self._state(row) == before
        api, auth = api_client(personas, "mfg_am")
        response = api.patch(
            self.api_detail.format(row=row), self.api_patch, content_type="application/json", **auth
        )
        assert response.status_code == 200, response.content
        client = ui_client(personas, "mfg_am")
        response = client.post(reverse(self.ui_edit, args=[row.pk]), self.edit_form(row))
        assert response.status_code == 302, response.content
