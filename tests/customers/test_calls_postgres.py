"""The call log under concurrent posts on PostgreSQL: the softphone's events of one call race
each other (hooks fire back to back, retries repeat them) and must end as one complete record."""

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from customers.models import CallRecord

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _http_as(live_server, client, user):
    """(cookies, csrf token) of a signed-in session of ``user`` on the live server."""
    client.force_login(user)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    login = requests.get(f"{live_server.url}/login/", cookies=cookies, timeout=10)
    cookies["csrftoken"] = login.cookies["csrftoken"]
    return cookies, cookies["csrftoken"]


def _post_all(live_server, cookies, token, bodies, workers=16):
    workers = min(workers, len(bodies))
    barrier = threading.Barrier(workers)  # every worker's first post starts at the same moment
    started = threading.local()

    def post(body):
        if not getattr(started, "done", False):
            started.done = True
            barrier.wait(timeout=10)
        return requests.post(
            f"{live_server.url}/customers/calls/log",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "X-CSRFToken": token},
            cookies=cookies,
            timeout=30,
        )

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(post, bodies))


def test_racing_events_of_one_call_make_one_complete_record(live_server, client, agent, mr_lu):
    cookies, token = _http_as(live_server, client, agent)
    t0 = timezone.now().replace(microsecond=0)
    base = {"contactId": "c-race", "direction": "inbound", "caller": "135012345678"}
    events = [
        {"event": "ringing", "at": t0.isoformat()},
        {"event": "answered", "at": (t0 + timedelta(seconds=4)).isoformat()},
        {"event": "released", "at": (t0 + timedelta(seconds=34)).isoformat()},
        {"event": "notes", "notes": "Raced"},
    ]
    bodies = [{**base, **e} for e in events for _ in range(4)]
    random.Random(7).shuffle(bodies)
    responses = _post_all(live_server, cookies, token, bodies)
    assert [r.status_code for r in responses] == [200] * len(bodies), responses[0].text
    record = CallRecord.objects.get()
    assert record.customer == mr_lu and record.agent == agent
    assert record.started_at == t0 and record.duration == 30
    assert record.outcome == CallRecord.COMPLETED and record.notes == "Raced"


def test_many_calls_at_once_lose_none(live_server, client, agent):
    cookies, token = _http_as(live_server, client, agent)
    bodies = [
        {"event": event, "contactId": f"c-{n}", "direction": "outbound", "callee": "13900001111"}
        for n in range(12)
        for event in ("dialing", "released")
    ]
    responses = _post_all(live_server, cookies, token, bodies)
    assert {r.status_code for r in responses} == {200}
    assert CallRecord.objects.count() == 12
    assert set(CallRecord.objects.values_list("outcome", flat=True)) == {CallRecord.NO_ANSWER}
