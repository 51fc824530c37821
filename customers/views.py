"""Customer pages and the JSON phone lookup. Thin: parse, call one service, render."""

import json
from functools import wraps

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crmdemo.throttling import rate_limited
from customers import reconcile, services
from customers.forms import CustomerCreateForm
from customers.models import CallRecord, Customer

VIEW_PERM = "customers.view_customer"


def _can_view(view):
    """Pages: sign-in required (redirect to login), then the view permission (403)."""
    return login_required(permission_required(VIEW_PERM, raise_exception=True)(view))


def _json_can_view(view):
    """API: 401 / 403 with a JSON error body instead of a redirect to the login page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": _("Sign in first.")}, status=401)
        if not request.user.has_perm(VIEW_PERM):
            return JsonResponse({"error": _("You may not view customers.")}, status=403)
        return view(request, *args, **kwargs)

    wrapper.json_api = True  # errors in JSON, also those of the middleware (crmdemo.middleware)
    return wrapper


@_can_view
def customer_list(request):
    """Customer list with search (``q``) and keyset pagination (``after`` / ``before``)."""
    query = request.GET.get("q", "").strip()
    try:
        page = services.search_customers(
            query, after=request.GET.get("after"), before=request.GET.get("before")
        )
    except services.InvalidSearch as exc:
        ctx = {"query": services.printable(query), "error": str(exc), "customers": []}
        return render(request, "customers/list.html", ctx, status=400)
    ctx = {"query": query, "page": page, "customers": page.customers}
    return render(request, "customers/list.html", ctx)


@_can_view
def customer_detail(request, pk):
    """One customer with all of its phone numbers."""
    return _customer_page(request, pk)


def _customer_page(request, pk, status=200, **extra):
    customer = get_object_or_404(Customer.objects.prefetch_related("phones"), pk=pk)
    ctx = {"customer": customer, "calls": services.recent_calls(customer), **extra}
    return render(request, "customers/detail.html", ctx, status=status)


@require_POST
@_can_view
def call_notes(request, pk):
    """``POST /customers/calls/<pk>/notes``: the agent edits the wrap-up notes of one of their own
    calls on a customer's page, then returns there. 404 for another agent's call; unusable notes
    give the page again with the error and the typed text (400)."""
    record = get_object_or_404(CallRecord, pk=pk, agent=request.user, customer__isnull=False)
    if "notes" not in request.POST:
        # A save that does not name the notes changes nothing (it used to wipe them).
        error = {"notes_error": _("Send the notes field."), "notes_call": record.pk}
        return _customer_page(request, record.customer_id, status=400, **error)
    notes = request.POST["notes"]
    try:
        services.set_call_notes(request.user, record.pk, notes)
    except services.InvalidCallEvent as exc:
        error = {"notes_error": str(exc), "notes_call": record.pk, "notes_text": notes}
        return _customer_page(request, record.customer_id, status=400, **error)
    return redirect(reverse("customers:detail", args=[record.customer_id]) + "#calls")


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request):
    """``/customers/new``: the new-customer form; ``?phone=&call=`` prefill it (screen pop of an
    unknown caller). Created -> the customer's page; invalid -> the form again (400)."""
    if request.method != "POST":
        initial = {k: request.GET.get(k, "")[:64] for k in ("phone", "call", "name")}
        form = CustomerCreateForm(initial=initial)
        return render(request, "customers/create.html", {"form": form})
    form = CustomerCreateForm(request.POST)
    if not form.is_valid():
        return render(request, "customers/create.html", {"form": form}, status=400)
    data = form.cleaned_data
    customer = services.create_customer(
        data["name"],
        [data["phone"], data["phone2"]],
        company=data["company"],
        email=data["email"],
        notes=data["notes"],
        agent=request.user,
        call_contact_id=data["call"],
    )
    return redirect(customer)


