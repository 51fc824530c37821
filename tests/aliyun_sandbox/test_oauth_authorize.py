"""The sandbox's authorize endpoint: sign-in page, consent screen, answers and refusals."""

import os
import secrets
from urllib.parse import urlencode

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from aliyun_sandbox.models import AuthorizationCode
from tests.aliyun_sandbox.conftest import (
    EDWARD,
    form_with_button,
    html_forms,
    pkce_pair,
    read_answer,
    sign_in_and_consent,
)


def auth_params(sandbox, **overrides):
    _, challenge = pkce_pair()
    params = {
        "client_id": sandbox.client_id,
        "redirect_uri": sandbox.redirect_uri,
        "response_type": "code",
        "response_mode": "form_post",
        "access_type": "offline",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def auth_url(sandbox, params):
    items = params.items() if isinstance(params, dict) else params
    return f"{sandbox.signin_url}/oauth2/v1/auth?{urlencode(list(items))}"


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "unknown-client"},
        {"client_id": None},
        {"redirect_uri": "http://127.0.0.1:1/evil"},
        {"redirect_uri": None},
    ],
)
def test_bad_client_or_redirect_uri_shows_an_error_and_never_redirects(
    sandbox, cloud_users, overrides
):
    r = requests.get(auth_url(sandbox, auth_params(sandbox, **overrides)), allow_redirects=False)
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert "cannot be completed" in r.text
    assert sandbox.redirect_uri not in r.text


def test_repeated_redirect_uri_never_redirects(sandbox, cloud_users):
    params = list(auth_params(sandbox).items()) + [("redirect_uri", sandbox.redirect_uri)]
    r = requests.get(auth_url(sandbox, params), allow_redirects=False)
    assert r.status_code == 400


@pytest.mark.parametrize(
    "uri",
    ["http://crm.example.com/aliyun/auth/callback", "https://crm.example.com/cb#frag"],
)
def test_registered_uri_must_be_https_or_loopback(sandbox, cloud_users, settings, uri):
    settings.SANDBOX_REDIRECT_URIS = [uri]
    r = requests.get(auth_url(sandbox, auth_params(sandbox, redirect_uri=uri)))
    assert r.status_code == 400


def test_https_registered_uri_is_accepted(sandbox, cloud_users, settings):
    uri = "https://crm.example.com/aliyun/auth/callback"
    settings.SANDBOX_REDIRECT_URIS = [uri]
    r = sign_in_and_consent(
        requests.Session(), auth_url(sandbox, auth_params(sandbox, redirect_uri=uri))
    )
    assert read_answer(r, uri)["code"]


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"code_challenge_method": "S512"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),  # a method without a challenge
        ({"access_type": "forever"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"nonce": "n" * 513}, "invalid_request"),
    ],
)
def test_request_errors_go_back_to_the_client_with_state(sandbox, cloud_users, overrides, error):
    params = auth_params(sandbox, **overrides)
    r = requests.get(auth_url(sandbox, params), allow_redirects=False)
    answer = read_answer(r, sandbox.redirect_uri)
    assert answer["error"] == error
    assert answer["error_description"]
    assert answer["state"] == params["state"]
    assert "code" not in answer


def test_repeated_parameter_is_invalid_request(sandbox, cloud_users):
    params = auth_params(sandbox, response_mode="query")
    r = requests.get(
        auth_url(sandbox, [*params.items(), ("nonce", "a"), ("nonce", "b")]),
        allow_redirects=False,
    )
    assert r.status_code == 302
    answer = read_answer(r, sandbox.redirect_uri)
    assert answer["error"] == "invalid_request"
    assert answer["state"] == params["state"]


@pytest.mark.parametrize("where", ["signin", "consent"])
def test_cancel_answers_access_denied_with_state(sandbox, cloud_users, where):
    params = auth_params(sandbox)
    url = auth_url(sandbox, params)
    browser = requests.Session()
    if where == "signin":
        page = browser.get(url)
        form = form_with_button(page.text, "cancel")
        r = browser.post(url, data={**form["fields"], "action": "cancel"})
    else:
        r = sign_in_and_consent(browser, url, answer="cancel")
    answer = read_answer(r, sandbox.redirect_uri)
    assert answer["error"] == "access_denied"
    assert answer["state"] == params["state"]
    assert not AuthorizationCode.objects.exists()


