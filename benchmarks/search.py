"""The customer side's speed figures beside raw SQL, interleaved in one run on the same data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crmdemo_speed_search \\
        .venv/bin/python benchmarks/search.py [--customers 1000000] [--rounds 300]

The data and the servers are those of ``benchmarks/speed.py`` (its loader: a million customers
with SQL, one mobile each, every third also a landline; the database is created when missing and
kept for the next run): ``scripts/serve.sh release`` once, then one ``scripts/serve.sh web``
(gunicorn, ``WEB_CONCURRENCY=2``, PostgreSQL, Redis at ``TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/7``, under a fresh key prefix removed afterwards). Phone numbers loaded
with SQL get their search digits (``PhoneNumber.digits``) from ``customers.phones.search_digits``
here, once.

Each row times the product and its reference alternately, call by call, and prints min, median
(p50) and p99 in ms and the ratio of the medians (product / reference). The reference is the
raw SQL an expert would write for the same rows (the page's customers with their numbers), run
through the same Django connection:

- the screen-pop lookup in-process (``customers.services.find_by_phone``) and
  ``GET /customers/lookup`` (a signed-in agent over HTTP, kept-alive);
- ``GET /customers/``: first and last page, name searches of one and two characters,
  a company search of one character, a full number, and parts of numbers (4 digits, a frequent
  4-digit run, 7 digits of a landline as shown);
- ``customers.services.search_customers`` in-process for a part of a number;
- the admin's customer search for parts of numbers: its queries in-process (100 rows a page,
  their numbers, the count) against the raw SQL of the same page and count, and the whole page
  over HTTP beside the admin's unfiltered page.
"""

import argparse
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from benchmarks.speed import (  # noqa: E402
    HEADER,
    ROWS,
    Agent,
    CannedCcc,
    interleaved,
    load_customers,
    row,
    start_web,
    stop_web,
)
from tests.aliyun_oauth.fakeprovider import FakeProvider  # noqa: E402
from tests.production.servers import Instances  # noqa: E402

PAGE = 26  # the list's page size + 1 (the page asks one more to know there is a next one)


