"""HTTP face of the proxy: the softphone SDK's ``ajaxPath`` endpoint and a DEBUG-only tool page."""

import json
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from ccc_proxy import services
from ccc_proxy.services import ProxyError
from crmdemo.throttling import over_limit

# Fetch Metadata values accepted on the API (absent = an older browser or a non-browser client,
# left to Django's Origin and CSRF checks).
_SAME_ORIGIN = {None, "same-origin"}


def _parsed(request: HttpRequest, attribute: str):
    """``request.GET`` or ``request.POST``, with Django's refusals as ``ProxyError``: 413 past
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, 400 past ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` (or
    ``..._FILES``) or for a body that cannot be parsed."""
    try:
        return getattr(request, attribute)
    except RequestDataTooBig as exc:
        raise ProxyError(413, "RequestTooLarge", "the request body is too large") from exc
    except (TooManyFieldsSent, TooManyFilesSent) as exc:
        raise ProxyError(400, "InvalidRequest", "the request has too many fields") from exc
    except (MultiPartParserError, BadRequest, UnreadablePostError) as exc:
        raise ProxyError(400, "InvalidRequest", "the request body could not be read") from exc


def _read_form(request: HttpRequest) -> None:
    """Have Django read and parse a POST body now (``_parsed``), refusing first one larger than
    ``CCC_PROXY_MAX_BODY_BYTES`` (413). Done before the CSRF check, which reads
    ``request.POST`` and would otherwise let Django's refusals escape as its HTML 400 page."""
    if request.method != "POST":
        return
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise ProxyError(400, "InvalidRequest", "bad Content-Length") from exc
    if declared > settings.CCC_PROXY_MAX_BODY_BYTES:
        limit = settings.CCC_PROXY_MAX_BODY_BYTES
        raise ProxyError(413, "RequestTooLarge", f"the request is larger than {limit} bytes")
    _parsed(request, "POST")


def _softphone_request_text(request: HttpRequest) -> str:
    """Parse the HTTP request the SDK sent into its ``request`` JSON text (ProxyError if bad).
    The body has been read by ``_read_form``."""
    if request.method != "POST":
        raise ProxyError(405, "MethodNotAllowed", "use POST")
    if not request.user.is_authenticated:
        raise ProxyError(401, "LoginRequired", _("sign in to the CRM first"))
    if request.headers.get("Sec-Fetch-Site") not in _SAME_ORIGIN:
        raise ProxyError(403, "CrossOriginRefused", "cross-origin requests are refused")
    query = request.GET
    services.check_sdk_query(query.get("product"), query.get("version"), query.get("region"))
    if request.content_type == "multipart/form-data":
        body, form_request = b"", request.POST.get("request")
    else:
        body, form_request = request.body, None
    return services.read_request_text(
        request.META.get("CONTENT_TYPE", ""), body, request.GET.get("request"), form_request
    )


def _throttle(request: HttpRequest) -> None:
    """ProxyError 429 (with ``retry_after``) past ``RATELIMIT_CCC_PROXY`` calls of this agent."""
    if not request.user.is_authenticated:
        return  # answered 401 later; nothing to count per user
    retry_after = over_limit(request, "ccc_proxy.api", settings.RATELIMIT_CCC_PROXY)
    if retry_after is not None:
        raise ProxyError(
            429,
            "Throttling",
            _("too many requests; retry in %(seconds)s s") % {"seconds": retry_after},
            retry_after=retry_after,
        )


