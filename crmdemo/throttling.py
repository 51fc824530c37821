"""Abuse protections: the client address behind proxies, django-axes hooks for sign-in
throttling, and django-ratelimit limits answered as JSON 429 with ``Retry-After``."""

import functools
import math

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from crmdemo.request_id import current_request_id


def client_ip(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT`` = n > 0 the n-th
    address from the right of ``X-Forwarded-For`` (each trusted proxy appends the address it saw;
    entries further left are the client's own claims and are not trusted)."""
    count = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "")
    if count <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    return forwarded[-count] if len(forwarded) >= count else remote


def axes_client_ip(request) -> str:
    """``AXES_CLIENT_IP_CALLABLE``."""
    return client_ip(request)


def axes_username(request, credentials) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the username tried, lower-cased (sign-in ignores case)."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username") if request is not None else None
    return username.lower() if isinstance(username, str) else username


def lockout_response(request, response=None, credentials=None, *args, **kwargs):
    """``AXES_LOCKOUT_CALLABLE``: HTTP 429 with ``Retry-After`` (seconds), saying why and for how
    long: a page without the form (any password would be refused until the cool-off ends), or
    ``{"error", "requestId"}`` for JSON clients."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME * 60))
    message = _(
        "Too many failed sign-ins for this account from your address. "
        "Try again in %(minutes)d minutes (each attempt meanwhile restarts the wait), "
        "or ask your supervisor."
    ) % {"minutes": minutes}
    if "json" in request.headers.get("Accept", ""):
        body = {"error": message, "requestId": current_request_id()}
        answer = JsonResponse(body, status=429)
    else:
        answer = render(request, "registration/locked_out.html", {"message": message}, status=429)
    answer["Retry-After"] = str(minutes * 60)
    return answer


def _key(group, request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def over_limit(request, group: str, rate: str) -> int | None:
    """Count this request against ``rate`` ("count/period") for ``group`` and the signed-in user
    (or the address). Return the seconds until the window resets when over the limit, else None
    (also when the cache is unavailable: limits fail open)."""
    usage = get_usage(request, group=group, key=_key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, math.ceil(usage["time_left"] or 1))


def too_many(retry_after: int, body: dict | None = None) -> JsonResponse:
    """The JSON 429 answer with ``Retry-After`` (seconds)."""
    body = body or {
        "error": _("Too many requests; try again in %(seconds)d seconds.")
        % {"seconds": retry_after},
        "requestId": current_request_id(),
    }
    return JsonResponse(body, status=429, headers={"Retry-After": str(retry_after)})


def rate_limited(group: str, rate_setting: str):
    """View decorator: JSON 429 with ``Retry-After`` past ``settings.<rate_setting>`` per user."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            retry_after = over_limit(request, group, getattr(settings, rate_setting))
            if retry_after is not None:
                return too_many(retry_after)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
