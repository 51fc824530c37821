"""crmdemo.upstream.BoundedSession against a local misbehaving server (tests/hostile_server.py):
redirects keep the answer and the deadline."""

import pytest

from crmdemo.upstream import BoundedSession, DeadlineExceeded
from tests.hostile_server import HEADER_DRIP_BYTES, HostileServer

ANSWER = {"access_token": "at-1", "token_type": "Bearer"}


def test_an_answer_after_a_redirect_is_read_whole():
    with HostileServer("drip", body=ANSWER, drip_interval=0, redirect=True) as hostile:
        response = BoundedSession().get(hostile.url + "/token", timeout=5)
    assert [r.status_code for r in response.history] == [302]
    assert response.json() == ANSWER


def test_the_deadline_spans_a_redirect_and_the_next_hops_headers(settings):
    settings.ALIYUN_READ_TIMEOUT = 1.0
    settings.ALIYUN_UPSTREAM_DEADLINE = 0.3
    with HostileServer("header-drip", body=ANSWER, drip_interval=0.01, redirect=True) as hostile:
        with pytest.raises(DeadlineExceeded):
            BoundedSession().get(hostile.url + "/token", timeout=(1.0, 1.0))
        assert hostile.requests == 2
        assert 0 < hostile.sent < HEADER_DRIP_BYTES / 3


def test_calls_share_one_deadline_thread(settings, monkeypatch):
    """A thread started per call (a ``threading.Timer``) cost about 0.2 ms of every upstream
    call; every call's deadline is kept by the process's one watchdog thread instead."""
    import threading

    started = []
    original = threading.Thread.start
    caller = threading.current_thread()

    def counting_start(thread):
        if threading.current_thread() is caller:  # not the server's thread per request
            started.append(thread.name)
        return original(thread)

    session = BoundedSession()
    with HostileServer("drip", body=ANSWER, drip_interval=0) as hostile:
        session.get(hostile.url + "/token", timeout=5)  # the watchdog may start here
        monkeypatch.setattr(threading.Thread, "start", counting_start)
        for _ in range(5):
            assert session.get(hostile.url + "/token", timeout=5).json() == ANSWER
    assert started == []
