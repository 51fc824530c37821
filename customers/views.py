"""Customer pages and the JSON phone lookup. Thin: parse, call one service, render."""

from functools import wraps

from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from customers import services
from customers.models import Customer

VIEW_PERM = "customers.view_customer"


def _can_view(view):
    """Pages: sign-in required (redirect to login), then the view permission (403)."""
    return login_required(permission_required(VIEW_PERM, raise_exception=True)(view))


def _json_can_view(view):
    """API: 401 / 403 with a JSON error body instead of a redirect to the login page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Sign in first."}, status=401)
        if not request.user.has_perm(VIEW_PERM):
            return JsonResponse({"error": "You may not view customers."}, status=403)
        return view(request, *args, **kwargs)

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
    customer = get_object_or_404(Customer.objects.prefetch_related("phones"), pk=pk)
    return render(request, "customers/detail.html", {"customer": customer})


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
def customer_lookup(request):
    """``GET /customers/lookup?number=...`` -> every customer with that number, for screen pop.

    200: ``{"number", "normalized", "matches": [{"id", "name", "company", "url", "phones"}]}``;
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
            "matches": [
                services.customer_as_json(c, request.build_absolute_uri(c.get_absolute_url()))
                for c in matches
            ],
        }
    )
