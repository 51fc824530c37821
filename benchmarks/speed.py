"""Every speed figure of the product beside its reference, interleaved in one run on the same data.

    .venv/bin/python benchmarks/speed.py [--customers 1000000] [--rounds 300] [--only proxy]

Environment: ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/crmdemo_speed``; the
database is created when missing and kept, with its customers, for the next run: loading a
million customers with SQL takes a few minutes), ``TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/4``; keys under a fresh prefix, removed afterwards).

What runs: the release step of ``scripts/serve.sh`` once, then two ``scripts/serve.sh web``
instances (gunicorn, ``WEB_CONCURRENCY=2``) on that database: one serving CCC 1.x (API
2017-07-05), one 2.x (2020-07-01). Upstream, ``FakeProvider`` plays the OAuth provider (agent
Edward links with an STS access token, sissi with an opaque one: bearer mode) and a minimal
canned CCC OpenAPI answers every request in a single write on a kept-alive connection (a server
writing headers and body separately would add 40 ms delayed-ACK stalls to every call).

Each row times the product figure and its reference alternately, call by call (throughput: in
alternating 2-second blocks), and prints min, median (p50) and p99 in ms and the ratio of the
medians (product / reference; for throughput, product / reference calls per second):

- the proxied call (``POST /aliyun/ccc/api``, signed-in agent, keep-alive) against the same call
  with aliyun-python-sdk-core directly (one ``AcsClient``, same credentials, same upstream), and
  the floor under it: ``GET /healthz`` (the hop into gunicorn and Django, nothing behind it);
- the screen-pop lookup in-process (``customers.services.find_by_phone``) and
  ``GET /customers/lookup`` against the raw indexed SQL returning the same rows;
- the customer list (first and last page), name searches of one and two characters and a phone
  search against raw SQL for the same page.
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
import requests  # noqa: E402

from tests.aliyun_oauth.fakeprovider import FakeProvider  # noqa: E402
from tests.production.servers import Instances, sts_token  # noqa: E402

CANNED = json.dumps(
    {
        "RequestId": "CANNED",
        "Success": True,
        "Code": "OK",
        "HttpStatusCode": 200,
        "SkillLevels": {"SkillLevel": []},
        "Data": {"List": [], "PageNumber": 1, "PageSize": 10, "TotalCount": 0},
    }
).encode()
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(CANNED)).encode()
    + b"\r\n\r\n"
    + CANNED
)
INSTANCE_ID = "ccc-bench"


class CannedCcc:
    """The minimal CCC OpenAPI: every request answered with ``ANSWER`` in one ``sendall``."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.wfile.write(ANSWER)  # unbuffered socket writer: one send

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}/ccc"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


# --- data --------------------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
)
COMPANIES = "ARRAY['西湖茶业','浦江物流','中关村软件','南山电子','天河贸易','锦江餐饮','']"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]


def load_customers(conn, n: int) -> None:
    """``n`` customers (one mobile each, every third also a landline) in a few SQL statements."""
    have = conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
    if have >= n:
        return
    print(f"loading {n} customers with SQL (kept for the next run)...", flush=True)
    started = time.monotonic()
    given = "ARRAY[" + ",".join(f"'{g}'" for g in GIVEN) + "]"
    conn.execute("TRUNCATE customers_phonenumber, customers_customer CASCADE")
    conn.execute(
        f"""INSERT INTO customers_customer (id, name, company, email, notes, created, updated)
        SELECT i, substr('{SURNAMES}', i % {len(SURNAMES)} + 1, 1)
                  || ({given})[(i / {len(SURNAMES)}) % {len(GIVEN)} + 1] || i,
               ({COMPANIES})[i % 7 + 1],
               'c' || i || '@example.cn', '', now(), now()
        FROM generate_series(1, {n}) AS i"""
    )
    conn.execute(
        """INSERT INTO customers_phonenumber (customer_id, raw, normalized)
        SELECT id, '13' || (id % 10) || lpad(id::text, 8, '0'),
               '+8613' || (id % 10) || lpad(id::text, 8, '0')
        FROM customers_customer"""
    )
    conn.execute(
        """INSERT INTO customers_phonenumber (customer_id, raw, normalized)
        SELECT id, '021-' || lpad((id % 100000000)::text, 8, '0'),
               '+8621' || lpad((id % 100000000)::text, 8, '0')
        FROM customers_customer WHERE id % 3 = 0"""
    )
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), max(id)) "
        "FROM customers_customer"
    )
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('customers_phonenumber', 'id'), max(id)) "
        "FROM customers_phonenumber"
    )
    conn.execute("ANALYZE customers_customer")
    conn.execute("ANALYZE customers_phonenumber")
    print(f"  loaded in {time.monotonic() - started:.0f} s", flush=True)


