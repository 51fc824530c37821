"""Health endpoints for load balancers and orchestrators: no authentication, no data.

``GET /healthz``: the process answers (liveness). ``GET /readyz``: the database and the cache
answer (readiness); 503 naming the dependencies that do not.

A load balancer probes an instance by its address (``Host: 10.0.0.5:8000``), which is not one of
the served host names: :class:`HealthMiddleware` answers the two probes before anything reads the
Host header (Django's ``ALLOWED_HOSTS`` check in ``request.get_host()``) or redirects to HTTPS;
every other path keeps both.
"""

import logging

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    """200 ``{"status": "ok"}`` while the process serves requests."""
    return JsonResponse({"status": "ok"})


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError as exc:
        log.warning("readyz: database unreachable (%s)", type(exc).__name__)
        return False


def _cache_up() -> bool:
    ping = getattr(cache, "ping", None)
    if ping is None:  # a per-process memory cache is always there
        return True
    try:
        ping()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", never a 500
        log.warning("readyz: cache unreachable (%s)", type(exc).__name__)
        return False


@never_cache
@require_safe
def readyz(request):
    """200 ``{"status": "ok"}`` when the database and the cache answer, else 503
    ``{"status": "unavailable", "down": ["database" | "cache", ...]}``."""
    down = [name for name, up in (("database", _database_up), ("cache", _cache_up)) if not up()]
    if down:
        return JsonResponse({"status": "unavailable", "down": down}, status=503)
    return JsonResponse({"status": "ok"})


PROBES = {"/healthz": healthz, "/readyz": readyz}


class HealthMiddleware:
    """Answers ``/healthz`` and ``/readyz`` whatever the Host header says and over plain HTTP;
    passes every other request on. Placed before ``SecurityMiddleware`` and ``CommonMiddleware``,
    the first ones that validate the host."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