def test_wrong_password_shows_a_message_and_issues_nothing(sandbox, cloud_users):
    url = auth_url(sandbox, auth_params(sandbox))
    browser = requests.Session()
    page = browser.get(url)
    form = form_with_button(page.text, "signin")
    r = browser.post(
        url,
        data={**form["fields"], "username": EDWARD.upn, "password": "5678", "action": "signin"},
    )
    assert r.status_code == 200
    assert "Wrong user name or password." in r.text
    assert form_with_button(r.text, "signin")  # still the sign-in page
    # "allow" without a signed-in user only shows the sign-in page again.
    r = browser.post(url, data={**form["fields"], "action": "allow"})
    assert form_with_button(r.text, "signin")
    assert not AuthorizationCode.objects.exists()


def test_csrf_protects_the_sign_in_form(sandbox, cloud_users):
    url = auth_url(sandbox, auth_params(sandbox))
    browser = requests.Session()
    browser.get(url)
    r = browser.post(
        url, data={"username": EDWARD.upn, "password": EDWARD.password, "action": "signin"}
    )
    assert r.status_code == 403


def test_sign_in_page_looks_like_the_sandbox_and_hints_demo_accounts(sandbox, cloud_users):
    r = requests.get(auth_url(sandbox, auth_params(sandbox)))
    assert "Alibaba Cloud" in r.text and "sandbox" in r.text
    assert "edward@crmdemo.onaliyun.com" in r.text and "sissi@crmdemo.onaliyun.com" in r.text


def test_sign_in_never_logs_into_the_crm(sandbox, cloud_users):
    browser = requests.Session()
    sign_in_and_consent(browser, auth_url(sandbox, auth_params(sandbox)))
    session = SessionStore(session_key=browser.cookies["sessionid"]).load()
    assert "aliyun_sandbox.cloud_user_id" in session
    assert "_auth_user_id" not in session


def test_signed_in_user_goes_straight_to_consent_and_can_switch(sandbox, cloud_users):
    browser = requests.Session()
    sign_in_and_consent(browser, auth_url(sandbox, auth_params(sandbox)))
    url = auth_url(sandbox, auth_params(sandbox))
    page = browser.get(url)
    assert "edward@crmdemo.onaliyun.com" in page.text
    form = form_with_button(page.text, "switch")
    page = browser.post(url, data={**form["fields"], "action": "switch"})
    assert form_with_button(page.text, "signin")


def test_form_post_page_works_without_javascript(sandbox, cloud_users):
    r = sign_in_and_consent(requests.Session(), auth_url(sandbox, auth_params(sandbox)))
    (form,) = [f for f in html_forms(r.text) if f["action"] == sandbox.redirect_uri]
    assert (None, None) in form["buttons"]  # a visible Continue button
    assert "no-store" in r.headers["Cache-Control"]


def test_disabled_sandbox_answers_404(sandbox, settings):
    settings.SANDBOX_ENABLED = False
    for url in [
        f"{sandbox.signin_url}/oauth2/v1/auth",
        f"{sandbox.oauth_url}/v1/token",
        f"{sandbox.oauth_url}/v1/revoke",
        f"{sandbox.oauth_url}/v1/userinfo",
        f"{sandbox.oauth_url}/v1/keys",
        f"{sandbox.oauth_url}/.well-known/openid-configuration",
    ]:
        assert requests.get(url, timeout=10).status_code == 404, url
        assert requests.post(url, timeout=10).status_code == 404, url


@pytest.mark.browser
def test_form_post_auto_submits_cross_site_in_chromium(sandbox, cloud_users, page):
    """In a real browser the form_post page POSTs code and state to the CRM (another site)."""
    params = auth_params(sandbox)
    received = []

    def callback(route):
        received.append(route.request)
        route.fulfill(status=200, content_type="text/html", body="<p>callback reached</p>")

    page.route(f"{sandbox.redirect_uri}*", callback)
    page.goto(auth_url(sandbox, params))
    os.makedirs("test-artifacts", exist_ok=True)
    page.screenshot(path="test-artifacts/sandbox-signin.png", full_page=True)
    page.fill("#username", EDWARD.upn)
    page.fill("#password", EDWARD.password)
    page.click("button[value=signin]")
    page.screenshot(path="test-artifacts/sandbox-consent.png", full_page=True)
    page.click("button[value=allow]")
    page.wait_for_selector("text=callback reached")
    (request,) = received
    assert request.method == "POST"
    form = dict(pair.split("=", 1) for pair in request.post_data.split("&"))
    assert form["state"] == params["state"] and form["code"]
    assert page.problems == []