# --- timing ------------------------------------------------------------------------------------


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


ROWS: list[str] = []
HEADER = (
    "| measure | reference | product min / p50 / p99 ms | reference min / p50 / p99 ms "
    "| ratio p50 |\n|---|---|---|---|---|\n"
)


def row(label: str, product: list[float], reference_label: str, reference: list[float]) -> None:
    ratio = statistics.median(product) / statistics.median(reference)
    line = (
        f"| {label} | {reference_label} | {ms(product, 0):.2f} / {ms(product, 0.5):.2f} / "
        f"{ms(product, 0.99):.2f} | {ms(reference, 0):.2f} / {ms(reference, 0.5):.2f} / "
        f"{ms(reference, 0.99):.2f} | {ratio:.2f}x |"
    )
    ROWS.append(line)
    print(line, flush=True)


def interleaved(product, reference, rounds: int, warmup: int = 20):
    """Time ``product()`` and ``reference()`` alternately ``rounds`` times each (seconds)."""
    for _ in range(warmup):
        product()
        reference()
    a, b = [], []
    for n in range(rounds):
        pairs = ((product, a), (reference, b)) if n % 2 else ((reference, b), (product, a))
        for fn, out in pairs:
            began = time.perf_counter()
            fn()
            out.append(time.perf_counter() - began)
    return a, b


def throughput(make_call, clients: int, seconds: float) -> float:
    """Calls per second of ``clients`` threads, each calling its own ``make_call()()``."""
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def loop(n):
        call = make_call()
        while time.monotonic() < stop:
            call()
            counts[n] += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(loop, range(clients)))
    return sum(counts) / seconds


# --- the agent's browser -----------------------------------------------------------------------


class Agent:
    """A signed-in agent's browser behind the TLS proxy, on a kept-alive connection."""

    def __init__(self, base: str, cookies: dict[str, str] | None = None):
        self.base = base
        self.http = requests.Session()
        self.http.headers.update({"X-Forwarded-Proto": "https"})
        self.cookies = dict(cookies or {})

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if method != "GET":
            headers.setdefault("Origin", "https://" + self.base.split("://", 1)[1])
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer = self.http.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for cookie in answer.cookies:
            self.cookies[cookie.name] = cookie.value
        return answer

    def sign_in(self, username: str, password: str) -> None:
        self.request("GET", "/login/")
        data = {"username": username, "password": password}
        data["csrfmiddlewaretoken"] = self.cookies["csrftoken"]
        answer = self.request("POST", "/login/", data=data)
        assert answer.status_code == 302, answer.text[:300]

    def link(self, provider: FakeProvider, access_token: str, sub: str) -> None:
        provider.sub = sub
        answer = self.request("GET", "/aliyun/auth")
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        provider.nonce = query["nonce"][0]
        provider.answers["/token"] = (200, provider.token_answer(access_token=access_token), 0)
        answer = self.request(
            "GET", "/aliyun/auth/callback", params={"code": "c", "state": query["state"][0]}
        )
        assert answer.status_code in (302, 303), answer.text[:300]

    def proxy_call(self, action: str, query: dict | None = None):
        csrf = self.cookies["csrftoken"]

        def call():
            answer = self.request(
                "POST",
                "/aliyun/ccc/api",
                params={"action": action, **(query or {})},
                data={"request": json.dumps({"InstanceId": INSTANCE_ID})},
                headers={"X-CSRFToken": csrf},
            )
            assert answer.status_code == 200, answer.text[:300]

        return call

    def get(self, path: str, params: dict | None = None):
        def call():
            answer = self.request("GET", path, params=params)
            assert answer.status_code == 200, (path, answer.status_code)

        return call


