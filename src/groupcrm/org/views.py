"""Organisation pages: org chart, units, users, memberships, roles."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from groupcrm.audit.selectors import object_history
from groupcrm.core.ui import form_page, paginate, submit
from groupcrm.org import selectors, services
from groupcrm.org.forms import (
    MembershipForm,
    MoveForm,
    RoleForm,
    UnitForm,
    UserCreateForm,
    UserEditForm,
)
from groupcrm.org.models import Role


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
def chart(request: HttpRequest) -> HttpResponse:
    request.actor.require("org", "view")
    return render(request, "org/chart.html", {"roots": selectors.org_chart(actor=request.actor)})


@login_required
def units(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("org", "view")
    return render(
        request,
        "org/units.html",
        {"units": selectors.bu_list(actor=actor), "can_create": actor.can("org", "create")},
    )


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    unit = selectors.bu_get(actor=actor, pk=pk)
    return render(
        request,
        "org/unit_detail.html",
        {
            "unit": unit,
            "members": unit.memberships.select_related("user", "role").order_by("user__username"),
            "children": unit.children.all(),
            "history": paginate(request, object_history(obj=unit)),
            "can_change": actor.can("org", "change"),
        },
    )


@login_required
def unit_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("org", "create")
    form = UnitForm(
        request.POST or None,
        actor=actor,
        with_parent=True,
        initial={"parent": _int(request.GET.get("parent"))},
    )

    def save(data: dict) -> object:
        parent = data.pop("parent")
        return services.bu_create(actor=actor, parent_id=parent.pk if parent else None, **data)

    done = submit(
        request,
        form,
        save,
        success_url=lambda u: reverse("org:unit", args=[u.pk]),
        message=_("Business unit created."),
    )
    return done or render(
        request,
        "form.html",
        {"form": form, "title": _("New business unit"), "back": reverse("org:units")},
    )


@login_required
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    unit = selectors.bu_get(actor=actor, pk=pk, action="change")
    form = UnitForm(
        request.POST or None,
        actor=actor,
        with_parent=False,
        initial={"name": unit.name, "code": unit.code, "kind": unit.kind},
    )
    done = submit(
        request,
        form,
        lambda d: services.bu_update(actor=actor, pk=pk, **d),
        success_url=reverse("org:unit", args=[pk]),
        message=_("Business unit saved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Edit %(name)s") % {"name": unit},
        back=reverse("org:unit", args=[pk]),
    )


@login_required
def unit_move(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    unit = selectors.bu_get(actor=actor, pk=pk, action="change")
    form = MoveForm(request.POST or None, actor=actor, initial={"parent": unit.parent_id})
    done = submit(
        request,
        form,
        lambda d: services.bu_move(actor=actor, pk=pk, parent_id=d["parent"].pk),
        success_url=reverse("org:unit", args=[pk]),
        message=_("Business unit moved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Move %(name)s") % {"name": unit},
        back=reverse("org:unit", args=[pk]),
    )


@login_required
@require_POST
def unit_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    unit = selectors.bu_get(actor=request.actor, pk=pk, action="change")
    services.bu_set_active(actor=request.actor, pk=pk, active=not unit.is_active)
    messages.success(
        request,
        _("Business unit activated.") if not unit.is_active else _("Business unit deactivated."),
    )
    return redirect("org:unit", pk=pk)


@login_required
def users(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("org", "view")
    active = {"1": True, "0": False}.get(request.GET.get("active", ""))
    items = selectors.user_list(
        actor=actor,
        q=request.GET.get("q", "").strip(),
        bu_id=_int(request.GET.get("bu")),
        role_id=_int(request.GET.get("role")),
        active=active,
        ordering=request.GET.get("ordering", "username"),
    )
    context = {
        "page": paginate(request, items),
        "units": selectors.bu_list(actor=actor),
        "roles": Role.objects.order_by("name"),
        "can_create": actor.can("org", "create"),
    }
    template = "org/_user_rows.html" if request.htmx else "org/users.html"
    return render(request, template, context)


@login_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    user = selectors.user_get(actor=actor, pk=pk)
    return render(
        request,
        "org/user_detail.html",
        {
            "person": user,
            "memberships": selectors.membership_list(actor=actor, user=user),
            "two_factor": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            "history": paginate(request, object_history(obj=user)),
            "can_change": actor.can("org", "change"),
            "can_admin": actor.can("org", "admin"),
            "membership_form": MembershipForm(actor=actor) if actor.can("org", "admin") else None,
        },
    )


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("org", "create")
    form = UserCreateForm(request.POST or None, actor=actor)

    def save(data: dict) -> object:
        bu, role = data.pop("bu"), data.pop("role")
        return services.user_create(actor=actor, bu_id=bu.pk, role_id=role.pk, **data)

    done = submit(
        request,
        form,
        save,
        success_url=lambda u: reverse("org:user", args=[u.pk]),
        message=_("User created."),
    )
    return done or render(
        request, "form.html", {"form": form, "title": _("New user"), "back": reverse("org:users")}
    )


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    user = selectors.user_get(actor=actor, pk=pk, action="change")
    fields = ("display_name", "email", "phone", "title", "language")
    form = UserEditForm(request.POST or None, initial={f: getattr(user, f) for f in fields})
    done = submit(
        request,
        form,
        lambda d: services.user_update(actor=actor, pk=pk, **d),
        success_url=reverse("org:user", args=[pk]),
        message=_("User saved."),
    )
    return done or form_page(
        request,
        form,
        title=_("Edit %(name)s") % {"name": user},
        back=reverse("org:user", args=[pk]),
    )


@login_required
@require_POST
def user_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.actor, pk=pk, action="change")
    services.user_set_active(actor=request.actor, pk=pk, active=not user.is_active)
    messages.success(
        request, _("User activated.") if not user.is_active else _("User deactivated.")
    )
    return redirect("org:user", pk=pk)


@login_required
@require_POST
def user_reset_two_factor(request: HttpRequest, pk: int) -> HttpResponse:
    services.totp_disable(actor=request.actor, pk=pk)
    messages.success(request, _("Two-factor authentication removed; the user can enrol again."))
    return redirect("org:user", pk=pk)


@login_required
@require_POST
def membership_add(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    form = MembershipForm(request.POST, actor=actor)
    if form.is_valid():
        services.membership_add(
            actor=actor,
            user_id=pk,
            bu_id=form.cleaned_data["bu"].pk,
            role_id=form.cleaned_data["role"].pk,
            is_primary=form.cleaned_data["is_primary"],
        )
        messages.success(request, _("Membership added."))
    else:
        messages.error(request, _("Choose a unit and a role."))
    return redirect("org:user", pk=pk)


@login_required
@require_POST
def membership_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user_id = int(request.POST.get("user", "0") or 0)
    services.membership_remove(actor=request.actor, pk=pk)
    messages.success(request, _("Membership removed."))
    return redirect("org:user", pk=user_id) if user_id else redirect("org:users")


@login_required
def roles(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    return render(
        request,
        "org/roles.html",
        {"roles": selectors.role_list(actor=actor), "can_admin": actor.can("org", "admin")},
    )


def _role_form_page(request: HttpRequest, form: RoleForm, title: str) -> HttpResponse:
    return render(request, "org/role_form.html", {"form": form, "title": title})


@login_required
def role_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    actor.require("org", "admin")
    form = RoleForm(request.POST or None)

    def save(data: dict) -> object:
        data.pop("is_active")
        return services.role_create(actor=actor, **data)

    done = submit(request, form, save, success_url=reverse("org:roles"), message=_("Role created."))
    return done or _role_form_page(request, form, _("New role"))


@login_required
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    actor.require("org", "admin")
    role = selectors.role_get(actor=actor, pk=pk)
    fields = (
        "name",
        "code",
        "description",
        "data_scope",
        "mfa_required",
        "is_active",
        "permissions",
    )
    form = RoleForm(request.POST or None, initial={f: getattr(role, f) for f in fields})
    done = submit(
        request,
        form,
        lambda d: services.role_update(actor=actor, pk=pk, **d),
        success_url=reverse("org:roles"),
        message=_("Role saved."),
    )
    return done or _role_form_page(request, form, _("Edit role %(name)s") % {"name": role})
