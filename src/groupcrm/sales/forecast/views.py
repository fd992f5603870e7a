"""Forecast pages: the dashboard (预测与业绩), quotas, commission, the group pipeline
roll-up, and the revenue-split editor of an opportunity."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from groupcrm.audit.models import AccessRecord
from groupcrm.audit.services import access_record
from groupcrm.core.actor import Actor
from groupcrm.core.errors import ValidationError
from groupcrm.core.ui import apply_errors, paginate
from groupcrm.org.models import BusinessUnit, Membership, Role, User
from groupcrm.org.selectors import units_for
from groupcrm.sales import selectors as sales_selectors
from groupcrm.sales import services as sales_services
from groupcrm.sales.forecast import selectors, services
from groupcrm.sales.forecast.forms import (
    QuotaBulkForm,
    QuotaForm,
    QuotaImportForm,
    RuleForm,
    SplitFormSet,
)
from groupcrm.sales.forecast.selectors import Level, Period


def _next(request: HttpRequest, default: str) -> str:
    """Where to go back to after a POST: the page's own address, never another site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdecimal() else None


def _period(request: HttpRequest) -> tuple[Period, str]:
    """The period asked for, or the current quarter with the reason it was not taken."""
    try:
        return Period.parse(request.GET.get("period")), ""
    except ValidationError as exc:
        return Period.current_quarter(), exc.fields["period"][0]


def _members(units: list[BusinessUnit]) -> list[User]:
    """Active members of ``units`` and the units below them (who may hold a quota)."""
    if not units:
        return []
    below = Q(pk__in=[])
    for unit in units:
        below |= Q(memberships__bu__path__startswith=unit.path)
    return list(
        User.objects.filter(below, is_active=True, memberships__is_active=True)
        .distinct()
        .order_by("username")
    )


def _sellers(unit: BusinessUnit) -> list[User]:
    """Active members of ``unit`` and below whose role sells (creates opportunities):
    the rows of the quota grid."""
    memberships = Membership.objects.filter(
        bu__path__startswith=unit.path, is_active=True, user__is_active=True
    ).select_related("user", "role")
    people = {
        m.user_id: m.user for m in memberships if "opportunities.create" in m.role.permissions
    }
    return sorted(people.values(), key=lambda u: u.username)


def _filters(request: HttpRequest, actor: Actor) -> dict[str, Any]:
    period, error = _period(request)
    level = request.GET.get("level") or (Level.REP if _own_only(actor) else Level.TEAM)
    if level not in Level.ALL:
        level = Level.TEAM
    units = selectors.visible_units(actor)
    bu_id = _int(request.GET.get("bu_id"))
    if bu_id not in {u.pk for u in units}:
        bu_id = None
    return {"period": period, "error": error, "level": level, "bu_id": bu_id, "units": units}