AUTH_FIELDS = st.sampled_from(
    [
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "access_type",
        "code_challenge",
        "code_challenge_method",
        "action",
        "username",
        "password",
    ]
)
AUTH_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        ["crmdemo-sandbox", "http://testserver/cb", "code", "form_post", "S256", "plain", "allow"]
    ),
)


@pytest.mark.django_db
@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    query=st.lists(st.tuples(AUTH_FIELDS, AUTH_VALUES), max_size=10),
    form=st.lists(st.tuples(AUTH_FIELDS, AUTH_VALUES), max_size=5),
    method=st.sampled_from(["get", "post"]),
)
def test_malformed_authorize_requests_never_500(settings, query, form, method):
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_REDIRECT_URIS = ["http://testserver/cb"]
    client = Client(raise_request_exception=False)  # no CSRF enforcement: POSTs reach the view
    url = f"/sandbox/signin/oauth2/v1/auth?{urlencode(query)}"
    if method == "get":
        r = client.get(url)
    else:
        r = client.post(url, data=urlencode(form), content_type="application/x-www-form-urlencoded")
    assert r.status_code in (200, 302, 400, 403), r.content[:500]
    assert not AuthorizationCode.objects.exists()


# --- bounds on what goes back into a redirect ---------------------------------------------------


def assert_error_page(r, reason: str, not_echoed: str):
    assert r.status_code == 400, r.text[:300]
    assert "Location" not in r.headers
    assert "This sign-in request cannot be completed" in r.text
    assert "invalid_request" in r.text and reason in r.text
    assert not_echoed not in r.text


@pytest.mark.parametrize(
    "state",
    [
        "s" * 2049,
        "s" * 5000,
        "s" * 20_000,
        "狀" * 700,  # 700 characters, 2100 UTF-8 bytes: 6300 once percent-encoded
        "😀" * 513,  # 2052 bytes
    ],
)
@pytest.mark.parametrize("mode", ["query", "form_post"])
@pytest.mark.parametrize("other_error", [None, "repeated scope"])
def test_over_long_state_is_shown_on_the_error_page_never_sent_back(
    sandbox, cloud_users, state, mode, other_error
):
    params = list(auth_params(sandbox, state=state, response_mode=mode).items())
    if other_error:
        params += [("scope", "openid"), ("scope", "openid")]
    r = requests.get(auth_url(sandbox, params), allow_redirects=False, timeout=10)
    assert_error_page(r, "state is too long", state[:100])
    assert not AuthorizationCode.objects.exists()


@pytest.mark.parametrize("state", ["s" * 2048, "狀" * 682, "😀" * 512])
def test_state_up_to_the_limit_is_sent_back(sandbox, cloud_users, state):
    params = auth_params(sandbox, state=state, response_mode="query")
    r = sign_in_and_consent(requests.Session(), auth_url(sandbox, params))
    assert r.status_code == 302
    answer = read_answer(r, sandbox.redirect_uri)
    assert answer["state"] == state and answer["code"]
    # and with an error (the request is refused before sign-in)
    r = requests.get(
        auth_url(sandbox, {**params, "scope": "admin"}), allow_redirects=False, timeout=10
    )
    assert read_answer(r, sandbox.redirect_uri)["state"] == state


def test_unknown_scope_is_quoted_short_in_the_redirect(sandbox, cloud_users):
    scope = "openid " + "x" * 5000
    params = auth_params(sandbox, scope=scope, response_mode="query")
    r = requests.get(auth_url(sandbox, params), allow_redirects=False, timeout=10)
    answer = read_answer(r, sandbox.redirect_uri)
    assert answer["error"] == "invalid_scope"
    assert len(answer["error_description"]) < 100
    assert answer["state"] == params["state"]
    assert len(r.headers["Location"]) < 1000


def test_over_long_authorize_url_is_refused_before_sign_in(sandbox, cloud_users):
    # an ignored parameter would otherwise go into the redirect made after signing in
    params = auth_params(sandbox, response_mode="query", extra="e" * 20_000)
    r = requests.get(auth_url(sandbox, params), allow_redirects=False, timeout=10)
    assert_error_page(r, "too long", "e" * 100)
    # just under the limit, signing in and its redirect back to the same URL work
    params = auth_params(sandbox, response_mode="query", extra="e" * 7000)
    answer = read_answer(
        sign_in_and_consent(requests.Session(), auth_url(sandbox, params)), sandbox.redirect_uri
    )
    assert answer["code"] and answer["state"] == params["state"]
