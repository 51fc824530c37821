"""Bounded answers from upstream HTTP servers (Alibaba Cloud's OAuth and CCC endpoints).

``requests`` reads a whole answer into memory, and its read timeout applies to each read from
the socket, not to the call: a 200 MiB answer was stored as a token, and an upstream sending one
byte every 2 seconds held a call for minutes although the read timeout was 10 s.
:class:`BoundedSession` reads every answer as a stream and gives up

- past ``ALIYUN_MAX_ANSWER_BYTES`` bytes (declared in Content-Length or received, after
  decompression): :class:`AnswerTooLarge`;
- past ``ALIYUN_UPSTREAM_DEADLINE`` seconds from the start of the call (connect, headers and the
  whole body): :class:`DeadlineExceeded`, a ``requests.Timeout``.

The deadline is checked between reads, and each read waits at most the read timeout (never more
than the deadline), so a call ends at the latest one read timeout after the deadline.

Both errors are ``requests.RequestException`` (an ``IOError``), so the code that already turns
transport failures into the app's own errors handles them; their messages name neither the URL
nor any credential.
"""

import time

import requests
from django.conf import settings

_CHUNK = 64 * 1024


class AnswerTooLarge(requests.RequestException):
    """The upstream's answer is larger than ``ALIYUN_MAX_ANSWER_BYTES``."""


class DeadlineExceeded(requests.Timeout):
    """The upstream's whole answer did not arrive within ``ALIYUN_UPSTREAM_DEADLINE`` seconds
    (the message says "timed out", as requests' own timeouts do)."""


def _clamped(timeout, limit: float):
    """``timeout`` (a number or ``(connect, read)``) with each part at most ``limit``."""
    if timeout is None:
        return (limit, limit)
    if isinstance(timeout, tuple):
        return tuple(limit if t is None else min(t, limit) for t in timeout)
    return min(timeout, limit)


class BoundedSession(requests.Session):
    """A ``requests.Session`` whose answers are read whole, bounded in size and in time (see the
    module docstring). Settings are read per call."""

    def send(self, request, **kwargs):
        deadline_seconds = settings.ALIYUN_UPSTREAM_DEADLINE
        limit = settings.ALIYUN_MAX_ANSWER_BYTES
        deadline = time.monotonic() + deadline_seconds
        kwargs["timeout"] = _clamped(kwargs.get("timeout"), deadline_seconds)
        kwargs["stream"] = True
        response = super().send(request, **kwargs)
        try:
            response._content = _read_bounded(response, limit, deadline, deadline_seconds)
        finally:
            response.close()
        return response


def _read_bounded(response, limit: int, deadline: float, deadline_seconds: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AnswerTooLarge(f"the answer is too large (over {limit} bytes)")
    chunks, size = [], 0
    raw = response.raw
    while True:
        if time.monotonic() > deadline:
            raise DeadlineExceeded(f"the whole answer timed out after {deadline_seconds} s")
        # read1: returns what one read from the socket gave, so a slow drip cannot hold a
        # large read past the deadline.
        try:
            chunk = raw.read1(_CHUNK, decode_content=True)
        except Exception as exc:  # urllib3's ReadTimeoutError, ProtocolError...
            if "timed out" in str(exc):
                raise DeadlineExceeded("the answer timed out") from None
            raise requests.ConnectionError("the answer could not be read") from None
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise AnswerTooLarge(f"the answer is too large (over {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)