def fill_search_digits(conn) -> None:
    """``PhoneNumber.digits`` of rows inserted with SQL (``db_default`` ""), with the product's
    own function, in batches; nothing when every row has them."""
    from customers.phones import search_digits

    missing = conn.execute(
        "SELECT count(*) FROM customers_phonenumber WHERE digits = ''"
    ).fetchone()[0]
    if not missing:
        return
    print(f"filling the search digits of {missing} numbers...", flush=True)
    started = time.monotonic()
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, raw FROM customers_phonenumber WHERE id > %s AND digits = '' "
            "ORDER BY id LIMIT 10000",
            (last,),
        ).fetchall()
        if not rows:
            break
        with conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE customers_phonenumber SET digits = %s WHERE id = %s",
                [(search_digits(raw), pk) for pk, raw in rows],
            )
        last = rows[-1][0]
    conn.execute("VACUUM ANALYZE customers_phonenumber")
    print(f"  filled in {time.monotonic() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    url = urlsplit(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crmdemo_speed_search")
    )
    db = {"NAME": url.path.lstrip("/"), "HOST": url.hostname, "PORT": url.port or 5432}
    db.update(USER=url.username or "postgres", PASSWORD=url.password or "")
    provider = FakeProvider("4000000000000000001")
    provider.start()
    ccc = CannedCcc()
    tmp = tempfile.TemporaryDirectory()
    servers = Instances(
        Path(tmp.name),
        db,
        os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7"),
        provider,
        ccc,
    )
    servers.db_name = db["NAME"]  # kept between runs
    servers.env.update(RATELIMIT_ENABLE="False", GUNICORN_ACCESS_LOG="0", LOG_LEVEL="WARNING")
    servers.env["DATABASE_URL"] = servers.env["DATABASE_URL"].rsplit("/", 1)[0] + "/" + db["NAME"]
    admin = dict(servers._admin)
    with psycopg.connect(**admin, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (db["NAME"],)
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    release = servers.serve("release")
    assert release.returncode == 0, release.stdout + release.stderr
    demo = servers.manage("bootstrap_demo", "--force")
    assert demo.returncode == 0, demo.stderr
    raw = psycopg.connect(**{**admin, "dbname": db["NAME"]}, autocommit=True)
    load_customers(raw, args.customers)

    os.environ.update(
        DJANGO_SETTINGS_MODULE="crmdemo.settings",
        DATABASE_URL=servers.env["DATABASE_URL"],
        DEBUG="True",
        DB_CONN_MAX_AGE="60",
    )
    import django

    django.setup()
    fill_search_digits(raw)
    try:
        servers.urls = [start_web(servers, 0)]
        agent = Agent(servers.urls[0])
        agent.sign_in("Edward", "1234")
        supervisor = Agent(servers.urls[0])
        supervisor.sign_in("supervisor", "supervisor-2018")
        print(
            f"\n{args.customers} customers, {args.rounds} rounds, machine: {os.cpu_count()} "
            f"cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
        )
        print(HEADER, end="")
        customer_rows(agent, raw, args.rounds)
        admin_rows(supervisor, args.rounds)
        print("\nload average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        stop_web(servers)
        ccc.server.shutdown()
        provider.stop()
        raw.close()
        tmp.cleanup()


# The reference: the page's customers, each with its numbers, in one statement.
PAGE_SQL = """SELECT c.id, c.name, c.company,
        (SELECT array_agg(p.raw ORDER BY p.id) FROM customers_phonenumber p
         WHERE p.customer_id = c.id)
    FROM customers_customer c {where} ORDER BY c.name {order}, c.id {order} LIMIT %s"""
# One or two characters: the start of the name or of the company, each from its prefix index.
PREFIX_SQL = """SELECT c.id, c.name, c.company,
        (SELECT array_agg(p.raw ORDER BY p.id) FROM customers_phonenumber p
         WHERE p.customer_id = c.id)
    FROM ((SELECT * FROM customers_customer WHERE left(upper(name), {n}) = upper(%s)
           ORDER BY name, id LIMIT %s)
          UNION
          (SELECT * FROM customers_customer WHERE left(upper(company), {n}) = upper(%s)
           ORDER BY name, id LIMIT %s)) c
    ORDER BY c.name, c.id LIMIT %s"""
BY_DIGITS = "WHERE c.id IN (SELECT customer_id FROM customers_phonenumber WHERE digits LIKE %s)"


def customer_rows(agent: Agent, raw, rounds: int) -> None:
    from django.db import connection

    from customers.services import find_by_phone, search_customers

    number, key = raw.execute(
        "SELECT raw, normalized FROM customers_phonenumber WHERE customer_id = "
        "(SELECT max(id) * 7 / 9 FROM customers_customer) ORDER BY id LIMIT 1"
    ).fetchone()
    landline = raw.execute(
        "SELECT raw FROM customers_phonenumber WHERE raw LIKE '021-%%' AND customer_id > "
        "(SELECT max(id) / 2 FROM customers_customer) ORDER BY customer_id LIMIT 1"
    ).fetchone()[0]
    landline_part = landline[-8:-4] + " " + landline[-4:-1]  # 7 digits as shown ("0077 777")

    lookup_sql = """SELECT c.id, c.name, c.company,
               array_agg(p.raw ORDER BY p.id), array_agg(p.normalized ORDER BY p.id)
        FROM customers_customer c JOIN customers_phonenumber p ON p.customer_id = c.id
        WHERE c.id IN (SELECT customer_id FROM customers_phonenumber WHERE normalized = %s)
        GROUP BY c.id ORDER BY c.name, c.id"""

    def sql(text, params=()):
        def call():
            with connection.cursor() as cursor:
                cursor.execute(text, params)
                cursor.fetchall()

        return call

    def in_process():
        for customer in find_by_phone(number):
            [p.raw for p in customer.phones.all()]

    a, b = interleaved(in_process, sql(lookup_sql, (key,)), rounds)
    row("screen-pop lookup in-process (find_by_phone)", a, "raw indexed SQL", b)
    a, b = interleaved(
        agent.get("/customers/lookup", {"number": number}), sql(lookup_sql, (key,)), rounds
    )
    row("GET /customers/lookup", a, "raw indexed SQL", b)

    last = json.dumps(["\U0010ffff", 0], ensure_ascii=False).encode()
    before = base64.urlsafe_b64encode(last).decode().rstrip("=")

    def prefix(text):
        return PREFIX_SQL.format(n=len(text)), (text, PAGE, text, PAGE, PAGE)

    cases = [
        ("customer list, first page", {}, PAGE_SQL.format(where="", order="ASC"), (PAGE,)),
        (
            "customer list, last page",
            {"before": before},
            PAGE_SQL.format(where="", order="DESC"),
            (PAGE,),
        ),
        ("name search, 1 character (王)", {"q": "王"}, *prefix("王")),
        ("name search, 2 characters (王伟)", {"q": "王伟"}, *prefix("王伟")),
        ("company search, 1 character (西)", {"q": "西"}, *prefix("西")),
        (
            "phone search (full mobile)",
            {"q": number},
            PAGE_SQL.format(
                where="WHERE c.id IN (SELECT customer_id FROM customers_phonenumber "
                "WHERE normalized = %s)",
                order="ASC",
            ),
            (key, PAGE),
        ),
        (
            f"part of a number, 7 digits of a landline ({landline_part})",
            {"q": landline_part},
            PAGE_SQL.format(where=BY_DIGITS, order="ASC"),
            ("%" + landline_part.replace(" ", "") + "%", PAGE),
        ),
        (
            "part of a number, 4 digits (5678)",
            {"q": "5678"},
            None,
            None,
        ),
        (
            "part of a number, a frequent 4 digits (0000)",
            {"q": "0000"},
            None,
            None,
        ),
    ]
    for label, params, text, sql_params in cases:
        if text is None:
            # 4-6 digits also match name or company (a "58同城"). The ids first, as an array:
            # PostgreSQL guesses 1% of the table for any pattern and, given the union as a
            # subquery, walks the name index or scans the table; = ANY(ARRAY(...)) is the
            # hand-tuned form.
            digits = params["q"]
            text = """SELECT c.id, c.name, c.company,
                    (SELECT array_agg(p.raw ORDER BY p.id) FROM customers_phonenumber p
                     WHERE p.customer_id = c.id)
                FROM customers_customer c WHERE c.id = ANY(ARRAY(
                    SELECT id FROM customers_customer WHERE upper(name) LIKE %s
                    UNION SELECT id FROM customers_customer WHERE upper(company) LIKE %s
                    UNION SELECT customer_id FROM customers_phonenumber WHERE digits LIKE %s))
                ORDER BY c.name, c.id LIMIT %s"""
            like = "%" + digits + "%"
            sql_params = (like, like, like, PAGE)
        a, b = interleaved(agent.get("/customers/", params), sql(text, sql_params), rounds // 3, 5)
        row(f"GET /customers/ {label}", a, "raw SQL, same page", b)
        if label.startswith("part of a number, 4 digits"):
            query = params["q"]

            def search(query=query):
                for customer in search_customers(query).customers:
                    [p.raw for p in customer.phones.all()]

            a, b = interleaved(search, sql(text, sql_params), rounds // 3, 5)
            row(f"search_customers in-process, {label}", a, "raw SQL, same page", b)


ADMIN_SQL = """SELECT c.id, c.name, c.company, c.email, c.updated,
        (SELECT array_agg(p.raw ORDER BY p.id) FROM customers_phonenumber p
         WHERE p.customer_id = c.id)
    FROM customers_customer c WHERE c.id = ANY(ARRAY(
        SELECT id FROM customers_customer WHERE upper(name) LIKE %(like)s
        UNION SELECT id FROM customers_customer WHERE upper(company) LIKE %(like)s
        UNION SELECT id FROM customers_customer WHERE upper(email) LIKE %(like)s
        UNION SELECT customer_id FROM customers_phonenumber WHERE digits LIKE %(like)s))
    ORDER BY c.name, c.id LIMIT 100"""
ADMIN_COUNT_SQL = """SELECT count(*) FROM (
        SELECT id FROM customers_customer WHERE upper(name) LIKE %(like)s
        UNION SELECT id FROM customers_customer WHERE upper(company) LIKE %(like)s
        UNION SELECT id FROM customers_customer WHERE upper(email) LIKE %(like)s
        UNION SELECT customer_id FROM customers_phonenumber WHERE digits LIKE %(like)s) ids"""


def admin_rows(supervisor: Agent, rounds: int) -> None:
    """The admin's search by part of a number: its queries in-process (the ids, the page of 100
    with their numbers, the count) against the raw SQL of page and count; and the whole admin
    page over HTTP beside the unfiltered admin page (the admin's own rendering cost)."""
    from django.db import connection

    from customers.admin import ADMIN_KNOWN_IDS
    from customers.models import Customer
    from customers.services import customer_search_q, parse_search

    a, b = interleaved(
        supervisor.get("/admin/customers/customer/", {"q": "5678"}),
        supervisor.get("/admin/customers/customer/"),
        rounds // 6,
        3,
    )
    row("GET /admin/ customer search, part of a number (5678)", a, "the admin, no search", b)
    for digits in ("5678", "0077777"):
        like = {"like": f"%{digits}%"}

        def product(digits=digits):
            terms = parse_search(digits)
            found = Customer.objects.filter(
                customer_search_q(terms, email=True, known_up_to=ADMIN_KNOWN_IDS)
            ).order_by("name", "id")
            for customer in found.prefetch_related("phones")[:100]:
                [p.raw for p in customer.phones.all()]
            found.count()

        def reference(like=like):
            with connection.cursor() as cursor:
                cursor.execute(ADMIN_SQL, like)
                cursor.fetchall()
                cursor.execute(ADMIN_COUNT_SQL, like)
                cursor.fetchall()

        a, b = interleaved(product, reference, rounds // 3, 5)
        row(f"admin search queries in-process, part of a number ({digits})", a, "raw SQL", b)


if __name__ == "__main__":
    main()
    print("\n" + HEADER + "\n".join(ROWS))