def _refused(
    request: HttpRequest, action: str | None, exc: ProxyError, started: float
) -> JsonResponse:
    local_id = None if exc.upstream_request_id else exc.request_id
    services.log_call(
        request.user,
        action,
        exc.status,
        exc.upstream_request_id,
        started,
        error=exc.error_code,
        local_request_id=local_id,
    )
    headers = {"Allow": "POST"} if exc.status == 405 else {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return JsonResponse(exc.as_json(), status=exc.status, headers=headers)


@csrf_exempt  # only so that an unreadable body is answered in JSON before the CSRF check...
def api(request: HttpRequest) -> JsonResponse:
    """``POST /aliyun/ccc/api?action=<Api>`` with ``request=<JSON object>`` (form field, query
    parameter, or the raw body): the softphone SDK's ``ajaxPath``. The 2.x SDK adds
    ``&product=CloudCallCenter&version=2020-07-01&region=<regionId>`` (checked).

    200 with the answer (converted for 1.x, as is for 2.x), or the error body of
    ``ProxyError.as_json`` with 400, 401, 403, 405, 413, the upstream's 4xx, 502, 503 or 504
    (see ``services``). CSRF is enforced by
    Django's ``CsrfViewMiddleware`` (as ``csrf_protect``, right after the body is read; the SDK
    sends ``X-CSRFToken`` through ``ajaxHeaders``); a rejection is answered in the same JSON
    shape by ``csrf_failure``. A body Django refuses to parse (too
    large, too many fields) is answered 413/400 in that shape too (``_read_form``).
    """
    started = time.monotonic()
    action = None
    try:
        action = _parsed(request, "GET").get("action")
        _throttle(request)
        _read_form(request)
    except ProxyError as exc:
        return _refused(request, action, exc, started)
    return _checked_api(request, action, started)


@csrf_protect  # ...which runs here, after the body was read safely
def _checked_api(request: HttpRequest, action: str | None, started: float) -> JsonResponse:
    try:
        result = services.forward(request.user, action, _softphone_request_text(request))
    except ProxyError as exc:
        return _refused(request, action, exc, started)
    services.log_call(
        request.user, action, 200, result.request_id, started, retried=result.retried or None
    )
    return JsonResponse(result.body)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """The API's answer to a CSRF failure: JSON 403 in the proxy's error shape. Called by the
    project's ``CSRF_FAILURE_VIEW`` (``workbench.views.csrf_failure``) for this view."""
    error = ProxyError(403, "CsrfFailed", f"CSRF verification failed: {reason}")
    services.log_call(
        request.user, request.GET.get("action"), 403, None, time.monotonic(), error=error.error_code
    )
    return JsonResponse(error.as_json(), status=403)


api.csrf_failure = csrf_failure
api.json_api = True


def unreadable_request(request: HttpRequest, message: str, status: int) -> JsonResponse:
    """The API's answer to a request the project's middleware refused before parsing it (too
    many fields, a charset other than UTF-8, invalid UTF-8): the proxy's error shape."""
    code = "RequestTooLarge" if status == 413 else "InvalidRequest"
    return JsonResponse(ProxyError(status, code, message).as_json(), status=status)


api.unreadable_request = unreadable_request


@login_required
def debug(request: HttpRequest):
    """``/aliyun/ccc/api/debug`` (DEBUG only, else 404): call an allowed action by hand and see
    the upstream's raw answer next to the converted one."""
    if not settings.DEBUG:
        raise Http404("The CCC proxy debug page exists only with DEBUG on.")
    actions = services.allowed_actions()
    context = {
        "actions": actions,
        "action": request.POST.get("action", actions[0] if actions else ""),
        "request_text": request.POST.get("request", "{}"),
    }
    if request.method == "POST":
        started = time.monotonic()
        try:
            result = services.forward(request.user, context["action"], context["request_text"])
        except ProxyError as exc:
            context.update(status=exc.status, error=json.dumps(exc.as_json(), indent=2))
            services.log_call(
                request.user,
                context["action"],
                exc.status,
                exc.upstream_request_id,
                started,
                error=exc.error_code,
                page="debug",
            )
        else:
            context.update(
                status=200,
                raw=json.dumps(result.raw, indent=2, ensure_ascii=False),
                converted=json.dumps(result.body, indent=2, ensure_ascii=False),
            )
            services.log_call(
                request.user, context["action"], 200, result.request_id, started, page="debug"
            )
    return render(request, "ccc_proxy/debug.html", context)