@_can_view
def customer_by_phone(request, number):
    """The seed's ``/customer/phoneNumber/<number>``: one match -> detail, several -> list."""
    try:
        matches = services.find_by_phone(number)
    except services.InvalidPhoneNumber as exc:
        ctx = {"number": services.printable(number), "error": str(exc)}
        return render(request, "customers/by_phone.html", ctx, status=400)
    if len(matches) == 1:
        return redirect(matches[0])
    status = 200 if matches else 404
    ctx = {"number": number, "customers": matches}
    return render(request, "customers/by_phone.html", ctx, status=status)


@_json_can_view
@rate_limited("customers.lookup", "RATELIMIT_LOOKUP")
def customer_lookup(request):
    """``GET /customers/lookup?number=...`` -> every customer with that number, for screen pop.

    200: ``{"number", "normalized", "display", "dial", "matches": [{"id", "name", "company",
    "url", "phones"}]}`` (``display``: the number as the pages show it; ``dial``: what to dial
    for it, as click-to-dial does: :func:`customers.phones.dial_string`);
    400: ``{"error": ...}`` when ``number`` is missing or not a phone number.
    """
    number = request.GET.get("number", "")
    try:
        matches = services.find_by_phone(number)
    except services.InvalidPhoneNumber as exc:
        return JsonResponse({"error": str(exc), "number": number}, status=400)
    return JsonResponse(
        {
            "number": number,
            "normalized": services.normalize_phone(number),
            "display": services.display_phone(number),
            "dial": services.dial_string(number),
            "matches": [
                services.customer_as_json(c, request.build_absolute_uri(c.get_absolute_url()))
                for c in matches
            ],
        }
    )


@_json_can_view
@rate_limited("customers.lookup", "RATELIMIT_LOOKUP")
def customer_context(request, pk):
    """``GET /customers/<pk>/context`` -> the caller's context for the console (JSON).

    200: :func:`customers.services.caller_context` (notes and recent calls, in the request's
    language); 404 ``{"error"}`` for a customer that does not exist.
    """
    customer = Customer.objects.filter(pk=pk).first()
    if customer is None:
        return JsonResponse({"error": _("No such customer.")}, status=404)
    return JsonResponse(services.caller_context(customer))


@_json_can_view
@rate_limited("customers.call_log", "RATELIMIT_CALL_LOG")
def call_log(request):
    """``POST /customers/calls/log``: record one softphone event of the agent's call (JSON).

    Body: ``{"event", "contactId", "direction", "caller", "callee", "connid", "at", "notes",
    "customerId"}`` (see :func:`customers.services.log_call`). 200: ``{"call": {...}}`` (the merged
    record, :func:`customers.services.call_as_json`); 400 ``{"error"}`` for a body that is not a
    JSON object or an event that cannot be recorded; 405 for other methods. Login and CSRF token
    (``X-CSRFToken`` header) required.
    """
    if request.method != "POST":
        return JsonResponse({"error": _("Use POST.")}, status=405, headers={"Allow": "POST"})
    if request.content_type != "application/json":
        # A form or multipart body is not this API's: never parse it (a file upload included).
        error = _("Send the event as application/json.")
        return JsonResponse({"error": error}, status=415)
    try:
        data = json.loads(request.body)
    except RequestDataTooBig:
        return JsonResponse({"error": _("The body is too large.")}, status=413)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return JsonResponse({"error": _("The body must be a JSON object.")}, status=400)
    if not isinstance(data, dict):
        return JsonResponse({"error": _("The body must be a JSON object.")}, status=400)
    try:
        record = services.log_call(
            request.user,
            event=data.get("event"),
            contact_id=data.get("contactId"),
            direction=data.get("direction"),
            caller=data.get("caller"),
            callee=data.get("callee"),
            connid=data.get("connid"),
            at=data.get("at"),
            notes=data.get("notes"),
            customer_id=data.get("customerId"),
        )
    except services.InvalidCallEvent as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if data.get("event") == "released":
        record = reconcile.settle_ended_call(request.user, record)
    return JsonResponse({"call": services.call_as_json(record)})
