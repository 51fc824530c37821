"""Fixtures for aliyun_oauth: the sandbox provider on the live server, a CRM user, helpers that
walk the sandbox sign-in over real HTTP, and a tiny local OIDC provider for failure cases."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache

from tests.aliyun_oauth.fakeprovider import FakeProvider

EDWARD_UPN = "edward@crmdemo.onaliyun.com"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2's deliberate slowness only slows these tests; hashing is not what they test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # JWKS/discovery caches must not leak between tests
    yield
    cache.clear()


@pytest.fixture
def oauth_sandbox(sandbox, cloud_users, settings):
    """The ``sandbox`` fixture plus plain-HTTP OAuth allowed (the live server is HTTP) and the
    demo cloud users seeded."""
    settings.ALIYUN_OAUTH_ALLOW_HTTP = True
    return sandbox


@pytest.fixture
def edward(django_user_model):
    return django_user_model.objects.create_user("edward", password="1234")


@pytest.fixture
def edward_client(client, edward):
    client.force_login(edward)
    return client


def _hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def sandbox_approve(authorize_url: str, upn: str = EDWARD_UPN, password: str = "1234") -> dict:
    """Sign in to the sandbox over real HTTP and consent; return the form_post fields
    ({"code", "state"}) the provider would POST to the redirect_uri."""
    s = requests.Session()
    page = s.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    signed_in = s.post(
        authorize_url,
        data={
            "csrfmiddlewaretoken": csrf,
            "username": upn,
            "password": password,
            "action": "signin",
        },
        headers={"Referer": authorize_url},
        timeout=10,
    )
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', signed_in.text).group(1)
    answer = s.post(
        authorize_url,
        data={"csrfmiddlewaretoken": csrf, "action": "allow"},
        headers={"Referer": authorize_url},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    fields = _hidden_fields(answer.text)
    assert "code" in fields, answer.text
    return {k: v.replace("&amp;", "&") for k, v in fields.items()}


def start_link(client) -> str:
    """GET /aliyun/auth with the Django test ``client``; return the provider authorize URL."""
    response = client.get("/aliyun/auth")
    assert response.status_code == 302, response.content
    return response["Location"]


def auth_params(authorize_url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}


def link(client, upn: str = EDWARD_UPN, password: str = "1234") -> dict:
    """The whole link flow: authorize, sandbox sign-in + consent, callback POST. Returns the
    fields posted to the callback."""
    fields = sandbox_approve(start_link(client), upn, password)
    response = client.post("/aliyun/auth/callback", fields)
    assert response.status_code == 302 and response["Location"] == "/", response.content
    return fields


@pytest.fixture
def fake_provider(settings):
    """A local OIDC provider (http.server in a thread) with every endpoint setting pointed at it."""
    provider = FakeProvider(client_id="crm-test-client")
    provider.start()
    settings.ALIYUN_OAUTH_ALLOW_HTTP = True
    settings.ALIYUN_CLIENT_ID = provider.client_id
    settings.ALIYUN_CLIENT_SECRET = provider.client_secret
    settings.ALIYUN_OAUTH_DISCOVERY_URL = ""
    settings.ALIYUN_OAUTH_AUTHORIZE_URL = provider.url + "/authorize"
    settings.ALIYUN_OAUTH_TOKEN_URL = provider.url + "/token"
    settings.ALIYUN_OAUTH_REVOKE_URL = provider.url + "/revoke"
    settings.ALIYUN_OAUTH_USERINFO_URL = provider.url + "/userinfo"
    settings.ALIYUN_OAUTH_JWKS_URL = provider.url + "/keys"
    settings.ALIYUN_OAUTH_ISSUER = provider.issuer
    settings.ALIYUN_OAUTH_REDIRECT_URI = "https://crm.example/aliyun/auth/callback"
    settings.ALIYUN_READ_TIMEOUT = 0.5
    yield provider
    provider.stop()
