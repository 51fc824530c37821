"""Benchmark the workbench's server side: one call-log event, a screen-pop lookup, and the
customer page with its call log; prints median / p95 milliseconds and SQL queries per request.

Requests go through Django's test client (full request/response cycle, CSRF checked, no network)
against a throwaway test database holding --customers customers and --calls call records.

    .venv/bin/python benchmarks/call_log.py                       # SQLite in memory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crmdemo_bench \
        .venv/bin/python benchmarks/call_log.py --calls 100000    # PostgreSQL
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmdemo.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from customers.models import CallRecord, Customer, PhoneNumber  # noqa: E402
from customers.services import normalize_phone  # noqa: E402


def load(customers: int, calls: int, agent) -> Customer:
    """customers customers with one mobile each, calls records spread over them; Mr Lu last."""
    rows = Customer.objects.bulk_create(Customer(name=f"C{i}") for i in range(customers))
    phones = [PhoneNumber(customer=c, raw=f"139{i:08d}") for i, c in enumerate(rows)]
    for p in phones:
        p.normalized = normalize_phone(p.raw)
    PhoneNumber.objects.bulk_create(phones, batch_size=5000)
    lu = Customer.objects.create(name="Mr Lu")
    PhoneNumber.objects.create(customer=lu, raw="135012345678")
    now = timezone.now()
    CallRecord.objects.bulk_create(
        (
            CallRecord(
                agent=agent,
                customer=rows[i % len(rows)] if i % 50 else lu,
                direction="inbound",
                caller="13900000000",
                contact_id=f"old-{i}",
                started_at=now - timedelta(minutes=i),
                answered_at=now - timedelta(minutes=i),
                ended_at=now - timedelta(minutes=i) + timedelta(seconds=30),
                duration=30,
                outcome="completed",
            )
            for i in range(calls)
        ),
        batch_size=5000,
    )
    return lu


def timed(label, repeat, request):
    """Run request() repeat times; print median/p95 ms and queries of the last run."""
    times = []
    for i in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = request(i)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (label, response.status_code, response.content[:200])
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(
        f"  {label:<44} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms"
        f"   {len(queries.captured_queries)} queries"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        agent = get_user_model().objects.create_user("bench-agent")
        agent.user_permissions.add(*Permission.objects.filter(codename="view_customer"))
        lu = load(args.customers, args.calls, agent)
        print(
            f"database: {connection.vendor}; {Customer.objects.count():,} customers, "
            f"{CallRecord.objects.count():,} call records"
        )
        client = Client(enforce_csrf_checks=True)
        client.force_login(agent)
        client.get("/customers/")  # sets the CSRF cookie
        token = client.cookies["csrftoken"].value

        def event(kind, n):
            body = {"event": kind, "contactId": f"bench-{n}", "direction": "inbound"}
            body["caller"] = "135012345678"
            return client.post(
                "/customers/calls/log",
                json.dumps(body),
                content_type="application/json",
                headers={"X-CSRFToken": token},
            )

        timed("call log: new call (ringing)", args.repeat, lambda i: event("ringing", i))
        timed("call log: same call again (answered)", args.repeat, lambda i: event("answered", i))
        timed("call log: repeated event (answered)", args.repeat, lambda i: event("answered", i))
        timed(
            "screen-pop lookup 0086-135012345678",
            args.repeat,
            lambda i: client.get("/customers/lookup", {"number": "0086-135012345678"}),
        )
        timed(
            f"customer page, {lu.calls.count():,} calls (20 shown)",
            max(20, args.repeat // 10),
            lambda i: client.get(f"/customers/{lu.pk}/"),
        )
        assert CallRecord.objects.filter(contact_id__startswith="bench-").count() == args.repeat
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
