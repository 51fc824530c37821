"""Two gunicorn instances behind one address behave as one (issue 11, point 6).

Started with the README's Deploy commands (``scripts/serve.sh release`` once, then
``scripts/serve.sh web`` twice) against PostgreSQL and Redis; a client alternates between them.
"""

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings

from tests.aliyun_oauth.fakeprovider import FakeProvider
from tests.production.servers import Browser, FakeCcc, Instances, sts_token

pytestmark = pytest.mark.postgres

CALLS = 50
REFRESH_DELAY = 0.3  # seconds the provider takes to refresh: concurrent callers really overlap


@pytest.fixture(scope="module")
def upstream():
    provider = FakeProvider("4000000000000000001")
    first, refreshed = sts_token("STS.first"), sts_token("STS.refreshed")
    provider.refreshed_key_id = "STS.refreshed"

    def token(form):
        if form.get("grant_type") == "refresh_token":
            # Alibaba's refresh answer: no refresh_token, no id_token (PROTOCOL.md in docs/).
            answer = provider.token_answer(
                access_token=refreshed, expires_in="3600", refresh_token=None, id_token=None
            )
            return 200, answer, REFRESH_DELAY
        # Sign-in answer: an access token that expires in one second.
        return 200, provider.token_answer(access_token=first, expires_in="1"), 0

    provider.answers["/token"] = token
    provider.start()
    ccc = FakeCcc()
    yield provider, ccc
    ccc.stop()
    provider.stop()


@pytest.fixture(scope="module")
def instances(upstream, tmp_path_factory):
    provider, ccc = upstream
    db = settings.DATABASES["default"]
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")
    servers = Instances(tmp_path_factory.mktemp("serve"), db, redis_url, provider, ccc)
    try:
        servers.start()
        demo = servers.manage("bootstrap_demo", "--force")
        assert demo.returncode == 0, demo.stderr
        yield servers
    finally:
        servers.stop()


def link(browser: Browser, provider, start_on: str, callback_on: str) -> None:
    """The authorization code flow: started on one instance, called back on the other."""
    answer = browser.get(start_on, "/aliyun/auth")
    assert answer.status_code == 302, answer.text[:300]
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    provider.nonce = query["nonce"][0]
    answer = browser.get(
        callback_on, "/aliyun/auth/callback", params={"code": "c", "state": query["state"][0]}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/", answer.text[:500]


def test_two_instances_behave_as_one(instances, upstream, capsys):
    provider, ccc = upstream
    a, b = instances.urls

    # Static files: hashed names, compressed, served by each instance.
    edward = Browser()
    page = edward.get(a, "/login/")
    css = page.text.split('href="/static/css/app.', 1)[1].split('"', 1)[0]
    static = edward.get(b, "/static/css/app." + css, headers={"Accept-Encoding": "gzip"})
    assert static.status_code == 200 and static.headers["Content-Encoding"] == "gzip"
    assert "immutable" in static.headers["Cache-Control"]

    # The load balancer probes each instance by its address, over plain HTTP; nothing else may.
    for base in (a, b):
        for path in ("/healthz", "/readyz"):
            probe = requests.get(base + path, headers={"Host": "10.0.0.5:8000"}, timeout=10)
            assert probe.status_code == 200 and probe.json() == {"status": "ok"}
        by_address = edward.get(base, "/login/", headers={"Host": "10.0.0.5:8000"})
        assert by_address.status_code == 400

    # Sign in on one, work on the other.
    assert edward.sign_in(a, "Edward", "1234").status_code == 302
    home = edward.get(b, "/")
    assert home.status_code == 200 and "edward" in home.text.lower()
    assert edward.get(b, "/customers/lookup", params={"number": "135012345678"}).json()["matches"]

    # Two agents link their accounts, each across both instances: one JWKS fetch in all.
    link(edward, provider, start_on=b, callback_on=a)
    sissi = Browser()
    assert sissi.sign_in(b, "sissi", "5678").status_code == 302
    link(sissi, provider, start_on=a, callback_on=b)
    assert provider.count("/keys") == 1

    # 50 concurrent proxied calls with an expired token, spread over both: one refresh upstream.
    time.sleep(1.1)  # the access token from sign-in has now expired
    csrf = edward.cookies["csrftoken"]
    start = threading.Barrier(CALLS)

    def call(n: int):
        start.wait()
        began = time.monotonic()
        answer = edward.post(
            (a, b)[n % 2],
            "/aliyun/ccc/api",
            params={"action": "ListSkillGroupsOfUser"},
            data={"request": '{"instanceId": "ccc-test"}'},
            headers={"X-CSRFToken": csrf},
        )
        return answer, time.monotonic() - began

    before = len(ccc.requests)
    began = time.monotonic()
    with ThreadPoolExecutor(CALLS) as pool:
        results = list(pool.map(call, range(CALLS)))
    wall = time.monotonic() - began
    assert [r.status_code for r, _ in results] == [200] * CALLS, results[0][0].text
    refreshes = [c for c in provider.calls if c[0] == "/token" and "refresh" in str(c[1])]
    assert len(refreshes) == 1
    assert refreshes[0][2]["X-Request-ID"] in {r.headers["X-Request-ID"] for r, _ in results}
    used = [params["AccessKeyId"] for params, _ in ccc.requests[before:]]
    assert used == ["STS.refreshed"] * CALLS
    # Each upstream call carried the id of the CRM request that made it.
    answered_ids = {r.headers["X-Request-ID"] for r, _ in results}
    assert {rid for _, rid in ccc.requests[before:]} == answered_ids

    # Persistent connections: idle now, yet still open for the next requests (at most one per
    # worker thread: 2 instances x 2 workers x 8 threads). The pause lets connections that a
    # request closes (DB_CONN_MAX_AGE=0) finish closing.
    time.sleep(0.5)
    assert 0 < instances.open_connections() <= 32

    # A lockout reached on one instance holds on the other, even with the right password.
    mallory = Browser()
    limit = 5  # AXES_FAILURE_LIMIT's default
    for n in range(limit - 1):
        assert mallory.sign_in((a, b)[n % 2], "supervisor", "wrong").status_code == 200
    assert mallory.sign_in(b, "supervisor", "wrong").status_code == 429
    for url in (a, b):
        refused = mallory.sign_in(url, "supervisor", "supervisor-2018")
        assert refused.status_code == 429
        assert "Too many failed sign-ins" in refused.text
        assert "sessionid" not in mallory.cookies

    latencies = sorted(t for _, t in results)
    with capsys.disabled():
        print(
            f"\ntwo instances: {CALLS} concurrent proxied calls with an expired token in "
            f"{wall:.2f} s (upstream refresh {REFRESH_DELAY} s), latency median "
            f"{statistics.median(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; "
            f"refreshes upstream: {len(refreshes)}; JWKS fetches: {provider.count('/keys')}"
        )
