"""A request id for every request: in each log line written while it runs, in the
``X-Request-ID`` response header, in error answers, and sent upstream as ``X-Request-ID``.

An id arriving from the TLS proxy in ``X-Request-ID`` is kept when it looks like an id (letters,
digits, ``.-_:``, up to 64 characters), so proxy and application logs join up; otherwise a new
UUID (32 hex digits) is made. The header is a convention (Heroku, nginx ``$request_id``), not a
standard; Alibaba's OAuth and OpenAPI documents name no client request-id field, so upstream it
travels only as an unsigned HTTP header, which their protocols leave free.
"""

import contextvars
import logging
import re
import uuid

from django.core.signals import request_finished

HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this thread, or None outside a request."""
    return _current.get()


def upstream_headers() -> dict[str, str]:
    """``{"X-Request-ID": id}`` to add to an upstream HTTP call, or ``{}`` outside a request."""
    request_id = _current.get()
    return {HEADER: request_id} if request_id else {}


class RequestIdMiddleware:
    """Sets the request id (see module docstring) for the duration of the request, as
    ``request.request_id`` and in the response's ``X-Request-ID`` header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _WELL_FORMED.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Not reset on the way out: Django logs the response ("Not Found: ...") after the
        # middleware returns; request_finished clears it (_clear).
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _clear(**kwargs) -> None:
    _current.set(None)


request_finished.connect(_clear, dispatch_uid="crmdemo.request_id.clear")


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (the current id, or ``-``) to every record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get() or "-"
        return True
