"""The answer to an unexpected error (``handler500``): no details, but the request id, so an agent's
report can be matched with the log line (crmdemo.request_id)."""

from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _

from crmdemo.request_id import current_request_id


def server_error(request):
    """HTTP 500: ``{"error", "requestId"}`` for JSON clients and JSON API views, else the
    ``500.html`` page."""
    request_id = current_request_id() or "-"
    view = getattr(getattr(request, "resolver_match", None), "func", None)
    wants_json = (
        getattr(view, "json_api", False)
        or "json" in request.headers.get("Accept", "")
        or "json" in request.content_type
    )
    if wants_json:
        return JsonResponse(
            {"error": _("Internal server error."), "requestId": request_id}, status=500
        )
    page = loader.get_template("500.html").render({"request_id": request_id})
    return HttpResponseServerError(page)
