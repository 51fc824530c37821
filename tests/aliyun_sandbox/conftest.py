"""Fixtures shared by the sandbox's tests: seeded cloud users and a browser-less OAuth sign-in."""

import base64
import hashlib
import io
import secrets
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.core.management import call_command

EDWARD = SimpleNamespace(upn="edward@crmdemo.onaliyun.com", password="1234")
SISSI = SimpleNamespace(upn="sissi@crmdemo.onaliyun.com", password="5678")


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}, "buttons": []})
        elif tag in ("input", "button") and self.forms:
            name = attrs.get("name")
            if tag == "button":
                self.forms[-1]["buttons"].append((name, attrs.get("value")))
            elif name:
                self.forms[-1]["fields"][name] = attrs.get("value") or ""


def html_forms(html: str) -> list[dict]:
    """The forms of a page:
    ``[{"action", "fields": {name: value}, "buttons": [(name, value)]}]``."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_with_button(html: str, value: str) -> dict:
    """The form that has a submit button ``action=value``."""
    for form in html_forms(html):
        if ("action", value) in form["buttons"]:
            return form
    raise AssertionError(f"no form with button {value!r} in page")


def pkce_pair(method: str = "S256") -> tuple[str, str]:
    """A fresh ``(code_verifier, code_challenge)`` (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    if method == "plain":
        return verifier, verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def cloud_users(settings, db):
    """The demo cloud users from ``manage.py sandbox_seed`` (fast password hashing in tests)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("sandbox_seed", stdout=io.StringIO())
    return SimpleNamespace(edward=EDWARD, sissi=SISSI)


def sign_in_and_consent(browser: requests.Session, authorize_url: str, user=EDWARD, answer="allow"):
    """Drive the sandbox sign-in page and consent screen over HTTP; return the final response
    (the form_post page, or the unfollowed 302 of response_mode=query)."""
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text
    if ("action", "signin") in [b for f in html_forms(page.text) for b in f["buttons"]]:
        form = form_with_button(page.text, "signin")
        data = {**form["fields"], "username": user.upn, "password": user.password}
        page = browser.post(authorize_url, data={**data, "action": "signin"})
        assert page.status_code == 200, page.text
    form = form_with_button(page.text, answer)
    return browser.post(
        authorize_url, data={**form["fields"], "action": answer}, allow_redirects=False
    )


def read_answer(response, redirect_uri: str) -> dict:
    """The parameters sent back to ``redirect_uri`` by form_post (HTML form) or query (302)."""
    if response.status_code in (302, 303):
        location = response.headers["Location"]
        assert location.split("?", 1)[0] == redirect_uri
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert response.status_code == 200, response.text
    (form,) = [f for f in html_forms(response.text) if f["action"] == redirect_uri]
    return form["fields"]


@pytest.fixture
def get_code(sandbox, cloud_users):
    """``get_code(**params) -> (code, answer_params, code_verifier)``: a fresh authorization code
    for Edward over real HTTP (S256 PKCE, form_post and access_type=offline unless overridden)."""

    def _get_code(pkce="S256", user=EDWARD, **overrides):
        verifier, challenge = pkce_pair(pkce) if pkce else (None, None)
        params = {
            "client_id": sandbox.client_id,
            "redirect_uri": sandbox.redirect_uri,
            "response_type": "code",
            "response_mode": "form_post",
            "access_type": "offline",
            "scope": "openid aliuid profile /acs/ccc",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
        }
        if pkce:
            params.update(code_challenge=challenge, code_challenge_method=pkce)
        params.update(overrides)
        url = f"{sandbox.signin_url}/oauth2/v1/auth?{urlencode(params)}"
        answer = read_answer(
            sign_in_and_consent(requests.Session(), url, user), sandbox.redirect_uri
        )
        assert answer["state"] == params["state"]
        return answer["code"], answer, verifier

    return _get_code


@pytest.fixture
def token_for(sandbox, get_code):
    """``token_for(**params) -> dict``: a token answer for Edward (client_secret_post)."""

    def _token_for(**overrides):
        code, _, verifier = get_code(**overrides)
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": sandbox.redirect_uri,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
        if verifier:
            data["code_verifier"] = verifier
        r = requests.post(f"{sandbox.oauth_url}/v1/token", data=data, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    return _token_for
