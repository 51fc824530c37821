"""Fixtures of the CCC proxy tests: linked agents (through the real OAuth flow against the sandbox
on the live server) and a stand-in upstream for the failure cases the sandbox cannot produce."""

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from aliyun_oauth import services as oauth_services


def _hidden_inputs(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def link_account(sandbox, user, upn: str, password: str) -> None:
    """Link ``user`` to the sandbox cloud user ``upn`` through the real authorization code flow:
    aliyun_oauth builds the authorize URL, the sandbox sign-in and consent pages are driven over
    HTTP, and the form_post answer goes back to aliyun_oauth."""
    session: dict = {}
    url = oauth_services.start_authorization(session, sandbox.redirect_uri)
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    page = browser.post(
        url,
        data={
            "csrfmiddlewaretoken": _csrf(page.text),
            "username": upn,
            "password": password,
            "action": "signin",
        },
        timeout=10,
    )
    answer = browser.post(
        url, data={"csrfmiddlewaretoken": _csrf(page.text), "action": "allow"}, timeout=10
    )
    params = _hidden_inputs(answer.text)
    assert "code" in params, answer.text[:500]
    oauth_services.complete_authorization(user, session, params)


@dataclass
class Agent:
    """A CRM user with a logged-in HTTP session to the live server and its CSRF token."""

    user: object
    http: requests.Session
    crm_url: str
    csrf_token: str

    def call(self, action: str | None, request=None, *, raw: bytes | None = None, **kwargs):
        """POST to /aliyun/ccc/api like the SDK: form field ``request`` (or ``raw`` as the body)."""
        url = f"{self.crm_url}/aliyun/ccc/api"
        params = {"action": action} if action is not None else {}
        params.update(kwargs.pop("params", {}))
        headers = {"X-CSRFToken": self.csrf_token, **kwargs.pop("headers", {})}
        if raw is not None:
            kwargs["data"] = raw
        elif request is not None:
            kwargs["data"] = {"request": json.dumps(request)}
        return self.http.post(url, params=params, headers=headers, timeout=20, **kwargs)


@pytest.fixture
def make_agent(sandbox, transactional_db, cloud_users, settings, monkeypatch):
    """Factory: ``make_agent("edward", linked=True)`` -> Agent logged in to the CRM; linked to the
    sandbox cloud user of the same name when ``linked``."""
    # The live server speaks plain HTTP: allow it for the OAuth client (development switch).
    settings.ALIYUN_OAUTH_ALLOW_HTTP = True
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    # Fast password hashing for the test users (PBKDF2 would dominate the run time).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The sandbox's signing keys live in the (per-test) database: forget JWKS cached earlier.
    cache.clear()

    def make(name: str, linked: bool = True) -> Agent:
        user = get_user_model().objects.create_user(name, password=f"{name}-pw-2026")
        if linked:
            link_account(sandbox, user, *cloud_users[name])
        client = Client()
        client.force_login(user)
        http = requests.Session()
        http.cookies.set("sessionid", client.cookies["sessionid"].value, domain="127.0.0.1")
        http.get(f"{sandbox.crm_url}/", timeout=10).raise_for_status()  # sets csrftoken
        token = http.cookies.get("csrftoken", domain="127.0.0.1")
        assert token
        return Agent(user=user, http=http, crm_url=sandbox.crm_url, csrf_token=token)

    return make


@dataclass
class FakeCcc:
    """A stand-in for Alibaba's CCC OpenAPI endpoint: records each request's parameters and
    answers with ``handler(params) -> (status, body bytes or dict)`` (may sleep)."""

    endpoint: str
    requests: list[dict[str, str]] = field(default_factory=list)
    handler: Callable[[dict[str, str]], tuple[int, object]] | None = None


@pytest.fixture
def fake_ccc(settings):
    """Point ALIYUN_CCC_ENDPOINT at a local HTTP server standing in for Alibaba's CCC."""
    state = FakeCcc(endpoint="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            params = dict(parse_qsl(urlsplit(self.path).query))
            params.update(parse_qsl(body))
            state.requests.append(params)
            status, answer = state.handler(params) if state.handler else (200, {"Success": True})
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.endpoint = f"127.0.0.1:{server.server_address[1]}/ccc"
    settings.ALIYUN_CCC_ENDPOINT = state.endpoint
    settings.ALIYUN_CCC_PROTOCOL = "http"
    settings.ALIYUN_CA_BUNDLE = ""
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def sleep_then(seconds: float, status: int, body: object):
    def handler(params):
        time.sleep(seconds)
        return status, body

    return handler


def sts(access_token: str) -> SimpleNamespace:
    """The STS triple inside a sandbox access token (test-side decoding, independent of the app)."""
    import base64

    payload = json.loads(base64.urlsafe_b64decode(access_token + "=" * (-len(access_token) % 4)))
    return SimpleNamespace(
        access_key_id=payload["AccessKeyId"], security_token=payload["SecurityToken"]
    )
