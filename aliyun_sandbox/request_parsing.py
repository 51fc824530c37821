"""Reading a request's query and form body so that Django's refusals become the sandbox's own
errors (OAuth JSON, the OpenAPI envelope, the sign-in site's error page) instead of Django's HTML
400 page.

Django raises these when ``request.GET`` or ``request.POST`` is first read: ``RequestDataTooBig``
past ``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``TooManyFieldsSent``/``TooManyFilesSent`` past
``DATA_UPLOAD_MAX_NUMBER_FIELDS``/``..._FILES``, ``MultiPartParserError`` or ``BadRequest`` for a
body it cannot parse, ``UnreadablePostError`` when the client went away.
"""

from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, QueryDict, UnreadablePostError
from django.http.multipartparser import MultiPartParserError


class UnreadableRequest(Exception):
    """Django refused to parse the query or the body. ``str()`` is a message for the client;
    ``status`` is 413 for a body that is too large, else 400."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def query_and_form(request: HttpRequest) -> tuple[QueryDict, QueryDict]:
    """Return ``(request.GET, request.POST)``, parsed now (the form is empty unless the method
    is POST with a form content type). Raises :class:`UnreadableRequest`. Call it before
    anything else reads ``request.POST`` (the CSRF check does)."""
    try:
        query = request.GET
        form = request.POST
    except RequestDataTooBig:
        raise UnreadableRequest("The request body is too large.", status=413) from None
    except (TooManyFieldsSent, TooManyFilesSent):
        raise UnreadableRequest("The request has too many parameters.") from None
    except (MultiPartParserError, BadRequest, UnreadablePostError):
        raise UnreadableRequest("The request body cannot be parsed.") from None
    return query, form
