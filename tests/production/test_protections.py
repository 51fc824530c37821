"""Sign-in lockout, rate limits, CSP and frame protection, request ids, a Redis outage."""

import json
import logging
import re
import socket

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


@pytest.fixture
def agent(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("edward", password="right-pw-1")
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    return user


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- sign-in throttling (django-axes) ---------------------------------------------------------


@pytest.mark.parametrize("login_url", ["/login/", "/admin/login/"])
def test_lockout_after_failures_holds_against_the_right_password(client, agent, login_url):
    # Usernames ignore case, so every spelling counts against the one account.
    for spelling in ("EDWARD", "Edward", "eDward", "edWard"):
        answer = client.post(login_url, {"username": spelling, "password": "x"})
        assert answer.status_code == 200
    answer = client.post(login_url, {"username": "edwaRD", "password": "x"})
    assert answer.status_code == 429
    answer = client.post(login_url, {"username": "edward", "password": "right-pw-1"})
    assert answer.status_code == 429
    assert "Too many failed sign-ins" in answer.content.decode()
    assert int(answer["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by this one's failures.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert (
        other.post("/login/", {"username": "edward", "password": "right-pw-1"}).status_code == 302
    )


def test_success_resets_the_count(client, agent):
    for _ in range(4):
        client.post("/login/", {"username": "edward", "password": "x"})
    assert (
        client.post("/login/", {"username": "edward", "password": "right-pw-1"}).status_code == 302
    )
    client.logout()
    for _ in range(4):
        assert client.post("/login/", {"username": "edward", "password": "x"}).status_code == 200


def test_client_address_behind_trusted_proxies(client, agent, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        # The client's own X-Forwarded-For claim (left) changes; the proxy's entry does not.
        client.post(
            "/login/",
            {"username": "edward", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 203.0.113.7",
        )
    answer = client.post(
        "/login/",
        {"username": "edward", "password": "right-pw-1"},
        HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7",
    )
    assert answer.status_code == 429
    answer = client.post(
        "/login/",
        {"username": "edward", "password": "right-pw-1"},
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert answer.status_code == 302


# --- rate limits (django-ratelimit) -----------------------------------------------------------


def assert_429(answer):
    assert answer.status_code == 429
    assert answer["Content-Type"] == "application/json"
    assert 1 <= int(answer["Retry-After"]) <= 60
    return answer.json()


def test_lookup_is_rate_limited_per_agent(client, agent, settings):
    settings.RATELIMIT_LOOKUP = "2/m"
    client.force_login(agent)
    url = reverse("customers:lookup")
    assert [client.get(url, {"number": "13800138000"}).status_code for _ in range(2)] == [200, 200]
    answer = client.get(url, {"number": "13800138000"})
    body = assert_429(answer)
    assert body["requestId"] == answer["X-Request-ID"] and "Too many requests" in body["error"]


def test_call_log_is_rate_limited(client, agent, settings):
    settings.RATELIMIT_CALL_LOG = "1/m"
    client.force_login(agent)
    url = reverse("customers:call_log")
    assert client.post(url, "[]", content_type="application/json").status_code == 400
    assert_429(client.post(url, "[]", content_type="application/json"))


def test_ccc_proxy_is_rate_limited_in_its_error_shape(client, agent, settings):
    settings.RATELIMIT_CCC_PROXY = "1/m"
    client.force_login(agent)
    url = reverse("ccc_proxy:api") + "?action=ListSkillGroupsOfUser"
    first = client.post(url, {"request": "{}"})
    assert first.status_code == 401  # not linked: answered, and counted
    answer = client.post(url, {"request": "{}"})
    body = assert_429(answer)
    assert body["errorCode"] == "Throttling" and body["requestId"] == answer["X-Request-ID"]


# --- a Redis outage ---------------------------------------------------------------------------


def test_redis_outage_degrades_without_errors(client, agent, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "crmdemo.cache.FailSoftRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.RATELIMIT_LOOKUP = "1/m"
    client.force_login(agent)
    with caplog.at_level(logging.WARNING, logger="crmdemo.cache"):
        for _ in range(3):  # no counting, so no throttling
            answer = client.get(reverse("customers:lookup"), {"number": "13800138000"})
            assert answer.status_code == 200
        assert client.get(reverse("customers:list")).status_code == 200
        assert client.get("/healthz").status_code == 200
    warnings = [r for r in caplog.records if r.name == "crmdemo.cache"]
    assert len(warnings) == 1 and "Redis unreachable" in warnings[0].getMessage()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "down": ["cache"]}


def test_readyz_with_redis_up(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "crmdemo.cache.FailSoftRedisCache",
            "LOCATION": "redis://127.0.0.1:6379/4",
            "KEY_PREFIX": "test-readyz",
        }
    }
    answer = client.get("/readyz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


# --- CSP and framing --------------------------------------------------------------------------


def csp(answer) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in answer["Content-Security-Policy"].split(";")]
    return {p[0]: p[1:] for p in parts if p}


def test_crm_pages_allow_no_inline_code_and_only_same_origin_frames(client, agent):
    client.force_login(agent)
    from customers.models import Customer

    lu = Customer.objects.create(name="Mr Lu", notes="x" * 500)
    pages = ("/", reverse("customers:list"), reverse("customers:detail", args=[lu.pk]), "/login/")
    for url in pages:
        answer = client.get(url)
        assert answer.status_code == 200, url
        policy = csp(answer)
        assert policy["frame-ancestors"] == ["'self'"]
        assert "'unsafe-inline'" not in answer["Content-Security-Policy"]
        assert "'unsafe-eval'" not in answer["Content-Security-Policy"]
        assert policy["object-src"] == ["'none'"]
        assert answer["X-Frame-Options"] == "DENY"  # browsers without CSP 2 only
        html = answer.content.decode()
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert inline == [], url
        assert "<style" not in html and " style=" not in html, url


def test_the_oauth_resubmit_page_runs_its_script_by_nonce(client):
    answer = client.post(reverse("aliyun_oauth:callback"), {"code": "c", "state": "s"})
    assert answer.status_code == 200
    nonce = re.search(r'<script nonce="([^"]+)">', answer.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in csp(answer)["script-src"]


# --- request ids ------------------------------------------------------------------------------


def test_request_id_is_kept_from_the_proxy_or_made(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-123.abc")["X-Request-ID"] == "lb-123.abc"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n<script>")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)


def test_error_answer_shows_the_request_id(client, agent, monkeypatch):
    from customers import services

    def boom(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(services, "find_by_phone", boom)
    client.raise_request_exception = False
    client.force_login(agent)
    page = client.get(reverse("customers:lookup"), {"number": "1"}, HTTP_ACCEPT="text/html")
    assert page.status_code == 500 and page["X-Request-ID"] in page.content.decode()
    answer = client.get(
        reverse("customers:lookup"), {"number": "1"}, HTTP_ACCEPT="application/json"
    )
    assert answer.status_code == 500
    assert answer.json() == {"error": "Internal server error.", "requestId": answer["X-Request-ID"]}


def test_json_log_lines_carry_the_request_id(client, settings):
    """The console handler as settings.LOGGING builds it with LOG_FORMAT=json (its formatter and
    filters), writing to a buffer for this test."""
    import io
    from logging.config import DictConfigurator

    config = DictConfigurator({"version": 1})
    spec = dict(settings.LOGGING["formatters"]["json"])
    formatter = config.configure_custom(spec)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    for name in settings.LOGGING["handlers"]["console"]["filters"]:
        handler.addFilter(config.configure_custom(dict(settings.LOGGING["filters"][name])))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        answer = client.get("/no-such-page")
    finally:
        logger.removeHandler(handler)
    assert answer.status_code == 404
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["request_id"] == answer["X-Request-ID"]
    assert line["level"] == "WARNING" and line["logger"] == "django.request"
    assert "Not Found: /no-such-page" in line["message"]
