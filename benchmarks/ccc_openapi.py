"""Benchmark the sandbox CCC OpenAPI and the agent-server poll, in process.

Requests go through Django's full stack (middleware, URL routing, views, ORM) with the test
client against a throw-away test database (SQLite in memory, or DATABASE_URL's server). Prints
the mean and 95th-percentile latency in milliseconds and the requests per second of one thread.

Run: .venv/bin/python benchmarks/ccc_openapi.py [requests]   (default 300)
"""

import base64
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmdemo.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402


def measure(label, n, send):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        status = send()
        times.append((time.perf_counter() - start) * 1000)
        assert status == 200, status
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    mean = statistics.mean(times)
    print(f"{label:42} n={n:5}  mean {mean:6.2f} ms  p95 {p95:6.2f} ms  {1000 / mean:7.0f} req/s")
    return mean


def main(n):
    from aliyun_sandbox.ccc.signature import sign, string_to_sign
    from aliyun_sandbox.models import CloudUser
    from aliyun_sandbox.oauth.tokens import issue_access_token
    from aliyun_sandbox.telephony import agent_server, simulator

    settings.SANDBOX_ENABLED = True
    user = CloudUser(upn="bench@crmdemo.onaliyun.com", display_name="Bench", uid="9", aid="1")
    user.set_password("x")
    user.save()
    issued = issue_access_token(user, "bench", scope="/acs/ccc")
    row = issued.row
    creds = json.loads(base64.urlsafe_b64decode(issued.value + "=" * (-len(issued.value) % 4)))
    client = Client(HTTP_HOST="localhost")

    def openapi(action, version="2017-07-05", **extra):
        params = {
            "Action": action,
            "Version": version,
            "Format": "JSON",
            "RegionId": "cn-shanghai",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "AccessKeyId": row.access_key_id,
            "SecurityToken": creds["SecurityToken"],
            "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
            **extra,
        }
        params["Signature"] = sign(row.access_key_secret, string_to_sign("GET", params))
        return client.get("/sandbox/ccc/", params).status_code

    sig = agent_server.issue_signature(user)
    simulator.set_agent_status(user, "READY", ["skg-sales"])
    auth = {"signData": sig["SignData"], "signature": sig["Signature"]}

    print(f"database: {connection.vendor}")
    skills_1x = measure(
        "OpenAPI ListSkillGroupsOfUser (signed)", n, lambda: openapi("ListSkillGroupsOfUser")
    )
    measure("OpenAPI ListRecentCallRecords (signed)", n, lambda: openapi("ListRecentCallRecords"))
    measure(
        "agent server poll (no call)",
        n,
        lambda: client.post("/sandbox/agent/poll", auth).status_code,
    )
    simulator.ring_agent(user, "13501234567")
    ringing_poll = measure(
        "agent server poll (ringing call)",
        n,
        lambda: client.post("/sandbox/agent/poll", auth).status_code,
    )
    # 2.x: the same questions through the OpenAPI 2020-07-01, beside their 1.x reference.
    skills_2x = measure(
        "OpenAPI 2.x ListSkillLevelsOfUser (signed)",
        n,
        lambda: openapi("ListSkillLevelsOfUser", "2020-07-01"),
    )
    print(f"{'':42} ratio to 1.x ListSkillGroupsOfUser: {skills_2x / skills_1x:.2f}")
    poll_2x = measure(
        "OpenAPI 2.x PollUserStatus (ringing call)",
        n,
        lambda: openapi("PollUserStatus", "2020-07-01"),
    )
    print(f"{'':42} ratio to the agent server poll (ringing): {poll_2x / ringing_poll:.2f}")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    setup_test_environment()
    # Throwaway test databases: the CRM's and the sandbox's (its router sends its models there).
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        main(count)
    finally:
        teardown_databases(old_config, verbosity=0)
