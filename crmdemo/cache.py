"""Django's built-in Redis cache, made to degrade instead of fail.

The cache only speeds things up (JWKS, discovery documents) and counts rate limits; losing it must
not cost an agent a 500 page. While Redis is unreachable, reads miss, writes are dropped and
``add``/``incr`` report nothing stored, with one warning logged per outage. After a failure the
backend does not try Redis again for ``RETRY_AFTER`` seconds, so an outage does not add a
connection timeout to every request.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds without Redis after a failure


class CacheUnavailable(Exception):
    """Raised by :meth:`FailSoftRedisCache.ping` when Redis does not answer."""


class FailSoftRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` whose operations never raise on a Redis
    outage (see the module docstring). ``ping()`` tells the truth for ``/readyz``."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        # One attempt per operation: the request goes on without the cache rather than waiting.
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(server, {**params, "OPTIONS": options})
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _call(self, fallback, method, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return fallback
        try:
            result = getattr(super(), method)(*args, **kwargs)
        except (RedisError, OSError) as exc:
            with self._lock:
                first = self._down_until == 0.0
                self._down_until = time.monotonic() + RETRY_AFTER
            if first:
                log.warning(
                    "cache: Redis unreachable (%s); going on without cache", type(exc).__name__
                )
            return fallback
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    log.warning("cache: Redis reachable again")
        return result

    def get(self, key, default=None, version=None):
        return self._call(default, "get", key, default, version)

    def get_many(self, keys, version=None):
        return self._call({}, "get_many", keys, version)

    def has_key(self, key, version=None):
        return self._call(False, "has_key", key, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(None, "set", key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(False, "add", key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(list(data), "set_many", data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(False, "touch", key, timeout, version)

    def incr(self, key, delta=1, version=None):
        # Nothing to count: ValueError is what Django raises for a missing key, and what callers
        # (django-ratelimit) already handle.
        result = self._call(ValueError, "incr", key, delta, version)
        if result is ValueError:
            raise ValueError("cache unavailable")
        return result

    def delete(self, key, version=None):
        return self._call(False, "delete", key, version)

    def delete_many(self, keys, version=None):
        return self._call(None, "delete_many", keys, version)

    def clear(self):
        return self._call(False, "clear")

    def ping(self) -> None:
        """Ask Redis directly (no outage shortcut); raise CacheUnavailable if it does not answer."""
        try:
            self._cache.get_client(write=True).ping()
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(type(exc).__name__) from exc
