"""Shared fixtures: the sandbox on a live server, and a headless Chromium.

Product tests see the sandbox only from outside, as they would see Alibaba Cloud: over HTTP,
through the ``sandbox`` fixture (what it answered, counted at the live server) and
``cloud_users`` (the demo cloud users, seeded by ``manage.py sandbox_seed``). Only the sandbox's
own tests (tests/aliyun_sandbox/) read its models."""

import contextlib
import io
import os
import secrets
import shutil
import threading
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls in the same test
# are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    """Every database test may use every database (the CRM's and, when installed, the sandbox's:
    a live server answers for both). Tests marked ``postgres`` need PostgreSQL's row locks: on
    another database they are skipped here, and ``scripts/test.sh`` runs them again with
    ``DATABASE_URL`` on PostgreSQL."""
    from django.conf import settings

    db_fixtures = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None and db_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.django_db(databases="__all__"), append=False)
        elif marker is not None and "databases" not in marker.kwargs:
            kwargs = {**marker.kwargs, "databases": "__all__"}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run by scripts/test.sh with -m postgres)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def english_by_default(settings):
    """Requests that send no Accept-Language get English pages in tests (the product's fallback
    is zh-hans, crmdemo/settings.py): the suite's assertions are written in English. Tests of
    the fallback itself set ``settings.LANGUAGE_CODE`` back; tests of a language send
    Accept-Language or the language cookie."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def ccc_api_version(request, settings):
    """CCC 1.x (API 2017-07-05, the 1.x stand-in) for the tests written for it; tests marked
    ``ccc2x`` get the 2.x defaults (API 2020-07-01, instance ``ccc-sandbox``, the 2.x stand-in),
    which are also the settings' defaults (tests/crmdemo/test_ccc_defaults.py)."""
    if request.node.get_closest_marker("ccc2x"):
        version, instance, script = "2020-07-01", "ccc-sandbox", "workbench-sdk-v2.js"
    else:
        version, instance, script = "2017-07-05", "ccc-sandbox-instance", "workbench-sdk.js"
    settings.ALIYUN_CCC_API_VERSION = version
    settings.ALIYUN_CCC_INSTANCE_ID = instance
    static = "/" + settings.STATIC_URL.lstrip("/")  # Django may have made it absolute
    settings.ALIYUN_SDK_SCRIPT_URLS = [f"{static}aliyun_sandbox/{script}"]
    settings.ALIYUN_SDK_CSS_URLS = [f"{static}aliyun_sandbox/workbench-sdk.css"]
    return version


class SandboxTraffic:
    """What the live server answered while a test ran: ``(method, path, status)`` per request, in
    the order the answers started (recorded before the client can read them), thread-safe."""

    def __init__(self, app):
        self.app = app
        self.seen: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        def record(status, headers, *exc_info):
            with self._lock:
                self.seen.append(
                    (environ["REQUEST_METHOD"], environ["PATH_INFO"], int(status.split()[0]))
                )
            return start_response(status, headers, *exc_info)

        return self.app(environ, record)

    def statuses(self, path_prefix: str) -> list[int]:
        with self._lock:
            return [status for _, path, status in self.seen if path.startswith(path_prefix)]


