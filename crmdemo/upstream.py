"""Bounded answers from upstream HTTP servers (Alibaba Cloud's OAuth and CCC endpoints).

``requests`` reads a whole answer into memory, and its timeouts apply to each read from the
socket, not to the call: a 200 MiB answer was stored as a token, and an upstream sending one
byte every 2 seconds (of its status line, headers or body) held a call for minutes although the
read timeout was 10 s. :class:`BoundedSession` reads every answer as a stream and gives up

- past ``ALIYUN_MAX_ANSWER_BYTES`` bytes (declared in Content-Length or received, after
  decompression): :class:`AnswerTooLarge`;
- past ``ALIYUN_UPSTREAM_DEADLINE`` seconds from the start of the call (connect, TLS handshake,
  request, status line, headers, the whole body and any redirect): :class:`DeadlineExceeded`, a
  ``requests.Timeout``.

How the deadline holds: urllib3's ``Timeout(total=...)`` does not bound the call (it only sets
each socket operation's timeout to what is left when the request is sent, so a drip that keeps
every read short goes on). Instead every socket the call opens or reuses is watched, and the
process's one watchdog thread shuts it down (``shutdown(SHUT_RDWR)``, which wakes a read
blocked in another thread) when the deadline passes; the read that was waiting fails or ends,
and the call raises :class:`DeadlineExceeded`. Connect and read timeouts are clamped to the
deadline too. Name resolution (``getaddrinfo``) cannot be interrupted and is bounded only by the
system's resolver; SOCKS proxies keep the per-read checks only.

Both errors are ``requests.RequestException`` (an ``IOError``), so the code that already turns
transport failures into the app's own errors handles them; their messages name neither the URL
nor any credential.
"""

import contextlib
import contextvars
import heapq
import itertools
import os
import socket
import threading
import time

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_CHUNK = 64 * 1024


class AnswerTooLarge(requests.RequestException):
    """The upstream's answer is larger than ``ALIYUN_MAX_ANSWER_BYTES``."""


class DeadlineExceeded(requests.Timeout):
    """The upstream's whole answer did not arrive within ``ALIYUN_UPSTREAM_DEADLINE`` seconds
    (the message says "timed out", as requests' own timeouts do)."""


class _Deadline:
    """One call's deadline: every socket handed to :meth:`watch` is shut down when ``seconds``
    have passed (by the process's one watchdog thread, :class:`_Watchdog`). Sockets are watched
    through a duplicate of their file descriptor, which stays valid when urllib3 wraps the
    socket in TLS (the wrap detaches the original object) or closes it; the duplicates are
    closed by :meth:`cancel`."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._duplicates: list[socket.socket] = []
        self._cancelled = False
        _watchdog().add(time.monotonic() + seconds, self)

    def watch(self, sock) -> None:
        duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type, sock.proto)
        with self._lock:
            self._duplicates.append(duplicate)
            if self.expired:  # connected just after the deadline
                _shut(duplicate)

    def _expire(self) -> None:
        with self._lock:
            if self._cancelled:  # the call ended just before its deadline
                return
            self.expired = True
            for duplicate in self._duplicates:
                _shut(duplicate)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            for duplicate in self._duplicates:
                duplicate.close()
            self._duplicates.clear()


class _Watchdog:
    """The process's one thread that expires :class:`_Deadline` objects when their time comes.

    A ``threading.Timer`` per call cost a thread start and join (about 0.2 ms) on every
    upstream call; here a call only pushes its deadline on a heap. Deadlines all have about the
    same length, so a new one is rarely the earliest and the thread is rarely woken early.
    Cancelled deadlines stay on the heap until their time (they then do nothing)."""

    def __init__(self):
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._counter = itertools.count()
        self.pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="upstream-deadlines", daemon=True)
        self._thread.start()

    def add(self, when: float, deadline: _Deadline) -> None:
        with self._condition:
            earliest = not self._heap or when < self._heap[0][0]
            heapq.heappush(self._heap, (when, next(self._counter), deadline))
            if earliest:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                if not due:
                    self._condition.wait(self._heap[0][0] - now if self._heap else None)
                    continue
            for deadline in due:  # outside the heap's lock: shutting sockets down may block
                deadline._expire()


_watchdog_lock = threading.Lock()
_watchdog_instance: _Watchdog | None = None


def _watchdog() -> _Watchdog:
    """This process's watchdog, started on first use (and anew in a forked child: gunicorn
    loads the app before forking, and threads do not survive a fork)."""
    global _watchdog_instance
    watchdog = _watchdog_instance
    if watchdog is not None and watchdog.pid == os.getpid():
        return watchdog
    with _watchdog_lock:
        if _watchdog_instance is None or _watchdog_instance.pid != os.getpid():
            _watchdog_instance = _Watchdog()
        return _watchdog_instance


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        sock.shutdown(socket.SHUT_RDWR)


# The deadline of the call running in this thread (BoundedSession.send), for the connections.
_current: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "upstream_deadline", default=None
)


class _WatchedConnection(HTTPConnection):
    """urllib3's connection, its socket watched by the running call's deadline from the moment
    it is connected (before any TLS handshake) or, kept alive, reused."""

    _watched_by: "_Deadline | None" = None  # the call that last watched this connection

    def _new_conn(self):
        sock = super()._new_conn()
        self._watch(sock)
        return sock

    def request(self, *args, **kwargs):
        # A connection kept alive from an earlier call: its socket is not watched by this one.
        if self.sock is not None and self._watched_by is not _current.get():
            self._watch(self.sock)
        return super().request(*args, **kwargs)

    def _watch(self, sock) -> None:
        deadline = _current.get()
        if deadline is not None:
            deadline.watch(sock)
            self._watched_by = deadline


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOL_CLASSES = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class _BoundedAdapter(HTTPAdapter):
    """requests' adapter with the watched connections (direct and through HTTP proxies) that
    reads each answer whole, at most ``ALIYUN_MAX_ANSWER_BYTES``, before requests sees it: every
    hop of a redirect is read here too (requests itself would read a redirect's body unbounded)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has connection classes of its own
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        try:
            response._content = _read_bounded(response, settings.ALIYUN_MAX_ANSWER_BYTES)
            response._content_consumed = True
        finally:
            response.close()
        return response


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mount("https://", _BoundedAdapter())
        self.mount("http://", _BoundedAdapter())

    def send(self, request, **kwargs):
        deadline_seconds = settings.ALIYUN_UPSTREAM_DEADLINE
        kwargs["timeout"] = _clamped(kwargs.get("timeout"), deadline_seconds)
        running = _current.get()
        if running is not None:  # a redirect's next hop: the first request's deadline goes on
            return super().send(request, **kwargs)
        deadline = _Deadline(deadline_seconds)
        token = _current.set(deadline)
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException as exc:
            if deadline.expired and not isinstance(exc, AnswerTooLarge):
                raise _late(deadline) from None
            raise
        finally:
            _current.reset(token)
            deadline.cancel()
        if deadline.expired:  # the shut-down socket may have looked like the end of the body
            raise _late(deadline)
        return response


def _late(deadline: _Deadline) -> DeadlineExceeded:
    return DeadlineExceeded(f"the whole answer timed out after {deadline.seconds} s")


def _read_bounded(response, limit: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AnswerTooLarge(f"the answer is too large (over {limit} bytes)")
    chunks, size = [], 0
    raw = response.raw
    while True:
        # read1: returns what one read from the socket gave, so a large read does not wait
        # for a slow drip to fill it.
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