def direct_sdk(credentials, version: str, action: str):
    """The reference: the same call with aliyun-python-sdk-core, one client reused."""
    from aliyunsdkcore.client import AcsClient

    from ccc_proxy import client

    if isinstance(credentials, client.StsCredentials):
        acs = AcsClient(credentials.access_key_id, credentials.access_key_secret, "cn-shanghai")
    else:
        acs = AcsClient("", "", "cn-shanghai")

    def call():
        request = client.build_request(action, {"InstanceId": INSTANCE_ID}, credentials, version)
        acs.do_action_with_exception(request)

    return call


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=2.0, help="per throughput block")
    parser.add_argument(
        "--only",
        choices=("all", "proxy", "customers"),
        default="all",
        help="run only the proxy rows or only the customer rows (the proxy rows do not depend "
        "on the number of customers: --only proxy --customers 1000 skips the long load)",
    )
    args = parser.parse_args()

    url = urlsplit(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crmdemo_speed")
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
        os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4"),
        provider,
        ccc,
    )
    servers.db_name = db["NAME"]  # kept between runs (Instances would use <name>_serve)
    servers.env.update(
        ALIYUN_CCC_ENDPOINT=ccc.endpoint,
        ALIYUN_CCC_INSTANCE_ID=INSTANCE_ID,
        RATELIMIT_ENABLE="False",  # measure serving, not the limits
        GUNICORN_ACCESS_LOG="0",
        LOG_LEVEL="WARNING",
    )
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

    started = []
    try:
        for version in ("2017-07-05", "2020-07-01"):
            servers.env["ALIYUN_CCC_API_VERSION"] = version
            started.append(start_web(servers, len(started)))
        servers.urls = started
        run(servers, provider, raw, args)
    finally:
        stop_web(servers)
        ccc.server.shutdown()
        provider.stop()
        raw.close()
        tmp.cleanup()


