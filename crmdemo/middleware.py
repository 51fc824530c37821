"""Refuse requests that cannot be read, once, for every view, before any view or middleware
reads them.

Django parses ``request.GET``/``request.POST`` lazily, on first access, and raises there:
``TooManyFieldsSent`` past ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, ``RequestDataTooBig`` past
``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``BadRequest`` for a form body in a charset other than UTF-8,
``LookupError`` for a charset Python does not know, ``MultiPartParserError`` for a broken
multipart body. Raised from a view, a template or the DEBUG error page (which reads them again),
these became 500s or escaped the handler. Django also decodes form and query values with
``errors="replace"``, so invalid UTF-8 would be stored as U+FFFD instead of being refused.

Here the request is parsed up front; a request that fails is answered at once: 413 for a body
that is too large, 400 for the rest (a charset other than UTF-8 included).

The answer's shape follows the view the path resolves to:

- a view with an ``unreadable_request(request, message, status)`` attribute answers in its own
  error shape (the CCC proxy's, the sandbox's OAuth JSON...);
- a view marked ``json_api = True`` (or a request that sent or asks for JSON) gets
  ``{"error": message}``;
- anything else gets a readable, translated page (``bad_request.html``).

For views marked ``json_api``, an error answer that is not JSON (Django's 404 or 405 page) is
also replaced by ``{"error": <reason>}`` with the same status, so JSON clients always get JSON.
A page's empty 405 (``require_POST`` answers one) becomes the readable ``405.html`` page.
"""

import codecs
from urllib.parse import unquote_to_bytes

from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import Resolver404, get_resolver
from django.utils.translation import gettext as _

from crmdemo.request_id import current_request_id

# Charsets a request body may declare: UTF-8 and its ASCII subset (browsers send UTF-8 forms).
ACCEPTED_CHARSETS = {"utf-8", "ascii"}
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class Unreadable(Exception):
    """The request cannot be read. ``str()`` is a message for the client; ``status`` its HTTP
    status (400 or 413)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _strict_utf8(text: str, message: str) -> None:
    """Refuse ``text`` (a query string or form body) whose %-escapes are not UTF-8. The whole
    text is checked at once: ``&`` and ``=`` are ASCII, so they can neither end nor start a
    multi-byte sequence, and a field is valid exactly when the whole text is."""
    try:
        unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(message) from None


def check_readable(request) -> None:
    """Parse ``request``'s query and (for a POST) its form body now; raise :class:`Unreadable`
    when Django refuses them or a value is not valid UTF-8."""
    try:
        raw_query = request.META.get("QUERY_STRING", "").encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        raise Unreadable(_("The query string is not valid UTF-8.")) from None
    _strict_utf8(raw_query, _("The query string is not valid UTF-8."))
    charset = request.content_params.get("charset") if request.content_type else None
    if charset:
        try:
            name = codecs.lookup(charset).name
        except LookupError:
            name = None
        if name not in ACCEPTED_CHARSETS:
            raise Unreadable(_("Send the request body as UTF-8."))
    try:
        request.GET  # noqa: B018 - parse now, so nothing later meets Django's refusal
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            form = request.POST
            request.FILES  # noqa: B018
    except RequestDataTooBig:
        raise Unreadable(_("The request body is too large."), status=413) from None
    except (TooManyFieldsSent, TooManyFilesSent):
        raise Unreadable(_("The request has too many parameters.")) from None
    except (MultiPartParserError, BadRequest, UnreadablePostError, LookupError, ValueError):
        raise Unreadable(_("The request body cannot be parsed.")) from None
    else:
        if request.method != "POST" or request.content_type not in _FORM_TYPES:
            return
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise Unreadable(_("The form is not valid UTF-8.")) from None
        _strict_utf8(body, _("The form is not valid UTF-8."))
    elif any("\ufffd" in key or "\ufffd" in "".join(values) for key, values in form.lists()):
        # Django's multipart parser decoded invalid UTF-8 into U+FFFD.
        raise Unreadable(_("The form is not valid UTF-8."))


def _view(request):
    try:
        return get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info).func
    except Resolver404:
        return None


def _wants_json(request, view) -> bool:
    if getattr(view, "json_api", False):
        return True
    accept = request.headers.get("Accept", "")
    return "json" in (request.META.get("CONTENT_TYPE") or "") or "json" in accept


class UnreadableRequestMiddleware:
    """Answer unreadable requests before any view sees them (module docstring); JSON errors for
    ``json_api`` views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_readable(request)
        except Unreadable as exc:
            return self.refuse(request, str(exc), exc.status)
        response = self.get_response(request)
        return self.readable_405(request, self.as_json_if_api(request, response))

    @staticmethod
    def refuse(request, message: str, status: int):
        view = _view(request)
        own = getattr(view, "unreadable_request", None)
        if own is not None:
            return own(request, message, status)
        if _wants_json(request, view):
            return JsonResponse({"error": message}, status=status)
        return render(request, "bad_request.html", {"message": message}, status=status)

    @staticmethod
    def readable_405(request, response):
        """A page's empty 405 (``require_POST`` and friends) as the ``405.html`` page, with the
        same ``Allow`` header."""
        if response.status_code != 405 or response.streaming or response.content:
            return response
        view = getattr(getattr(request, "resolver_match", None), "func", None)
        if _wants_json(request, view) or hasattr(view, "unreadable_request"):
            return response  # an API: its own error shape, or as_json_if_api's
        allowed = response.get("Allow", "")
        page = render(
            request, "405.html", {"method": request.method, "allowed": allowed}, status=405
        )
        page["Allow"] = allowed
        return page

    @staticmethod
    def as_json_if_api(request, response):
        match = getattr(request, "resolver_match", None)
        if (
            response.status_code < 400
            or not getattr(getattr(match, "func", None), "json_api", False)
            or "json" in response.get("Content-Type", "")
        ):
            return response
        answer = JsonResponse(
            {"error": response.reason_phrase, "requestId": current_request_id() or "-"},
            status=response.status_code,
        )
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                answer[header] = response[header]
        return answer
