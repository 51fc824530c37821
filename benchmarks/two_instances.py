"""Two production instances behind one address: proxied CCC calls per second, both instances
against one (the reference), plus the expired-token burst.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crmdemo_bench \\
        .venv/bin/python benchmarks/two_instances.py [calls] [concurrency]

Starts ``scripts/serve.sh release`` and two ``scripts/serve.sh web`` (as the two-instance test
does) on the PostgreSQL server of DATABASE_URL (database ``<name>_serve``, dropped afterwards) and
the Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379/4, keys under a fresh prefix), with
local stand-ins for Alibaba's OAuth and CCC endpoints. Every gunicorn has WEB_CONCURRENCY=2,
GUNICORN_THREADS=8. On a shared 2-core machine the two instances compete for the same cores, so
the ratio shows the cost of sharing state (sessions, token row, cache), not added capacity.
"""

import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.aliyun_oauth.fakeprovider import FakeProvider  # noqa: E402
from tests.production.servers import Browser, FakeCcc, Instances, sts_token  # noqa: E402


def database() -> dict:
    url = urlsplit(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crmdemo_bench")
    )
    return {
        "NAME": url.path.lstrip("/"),
        "HOST": url.hostname,
        "PORT": url.port or 5432,
        "USER": url.username or "postgres",
        "PASSWORD": url.password or "",
    }


def run_calls(browser: Browser, urls: list[str], calls: int, concurrency: int):
    csrf = browser.cookies["csrftoken"]
    start = threading.Barrier(concurrency)

    def call(n: int):
        if n < concurrency:
            start.wait()
        began = time.monotonic()
        answer = browser.post(
            urls[n % len(urls)],
            "/aliyun/ccc/api",
            params={"action": "ListSkillGroupsOfUser"},
            data={"request": '{"instanceId": "ccc-test"}'},
            headers={"X-CSRFToken": csrf},
        )
        assert answer.status_code == 200, answer.text
        return time.monotonic() - began

    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(pool.map(call, range(calls)))
    return time.monotonic() - began, latencies


def main(calls: int, concurrency: int) -> None:
    provider = FakeProvider("4000000000000000001")
    first, refreshed = sts_token("STS.first"), sts_token("STS.refreshed")

    def token(form):
        if form.get("grant_type") == "refresh_token":
            answer = provider.token_answer(
                access_token=refreshed, expires_in="3600", refresh_token=None, id_token=None
            )
            return 200, answer, 0.3
        return 200, provider.token_answer(access_token=first, expires_in="1"), 0

    provider.answers["/token"] = token
    provider.start()
    ccc = FakeCcc()
    with tempfile.TemporaryDirectory() as tmp:
        servers = Instances(
            Path(tmp),
            database(),
            os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4"),
            provider,
            ccc,
        )
        servers.env["RATELIMIT_ENABLE"] = "False"  # measure serving, not the limits
        try:
            servers.start()
            demo = servers.manage("bootstrap_demo", "--force")
            assert demo.returncode == 0, demo.stderr
            a, b = servers.urls
            edward = Browser()
            edward.sign_in(a, "Edward", "1234")
            answer = edward.get(b, "/aliyun/auth")
            query = parse_qs(urlsplit(answer.headers["Location"]).query)
            provider.nonce = query["nonce"][0]
            edward.get(a, "/aliyun/auth/callback", params={"code": "c", "state": query["state"][0]})
            time.sleep(1.1)
            wall, lat = run_calls(edward, [a, b], 50, 50)
            refreshes = sum(
                1 for p, f, _ in provider.calls if f.get("grant_type") == "refresh_token"
            )
            print(
                f"expired-token burst: 50 concurrent calls over 2 instances in {wall:.2f} s "
                f"(upstream refresh takes 0.3 s), median {statistics.median(lat) * 1000:.0f} ms, "
                f"refreshes upstream {refreshes}, JWKS fetches {provider.count('/keys')}"
            )
            run_calls(edward, [a], concurrency, concurrency)  # warm-up
            one, lat_one = run_calls(edward, [a], calls, concurrency)
            two, lat_two = run_calls(edward, [a, b], calls, concurrency)
            for label, wall, lat in (
                ("one instance (reference)", one, lat_one),
                ("two instances, alternating", two, lat_two),
            ):
                print(
                    f"{label:28s} {calls / wall:7.1f} calls/s  median "
                    f"{statistics.median(lat) * 1000:5.0f} ms  p95 "
                    f"{lat[int(len(lat) * 0.95) - 1] * 1000:5.0f} ms"
                )
            print(f"ratio two/one: {one / two:.2f}x calls/s ({calls} calls, {concurrency} clients)")
        finally:
            servers.stop()
            ccc.stop()
            provider.stop()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 400,
        int(sys.argv[2]) if len(sys.argv) > 2 else 16,
    )