def start_web(servers: Instances, n: int) -> str:
    import subprocess

    log = open(servers.tmp / f"web{n}.log", "w")  # noqa: SIM115 - closed in stop_web()
    process = subprocess.Popen(
        ["bash", "scripts/serve.sh", "web"],
        cwd=REPO,
        env=dict(servers.env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log = log
    servers.processes.append(process)
    base = servers._wait_listening(n, process)
    servers._wait_ready(base)
    return base


def stop_web(servers: Instances) -> None:
    import signal
    import subprocess

    for process in servers.processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in servers.processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.log.close()
    import redis

    client = redis.Redis.from_url(servers.env["CACHE_URL"])
    for key in client.scan_iter(match=servers.env["CACHE_KEY_PREFIX"] + ":*"):
        client.delete(key)
    client.close()


def run(servers: Instances, provider: FakeProvider, raw, args) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="crmdemo.settings",
        DATABASE_URL=servers.env["DATABASE_URL"],
        DEBUG="True",
        DB_CONN_MAX_AGE="60",
    )
    for name in ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings

    from ccc_proxy import client

    if args.only == "customers":
        edward = Agent(servers.urls[0])
        edward.sign_in("Edward", "1234")
        print_machine(args)
        customer_rows(edward, raw, args.rounds)
        print("\nload average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
        return

    settings.ALIYUN_CCC_ENDPOINT = servers.env["ALIYUN_CCC_ENDPOINT"]
    settings.ALIYUN_CCC_PROTOCOL = "http"

    one, two = servers.urls
    sts, bearer = sts_token("STS.edward"), "ot-" + secrets.token_urlsafe(24)
    edward, sissi = Agent(one), Agent(one)
    edward.sign_in("Edward", "1234")
    edward.link(provider, sts, "2030000000000001")
    sissi.sign_in("sissi", "5678")
    sissi.link(provider, bearer, "2030000000000002")
    sts_credentials = client.credentials_for(sts)
    bearer_credentials = client.credentials_for(bearer)
    sdk_2x = {"product": "CloudCallCenter", "version": "2020-07-01", "region": "cn-shanghai"}
    rounds = args.rounds

    print_machine(args)

    v1, v2 = (
        ("2017-07-05", "ListSkillGroupsOfUser", {}),
        ("2020-07-01", "ListSkillLevelsOfUser", sdk_2x),
    )
    for mode, agent, credentials in (
        ("STS", edward, sts_credentials),
        ("bearer", sissi, bearer_credentials),
    ):
        for base, (version, action, query) in ((one, v1), (two, v2)):
            product = Agent(base, agent.cookies).proxy_call(action, query)
            reference = direct_sdk(credentials, version, action)
            a, b = interleaved(product, reference, rounds)
            row(f"proxy {version} {action}, {mode}", a, "direct SDK call", b)

    # The floor under the proxy rows: the agent's hop into gunicorn and Django with nothing
    # behind it (the health probe answers before the session, the user or any query).
    a, b = interleaved(Agent(one).get("/healthz"), direct_sdk(sts_credentials, *v1[:2]), rounds)
    row("GET /healthz: the hop into gunicorn alone", a, "direct SDK call", b)

    def proxy_client():
        return Agent(one, edward.cookies).proxy_call("ListSkillGroupsOfUser")

    def direct_client():
        return direct_sdk(sts_credentials, "2017-07-05", "ListSkillGroupsOfUser")

    proxied, direct = [], []
    for _ in range(3):
        proxied.append(throughput(proxy_client, 8, args.seconds))
        direct.append(throughput(direct_client, 8, args.seconds))
    p, d = statistics.median(proxied), statistics.median(direct)
    line = (
        f"| throughput, 8 clients, 1.x STS (req/s, median of 3 blocks) | direct SDK call "
        f"| {p:.1f} req/s | {d:.1f} req/s | {p / d:.2f} |"
    )
    ROWS.append(line)
    print(line, flush=True)

    if args.only == "all":
        customer_rows(edward, raw, rounds)
    print("\nload average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


def print_machine(args) -> None:
    print(
        f"\n{args.customers} customers, {args.rounds} rounds, machine: {os.cpu_count()} cores, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    print(HEADER, end="")


def customer_rows(agent: Agent, raw, rounds: int) -> None:
    from django.db import connection

    from customers.services import find_by_phone

    number, key = raw.execute(
        "SELECT raw, normalized FROM customers_phonenumber WHERE customer_id = "
        "(SELECT max(id) * 7 / 9 FROM customers_customer) ORDER BY id LIMIT 1"
    ).fetchone()

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

    page_sql = """SELECT c.id, c.name, c.company,
            (SELECT array_agg(p.raw ORDER BY p.id) FROM customers_phonenumber p
             WHERE p.customer_id = c.id)
        FROM customers_customer c {where} ORDER BY c.name {order}, c.id {order} LIMIT 26"""
    last = json.dumps(["\U0010ffff", 0], ensure_ascii=False).encode()
    import base64

    before = base64.urlsafe_b64encode(last).decode().rstrip("=")
    cases = (
        ("customer list, first page", {}, page_sql.format(where="", order="ASC"), ()),
        (
            "customer list, last page",
            {"before": before},
            page_sql.format(where="", order="DESC"),
            (),
        ),
        (
            "name search, 1 character (王)",
            {"q": "王"},
            page_sql.format(
                where="WHERE UPPER(c.name) LIKE UPPER(%s) OR UPPER(c.company) LIKE UPPER(%s)",
                order="ASC",
            ),
            ("%王%", "%王%"),
        ),
        (
            "name search, 2 characters (王伟)",
            {"q": "王伟"},
            page_sql.format(
                where="WHERE UPPER(c.name) LIKE UPPER(%s) OR UPPER(c.company) LIKE UPPER(%s)",
                order="ASC",
            ),
            ("%王伟%", "%王伟%"),
        ),
        (
            "phone search (full mobile)",
            {"q": number},
            page_sql.format(
                where="WHERE c.id IN (SELECT customer_id FROM customers_phonenumber "
                "WHERE normalized = %s)",
                order="ASC",
            ),
            (key,),
        ),
    )
    for label, params, text, sql_params in cases:
        a, b = interleaved(
            agent.get("/customers/", params), sql(text, sql_params), rounds // 3, warmup=5
        )
        row(f"GET /customers/ {label}", a, "raw SQL, same page", b)


if __name__ == "__main__":
    main()
    print("\n" + HEADER + "\n".join(ROWS))
