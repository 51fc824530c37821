"""Benchmark the customer list, search and phone lookup at scale; prints figures.

Loads N customers (each with one mobile, every third also a landline) into a throwaway test
database, then times the pages through Django's test client (full request/response cycle, no
network) and prints median / p95 milliseconds and SQL queries per request.

    # PostgreSQL, 1,000,000 customers (database test_crmdemo_bench, dropped afterwards):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crmdemo_bench \
        .venv/bin/python benchmarks/customers_search.py
    # SQLite (in memory), smaller:
    .venv/bin/python benchmarks/customers_search.py --n 50000
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmdemo.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from customers.models import Customer, PhoneNumber  # noqa: E402
from customers.services import normalize_phone  # noqa: E402

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
)
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
COMPANIES = ["西湖茶业", "浦江物流", "中关村软件", "南山电子", "天河贸易", "锦江餐饮", ""]
BATCH = 10_000


def load(n):
    """Insert n customers and their phones in batches; returns seconds taken."""
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        stop = min(start + BATCH, n)
        customers = Customer.objects.bulk_create(
            Customer(
                name=f"{SURNAMES[i % len(SURNAMES)]}{GIVEN[i // len(SURNAMES) % len(GIVEN)]}{i}",
                company=COMPANIES[i % len(COMPANIES)],
                email=f"c{i}@example.cn",
            )
            for i in range(start, stop)
        )
        phones = []
        for i, customer in zip(range(start, stop), customers, strict=True):
            mobile = f"13{i % 10}{i:08d}"[-11:]
            phones.append(PhoneNumber(customer=customer, raw=mobile))
            if i % 3 == 0:
                phones.append(PhoneNumber(customer=customer, raw=f"021-{60000000 + i % 30000000}"))
        for p in phones:
            p.normalized = normalize_phone(p.raw)
        PhoneNumber.objects.bulk_create(phones)
        print(f"\r  loaded {stop:,}/{n:,}", end="", flush=True)
    lu = Customer.objects.create(name="Mr Lu", company="Alibaba Cloud demo")
    PhoneNumber.objects.create(customer=lu, raw="135012345678")
    print()
    return time.perf_counter() - started


def measure(client, label, url, params, repeat):
    """Request url repeat times; print median/p95 ms, queries and status."""
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (label, response.status_code)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(
        f"  {label:<38} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms"
        f"   {len(queries.captured_queries)} queries"
    )
    return response


def main():
    vendor = connection.vendor
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000 if vendor == "postgresql" else 50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keepdb", action="store_true", help="reuse a loaded test database")
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keepdb)
    try:
        print(f"database: {vendor} {connection.settings_dict['NAME']}")
        if not Customer.objects.exists():
            seconds = load(args.n)
            print(f"  load: {args.n:,} customers in {seconds:.1f} s")
            if vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
        n = Customer.objects.count()
        print(f"customers: {n:,}, phone numbers: {PhoneNumber.objects.count():,}")
        user, _ = get_user_model().objects.get_or_create(
            username="bench", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)

        r = measure(client, "list, first page", "/customers/", {}, args.repeat)
        cursor = r.context["page"].next_cursor
        for _ in range(3):
            cursor = client.get("/customers/", {"after": cursor}).context["page"].next_cursor
        measure(
            client, "list, page 5 (keyset cursor)", "/customers/", {"after": cursor}, args.repeat
        )
        last = Customer.objects.order_by("-name", "-id").first()
        from customers.services import _encode_cursor

        measure(
            client, "list, last page", "/customers/", {"before": _encode_cursor(last)}, args.repeat
        )
        measure(client, "search name, common (王)", "/customers/", {"q": "王"}, args.repeat)
        measure(
            client,
            "search name, one match",
            "/customers/",
            {"q": "Mr Lu"},
            args.repeat,
        )
        measure(client, "search name, no match", "/customers/", {"q": "Nobody Here"}, args.repeat)
        measure(
            client,
            "search phone '135 0123 45678'",
            "/customers/",
            {"q": "135 0123 45678"},
            args.repeat,
        )
        measure(
            client,
            "search phone '+86 21 6000 0003'",
            "/customers/",
            {"q": "+86 21 6000 0003"},
            args.repeat,
        )
        r = measure(
            client,
            "JSON lookup 0086-135012345678",
            "/customers/lookup",
            {"number": "0086-135012345678"},
            args.repeat,
        )
        assert [m["name"] for m in r.json()["matches"]] == ["Mr Lu"]
        measure(
            client,
            "JSON lookup, no match",
            "/customers/lookup",
            {"number": "13999999999"},
            args.repeat,
        )
        measure(
            client, "admin changelist, first page", "/admin/customers/customer/", {}, args.repeat
        )
        measure(
            client,
            "admin changelist, phone search",
            "/admin/customers/customer/",
            {"q": "+86 135 0123 45678"},
            args.repeat,
        )
    finally:
        if not args.keepdb:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