def _own_only(actor: Actor) -> bool:
    return actor.widest_scope("forecast", "view") == "own"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    f = _filters(request, actor)
    if f["error"]:
        messages.warning(request, f["error"])
    result = selectors.forecast(actor=actor, period=f["period"], level=f["level"], bu_id=f["bu_id"])
    return render(
        request,
        "forecast/dashboard.html",
        {
            **f,
            "result": result,
            "levels": selectors.level_choices(),
            "chart": {
                "labels": {
                    "quota": _("Quota"),
                    "won": _("Won"),
                    "forecast": _("Forecast (won + commit)"),
                },
                "months": result.months,
            },
            "can_export": actor.can("forecast", "export"),
            "can_refresh": actor.can("forecast", "admin"),
            "refreshed_at": selectors.refreshed_at(),
            "query": request.GET.urlencode(),
        },
    )


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Rebuild the figures now instead of at the next five-minute run."""
    services.forecast_refresh(actor=request.actor)
    messages.success(request, _("The figures are up to date."))
    return redirect(_next(request, reverse("forecast:dashboard")))


def _csv_response(filename: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # Excel opens UTF-8 with a BOM as UTF-8
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
def dashboard_export(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("forecast", "export")
    f = _filters(request, actor)
    result = selectors.forecast(actor=actor, period=f["period"], level=f["level"], bu_id=f["bu_id"])
    access_record(
        actor=actor,
        kind=AccessRecord.Kind.EXPORT,
        object_type="forecast",
        object_repr=f"{result.period.code} {result.level}",
        detail=f"bu_id={f['bu_id'] or ''} rows={len(result.rows)}",
    )
    header = [
        _("Rep") if result.level == Level.REP else _("Unit"),
        _("Quota"),
        _("Won"),
        _("Commit"),
        _("Best case"),
        pgettext("forecast category", "Pipeline"),
        _("Weighted"),
        _("Attainment (%)"),
    ]
    rows = [
        [
            d["label"],
            d["quota"],
            d["won"],
            d["commit"],
            d["best_case"],
            d["pipeline"],
            d["weighted"],
            d["attainment"] or "",
        ]
        for d in (r.as_dict() for r in [*result.rows, result.total])
    ]
    return _csv_response(f"forecast-{result.period.code}-{result.level}.csv", header, rows)


@login_required
def rollup(request: HttpRequest) -> HttpResponse:
    top = _int(request.GET.get("top")) or 20
    result = selectors.group_pipeline(actor=request.actor, top=top)
    return render(
        request,
        "forecast/rollup.html",
        {"result": result, "top": min(top, 100), "refreshed_at": selectors.refreshed_at()},
    )


# --- quotas ------------------------------------------------------------------------------


@login_required
def quota_grid(request: HttpRequest) -> HttpResponse:
    """A unit's quotas for a year: a row for the unit and one per rep, a column per month;
    with the bulk form to set the same quota over several months."""
    actor = request.actor
    actor.require("forecast", "admin")
    units = list(units_for(actor=actor, module="forecast", action="admin"))
    unit = next((u for u in units if u.pk == _int(request.GET.get("bu_id"))), None)
    unit = unit or (actor.bu if actor.bu in units else units[0] if units else None)
    year = _int(request.GET.get("year")) or Period.current_quarter().start.year
    year = min(max(year, 2000), 2100)
    people = _sellers(unit) if unit else []
    form = QuotaBulkForm(
        request.POST or None,
        people=people,
        initial={"start": f"{year}-01", "months": 12, "targets": [request.GET.get("target", "")]},
    )
    if request.method == "POST" and unit is not None and form.is_valid():
        try:
            written = services.quota_bulk_set(
                actor=actor,
                bu_id=unit.pk,
                start=form.cleaned_data["start"],
                months=form.cleaned_data["months"],
                amount=form.cleaned_data["amount"],
                user_ids=form.user_ids(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("%(count)d monthly quotas saved.") % {"count": len(written)}
            )
            return redirect(f"{reverse('forecast:quotas')}?bu_id={unit.pk}&year={year}")
    grid = []
    if unit is not None:
        whole_year = Period.parse(str(year))
        cells = {
            (q.user_id, q.period): q
            for q in selectors.quota_list(actor=actor, bu_id=unit.pk, period=whole_year)
        }
        months = whole_year.month_list
        for key, label in [
            (None, _("The unit as a whole")),
            *((p.pk, p.display_name or p.username) for p in people),
        ]:
            row = [cells.get((key, m)) for m in months]
            grid.append(
                {
                    "key": key or "unit",
                    "label": label,
                    "cells": row,
                    "total": sum(q.amount for q in row if q),
                }
            )
    return render(
        request,
        "forecast/quotas.html",
        {
            "units": units,
            "unit": unit,
            "year": year,
            "grid": grid,
            "form": form,
            "import_form": QuotaImportForm(),
            "months": range(1, 13),
        },
    )


@login_required
@require_POST
def quota_import(request: HttpRequest) -> HttpResponse:
    """Quotas from an uploaded CSV (unit, user, month, amount): all rows or none."""
    form = QuotaImportForm(request.POST, request.FILES)
    back = _next(request, reverse("forecast:quotas"))
    if not form.is_valid():
        messages.error(request, _("Choose a CSV file."))
        return redirect(back)
    try:
        text = form.cleaned_data["file"].read().decode("utf-8-sig")
    except UnicodeDecodeError:
        messages.error(request, _("Save the file as CSV in UTF-8."))
        return redirect(back)
    rows = [
        {k.strip().lower(): (v or "") for k, v in row.items() if k}
        for row in csv.DictReader(io.StringIO(text))
    ]
    try:
        written = services.quota_import(actor=request.actor, rows=rows)
    except ValidationError as exc:
        messages.error(request, str(exc.message))
        for line, problem in list(exc.fields.items())[:20]:
            messages.error(request, f"{line}: {problem[0]}")
        return redirect(back)
    messages.success(request, _("%(count)d monthly quotas saved.") % {"count": len(written)})
    return redirect(back)


@login_required
def quota_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One month's quota: its amount, changed here; cleared with Delete."""
    actor = request.actor
    quota = selectors.quota_get(actor=actor, pk=pk, action="admin")
    form = QuotaForm(request.POST or None, initial={"amount": quota.amount})
    back = f"{reverse('forecast:quotas')}?bu_id={quota.bu_id}&year={quota.period.year}"
    if request.method == "POST" and form.is_valid():
        try:
            services.quota_update(actor=actor, pk=pk, amount=form.cleaned_data["amount"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Quota saved."))
            return redirect(back)
    who = quota.user.display_name or quota.user.username if quota.user else quota.bu.name
    return render(
        request,
        "form.html",
        {
            "form": form,
            "title": _("Quota of %(who)s for %(month)s")
            % {"who": who, "month": quota.period.strftime("%Y-%m")},
            "back": back,
        },
    )


@login_required
@require_POST
def quota_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.quota_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Quota deleted."))
    return redirect(_next(request, reverse("forecast:quotas")))


# --- commission --------------------------------------------------------------------------


def _commission(request: HttpRequest) -> tuple[dict[str, Any], list[selectors.CommissionLine]]:
    actor = request.actor
    f = _filters(request, actor)
    lines = selectors.commission_report(actor=actor, period=f["period"], bu_id=f["bu_id"])
    return f, lines


@login_required
def commission(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    f, lines = _commission(request)
    if f["error"]:
        messages.warning(request, f["error"])
    return render(
        request,
        "forecast/commission.html",
        {
            **f,
            "lines": lines,
            "rules": paginate(request, selectors.rule_list(actor=actor)),
            "can_admin": actor.can("forecast", "admin"),
            "can_export": actor.can("forecast", "export"),
            "query": request.GET.urlencode(),
        },
    )


@login_required
def commission_export(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("forecast", "export")
    f, lines = _commission(request)
    access_record(
        actor=actor,
        kind=AccessRecord.Kind.EXPORT,
        object_type="commission",
        object_repr=f["period"].code,
        detail=f"bu_id={f['bu_id'] or ''} rows={len(lines)}",
    )
    header = [
        _("Rep"),
        _("Units"),
        _("Credited won (CNY)"),
        _("Quota"),
        _("Attainment (%)"),
        _("Rules"),
        _("Effective rate (%)"),
        _("Commission (CNY)"),
        _("Won without a rule"),
    ]
    rows = [
        [
            line.name,
            "、".join(line.units),
            line.won,
            line.quota or "",
            line.attainment if line.attainment is not None else "",
            "; ".join(line.rules),
            line.rate if line.rate is not None else "",
            line.commission,
            line.unruled,
        ]
        for line in lines
    ]
    return _csv_response(f"commission-{f['period'].code}.csv", header, rows)


def _rule_form(request: HttpRequest, actor: Actor, initial: dict[str, Any]) -> RuleForm:
    units = list(units_for(actor=actor, module="forecast", action="admin"))
    return RuleForm(
        request.POST or None,
        initial=initial,
        units=units,
        roles=list(Role.objects.filter(is_active=True).order_by("name")),
        people=_members(units),
    )


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("forecast", "admin")
    form = _rule_form(request, actor, {"bu_id": actor.bu.pk if actor.bu else None})
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Commission rule saved."))
            return redirect("forecast:commission")
    return render(
        request,
        "form.html",
        {"form": form, "title": _("New commission rule"), "back": reverse("forecast:commission")},
    )


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    rule = selectors.rule_get(actor=actor, pk=pk, action="admin")
    form = _rule_form(request, actor, RuleForm.initial_from(rule))
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_update(actor=actor, pk=pk, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Commission rule saved."))
            return redirect("forecast:commission")
    return render(
        request,
        "form.html",
        {
            "form": form,
            "title": _("Edit %(name)s") % {"name": rule.name},
            "back": reverse("forecast:commission"),
        },
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.rule_delete(actor=request.actor, pk=pk)
    messages.success(request, _("Commission rule deleted."))
    return redirect("forecast:commission")


# --- revenue splits of an opportunity ---------------------------------------------------


@login_required
def opportunity_splits(request: HttpRequest, pk: int) -> HttpResponse:
    """Set by hand how an opportunity's won amount is credited (opportunities.admin)."""
    actor = request.actor
    actor.require("opportunities", "admin")
    opportunity = sales_selectors.opportunity_get(actor=actor, pk=pk, action="change")
    # What the service accepts: any active unit, and a member of the chosen unit or below.
    units = list(BusinessUnit.objects.filter(is_active=True).order_by("path"))
    active = {u.pk for u in units}
    tops = [u for u in units if u.parent_id not in active]
    initial = [
        {"bu_id": bu_id, "user_id": user_id, "percent": percent}
        for bu_id, user_id, percent in sales_selectors.splits_of(opportunity)
    ]
    formset = SplitFormSet(
        request.POST or None,
        initial=initial,
        form_kwargs={"units": units, "people": _members(tops)},
        prefix="splits",
    )
    if request.method == "POST" and formset.is_valid():
        included = [
            form
            for form in formset.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        shares = [
            {k: v for k, v in form.cleaned_data.items() if k != "DELETE"} for form in included
        ]
        try:
            sales_services.opportunity_set_splits(actor=actor, pk=pk, shares=shares)
        except ValidationError as exc:
            for name, msgs in exc.fields.items():
                parts = name.split(".")
                if len(parts) == 3 and parts[1].isdecimal() and int(parts[1]) < len(included):
                    for msg in msgs:
                        included[int(parts[1])].add_error(None, msg)
                else:
                    messages.error(request, " ".join(msgs))
        else:
            messages.success(request, _("Revenue splits saved."))
            return redirect("sales:detail", pk)
    return render(request, "forecast/splits.html", {"o": opportunity, "formset": formset})
