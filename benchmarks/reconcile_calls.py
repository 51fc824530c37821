"""Benchmark ``manage.py reconcile_calls`` against the sandbox's CCC over HTTP: --agents linked
agents (default 50) with --calls finished calls (default 10,000) between them; prints the upstream
calls and the wall time of each run, beside the reference of one ``GetCallDetailRecord`` per call
and run, with the ratio.

Run 1 finds every call new to the CRM (on 2.x it reads each call's detail record once: the list
rows carry no answer/end times); run 2 is the steady state (nothing changed: list calls only).
The sandbox and the CRM share one in-process live server on throw-away test databases (SQLite
in a temporary folder, or DATABASE_URL's server); each agent is linked through the real OAuth
flow first.

    .venv/bin/python benchmarks/reconcile_calls.py                       # CCC 2.x (default)
    ALIYUN_CCC_API_VERSION=2017-07-05 ALIYUN_CCC_INSTANCE_ID=ccc-sandbox-instance \\
        .venv/bin/python benchmarks/reconcile_calls.py                   # CCC 1.x
"""

import argparse
import io
import os
import secrets
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmdemo.settings")
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
for name in ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.testcases import LiveServerThread, _StaticFilesHandler  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402


def serve():
    """Start the live server (CRM + sandbox) on a free port; point the settings at it."""
    thread = LiveServerThread("127.0.0.1", _StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    crm, host = f"http://127.0.0.1:{thread.port}", f"localhost:{thread.port}"
    base = f"http://{host}/sandbox"
    settings.SANDBOX_BASE_URL = base
    settings.ALIYUN_CLIENT_ID = settings.SANDBOX_CLIENT_ID
    settings.ALIYUN_CLIENT_SECRET = settings.SANDBOX_CLIENT_SECRET
    settings.SANDBOX_REDIRECT_URIS = [f"{crm}/aliyun/auth/callback"]
    settings.ALIYUN_OAUTH_REDIRECT_URI = f"{crm}/aliyun/auth/callback"
    settings.ALIYUN_SIGNIN_BASE_URL = f"{base}/signin"
    settings.ALIYUN_OAUTH_BASE_URL = f"{base}/oauth"
    settings.ALIYUN_CCC_ENDPOINT = f"{host}/sandbox/ccc"
    settings.ALIYUN_CCC_PROTOCOL = "http"
    settings.ALIYUN_CA_BUNDLE = ""
    settings.ALIYUN_OAUTH_ALLOW_HTTP = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RATELIMIT_ENABLE = False
    return SimpleNamespace(redirect_uri=f"{crm}/aliyun/auth/callback")


def load(sandbox, agents: int, calls: int):
    """``agents`` cloud users linked to CRM users, ``calls`` finished calls spread over them in
    the last 20 hours (a third of them missed)."""
    from aliyun_sandbox.models import Call, CloudUser
    from tests.ccc_proxy.conftest import link_account

    cloud = []
    for i in range(agents):
        user = CloudUser(
            upn=f"agent{i}@crmdemo.onaliyun.com",
            display_name=f"Agent {i}",
            uid=f"20400{i:011d}",
            aid="1",
            extension=f"{9000 + i}",
        )
        user.set_password("bench-pw")
        user.save()
        crm_user = get_user_model().objects.create_user(f"agent{i}")
        link_account(sandbox, crm_user, user.upn, "bench-pw")
        cloud.append(user)
    now = timezone.now()
    rows = []
    for n in range(calls):
        start = now - timedelta(seconds=72_000 * (n + 1) / calls)
        answered = start + timedelta(seconds=5) if n % 3 else None
        rows.append(
            Call(
                connid=secrets.token_hex(8),
                contact_id=str(10**15 + n),
                agent=cloud[n % agents],
                direction=Call.INBOUND if n % 2 else Call.OUTBOUND,
                caller=f"139{n:08d}",
                callee="02150001234",
                state=Call.RELEASED,
                released_by="remote",
                created_at=start,
                answered_at=answered,
                released_at=(answered or start) + timedelta(seconds=30),
            )
        )
    Call.objects.bulk_create(rows, batch_size=2000)


def run():
    out = io.StringIO()
    started = time.perf_counter()
    call_command("reconcile_calls", stdout=out)
    elapsed = time.perf_counter() - started
    summary = out.getvalue().strip().splitlines()[-1]
    upstream = int(summary.split(" upstream calls")[0].rsplit(", ", 1)[-1])
    return elapsed, upstream, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    from customers.models import CallRecord

    sandbox = serve()
    t0 = time.perf_counter()
    load(sandbox, args.agents, args.calls)
    print(
        f"CCC {settings.ALIYUN_CCC_API_VERSION}, database {connections['default'].vendor}: "
        f"{args.agents} agents linked, {args.calls:,} calls in the sandbox "
        f"({time.perf_counter() - t0:.1f} s to set up)"
    )
    reference = args.calls  # one GetCallDetailRecord per call, every run
    for label in ("run 1 (all calls new)", "run 2 (nothing changed)"):
        elapsed, upstream, summary = run()
        print(f"  {label:26} {upstream:6,} upstream calls  {elapsed:7.2f} s   [{summary}]")
        print(
            f"  {'':26} reference {reference:,} (one detail call per call): "
            f"ratio {upstream / reference:.3f}"
        )
    assert CallRecord.objects.filter(ccc_state=CallRecord.CONFIRMED).count() == args.calls


if __name__ == "__main__":
    # SQLite test databases of its own (in a temporary folder), never the test suite's files.
    folder = tempfile.mkdtemp(prefix="crmdemo-bench-")
    for alias in connections:
        if connections[alias].vendor == "sqlite":
            test = connections[alias].settings_dict.setdefault("TEST", {})
            test["NAME"] = os.path.join(folder, f"{alias}.sqlite3")
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False, aliases=set(connections))
    try:
        main()
    finally:
        teardown_databases(old_config, verbosity=0)
        shutil.rmtree(folder, ignore_errors=True)
