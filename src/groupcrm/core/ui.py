"""Small helpers every UI view uses: paginate a list, run a service from a form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from groupcrm.core.errors import ValidationError

PAGE_SIZE = 25


def paginate(request: HttpRequest, items: Any, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's field errors on the form; unknown fields go to the top.

    Services name references by id (``parent_id``); forms by object (``parent``)."""
    for name, msgs in exc.fields.items():
        field = name if name in form.fields else name.removesuffix("_id")
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)
    if not exc.fields:
        form.add_error(None, str(exc.message))


def submit(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], Any],
    *,
    success_url: Callable[[Any], str] | str,
    message: str,
) -> HttpResponse | None:
    """On a valid POST, call the service; a redirect on success, None to re-render.

    Other domain errors (404, 403, 409) propagate to the one UI error handler.
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        result = save(form.cleaned_data)
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    messages.success(request, message)
    return redirect(success_url(result) if callable(success_url) else success_url)


def form_page(
    request: HttpRequest,
    form: forms.Form,
    *,
    title: str,
    back: str,
    template: str = "form.html",
    **extra: Any,
) -> HttpResponse:
    """The standard page of one form: a title, the fields, Save and Cancel (to ``back``)."""
    return render(request, template, {"form": form, "title": title, "back": back, **extra})
