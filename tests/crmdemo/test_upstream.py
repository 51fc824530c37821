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