@pytest.fixture
def sandbox(live_server, settings):
    """Point every Alibaba Cloud setting at the sandbox served by ``live_server`` (plain HTTP).

    The CRM is reached as ``crm_url`` (http://127.0.0.1:PORT) and the sandbox as ``base_url``
    (http://localhost:PORT/sandbox): two different sites, as in production, so the provider's
    form_post callback is a cross-site POST in a browser.

    What reached the sandbox is observed as a client of Alibaba Cloud could: ``answers(path)``
    lists the HTTP statuses the sandbox gave to requests under ``base_url + path`` during the test
    (e.g. ``answers("/oauth/v1/token")``), ``tokens_issued()`` counts the token endpoint's 200
    answers (a code exchange or a refresh each), ``ccc_answers()`` the CCC OpenAPI's answers, and
    ``refresh(refresh_token)`` tries a refresh_token grant (the raw ``requests.Response``).
    """
    port = live_server.url.rsplit(":", 1)[1]
    crm_url = f"http://127.0.0.1:{port}"
    host = f"localhost:{port}"
    base_url = f"http://{host}/sandbox"
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_BASE_URL = base_url
    settings.ALIYUN_CLIENT_ID = settings.SANDBOX_CLIENT_ID
    settings.ALIYUN_CLIENT_SECRET = settings.SANDBOX_CLIENT_SECRET
    settings.SANDBOX_REDIRECT_URIS = [f"{crm_url}/aliyun/auth/callback"]
    settings.ALIYUN_OAUTH_REDIRECT_URI = f"{crm_url}/aliyun/auth/callback"
    settings.ALIYUN_SIGNIN_BASE_URL = f"{base_url}/signin"
    settings.ALIYUN_OAUTH_BASE_URL = f"{base_url}/oauth"
    settings.ALIYUN_CCC_ENDPOINT = f"{host}/sandbox/ccc"
    settings.ALIYUN_CCC_PROTOCOL = "http"
    settings.ALIYUN_CA_BUNDLE = ""

    server = live_server.thread.httpd
    app = server.get_app()
    traffic = SandboxTraffic(app)
    server.set_app(traffic)
    base_path = urlsplit(base_url).path
    client_id, client_secret = settings.SANDBOX_CLIENT_ID, settings.SANDBOX_CLIENT_SECRET

    def answers(path: str) -> list[int]:
        return traffic.statuses(base_path + path)

    def refresh(refresh_token: str) -> requests.Response:
        return requests.post(
            f"{base_url}/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client_id,
                "client_secret": client_secret,
            },
            timeout=10,
        )

    yield SimpleNamespace(
        crm_url=crm_url,
        base_url=base_url,
        signin_url=f"{base_url}/signin",
        oauth_url=f"{base_url}/oauth",
        ccc_endpoint=f"{host}/sandbox/ccc",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=f"{crm_url}/aliyun/auth/callback",
        answers=answers,
        tokens_issued=lambda: answers("/oauth/v1/token").count(200),
        ccc_answers=lambda: answers("/ccc"),
        refresh=refresh,
    )
    server.set_app(app)


@pytest.fixture
def cloud_users(sandbox, settings):
    """The sandbox's demo cloud users, seeded with ``manage.py sandbox_seed`` (idempotent):
    ``{"edward": (upn, password), "sissi": (upn, password)}``, as the README's demo accounts.

    Passwords are hashed with MD5 from here on (PBKDF2's deliberate slowness would dominate the
    tests; a password hashed now must be checked with a hasher still configured later)."""
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("sandbox_seed", stdout=io.StringIO())
    return {
        "edward": ("edward@crmdemo.onaliyun.com", "1234"),
        "sissi": ("sissi@crmdemo.onaliyun.com", "5678"),
    }


@pytest.fixture
def clock(monkeypatch):
    """A clock seam for expiry tests: ``clock.advance(seconds)`` moves
    ``django.utils.timezone.now`` forward for the whole process (the live server's threads
    included), instead of sleeping."""
    from django.utils import timezone

    real_now = timezone.now
    offset = {"seconds": 0.0}

    def now():
        return real_now() + timedelta(seconds=offset["seconds"])

    def advance(seconds: float) -> None:
        offset["seconds"] += seconds

    monkeypatch.setattr(timezone, "now", now)
    return SimpleNamespace(advance=advance, now=now)


@pytest.fixture
def crm_sign_in(django_user_model):
    """A CRM session id of a fresh signed-in user, valid on ``host``
    (the CRM's pages and the sandbox's call simulator, which needs a signed-in CRM user).
    ``.cookie(host)`` gives it as a Playwright cookie, ``.session()`` as a requests.Session."""
    from django.test import Client

    made = []

    def sign_in() -> str:
        name = f"operator-{secrets.token_hex(4)}"  # unique: threads sign in at the same time
        user = django_user_model.objects.create_user(name, password="x-2026-pw")
        client = Client()
        client.force_login(user)
        made.append(user)
        return client.cookies["sessionid"].value

    def cookie(host: str) -> dict:
        return {"name": "sessionid", "value": sign_in(), "domain": host, "path": "/"}

    def session() -> requests.Session:
        s = requests.Session()
        s.cookies.set("sessionid", sign_in())  # any host: cookielib calls "localhost" a .local
        return s

    return SimpleNamespace(cookie=cookie, session=session)


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright (no browser download)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh --dev)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page; fails the test on any page error or console error.

    Tests marked ``bypass_csp`` write pages of their own with inline scripts into CRM pages."""
    bypass_csp = request.node.get_closest_marker("bypass_csp") is not None
    context = browser.new_context(ignore_https_errors=True, bypass_csp=bypass_csp)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    pg.on(
        "console",
        lambda msg: (
            problems.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    pg.problems = problems
    yield pg
    os.makedirs("test-artifacts", exist_ok=True)
    with contextlib.suppress(Exception):  # a screenshot is best effort
        pg.screenshot(path=f"test-artifacts/{request.node.name}-last.png", full_page=True)
    context.close()
