"""Every rejection of the sandbox's token, revoke and userinfo endpoints, with a plain HTTP client.

Each rejection must answer the RFC 6749 error with the right status and change nothing: where a
grant survives a rejected request, the test then uses it successfully.
"""

import base64
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st


def post(url, data=None, **kwargs):
    return requests.post(url, data=data, timeout=10, **kwargs)


def token_url(sandbox):
    return f"{sandbox.oauth_url}/v1/token"


def code_data(sandbox, code, verifier=None, **overrides):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": sandbox.redirect_uri,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }
    if verifier:
        data["code_verifier"] = verifier
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def refresh_data(sandbox, refresh_token, **overrides):
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        **overrides,
    }
    return {k: v for k, v in data.items() if v is not None}


def assert_error(r, status, error):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error, body
    assert body["error_description"] and body["request_id"]
    assert "no-store" in r.headers["Cache-Control"]
    return body


def userinfo(sandbox, access_token):
    return requests.get(
        f"{sandbox.oauth_url}/v1/userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )


def redeem_ok(sandbox, code, verifier):
    r = post(token_url(sandbox), code_data(sandbox, code, verifier))
    assert r.status_code == 200, r.text
    return r.json()


# --- Client authentication ---------------------------------------------------------------------


def test_wrong_secret_in_body_is_invalid_client_and_keeps_the_code(sandbox, get_code):
    code, _, verifier = get_code()
    r = post(token_url(sandbox), code_data(sandbox, code, verifier, client_secret="wrong"))
    assert_error(r, 401, "invalid_client")
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    redeem_ok(sandbox, code, verifier)


def test_wrong_secret_over_basic_is_invalid_client(sandbox, get_code):
    code, _, verifier = get_code()
    data = code_data(sandbox, code, verifier, client_id=None, client_secret=None)
    r = post(token_url(sandbox), data, auth=(sandbox.client_id, "wrong"))
    assert_error(r, 401, "invalid_client")
    r = post(token_url(sandbox), data, auth=(sandbox.client_id, sandbox.client_secret))
    assert r.status_code == 200, r.text


NO_COLON = "Basic " + base64.b64encode(b"no-colon").decode()


@pytest.mark.parametrize(
    "headers, overrides",
    [
        ({}, {"client_id": None, "client_secret": None}),
        ({}, {"client_secret": None}),
        ({}, {"client_id": "someone-else"}),
        ({"Authorization": "Basic !!!not-base64"}, {"client_secret": None}),
        ({"Authorization": NO_COLON}, {"client_secret": None}),
        ({"Authorization": "Bearer abc"}, {"client_secret": None}),
    ],
)
def test_client_authentication_failures(sandbox, headers, overrides):
    r = post(token_url(sandbox), code_data(sandbox, "some-code", **overrides), headers=headers)
    assert_error(r, 401, "invalid_client")
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_two_client_authentication_methods_are_refused(sandbox, get_code):
    code, _, verifier = get_code()
    data = code_data(sandbox, code, verifier)
    r = post(token_url(sandbox), data, auth=(sandbox.client_id, sandbox.client_secret))
    assert_error(r, 400, "invalid_request")
    redeem_ok(sandbox, code, verifier)


# --- The request itself ------------------------------------------------------------------------


def test_get_on_token_and_revoke_endpoints(sandbox):
    for path in ("v1/token", "v1/revoke"):
        r = requests.get(f"{sandbox.oauth_url}/{path}", timeout=10)
        assert_error(r, 405, "invalid_request")
        assert r.headers["Allow"] == "POST"


def test_parameters_in_the_url_are_refused(sandbox, get_code):
    code, _, verifier = get_code()
    r = post(f"{token_url(sandbox)}?code={code}", code_data(sandbox, code, verifier))
    assert_error(r, 400, "invalid_request")
    redeem_ok(sandbox, code, verifier)


def test_json_body_is_refused(sandbox, get_code):
    code, _, verifier = get_code()
    r = requests.post(token_url(sandbox), json=code_data(sandbox, code, verifier), timeout=10)
    assert_error(r, 400, "invalid_request")
    redeem_ok(sandbox, code, verifier)


@pytest.mark.parametrize("missing", ["grant_type", "code", "redirect_uri"])
def test_missing_parameters(sandbox, get_code, missing):
    code, _, verifier = get_code()
    data = code_data(sandbox, code, verifier)
    del data[missing]
    r = post(token_url(sandbox), data)
    assert_error(r, 400, "invalid_request")
    redeem_ok(sandbox, code, verifier)


def test_repeated_parameter_is_refused(sandbox, get_code):
    code, _, verifier = get_code()
    data = list(code_data(sandbox, code, verifier).items()) + [("code", code)]
    r = post(token_url(sandbox), data)
    assert_error(r, 400, "invalid_request")
    redeem_ok(sandbox, code, verifier)


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", "x"])
def test_unsupported_grant_type(sandbox, grant_type):
    data = code_data(sandbox, "c", grant_type=grant_type)
    assert_error(post(token_url(sandbox), data), 400, "unsupported_grant_type")


# --- The authorization code --------------------------------------------------------------------


def test_unknown_code(sandbox, cloud_users):
    r = post(token_url(sandbox), code_data(sandbox, "made-up-code"))
    assert_error(r, 400, "invalid_grant")


def test_wrong_redirect_uri_keeps_the_code(sandbox, get_code):
    code, _, verifier = get_code()
    other = sandbox.redirect_uri + "/other"
    r = post(token_url(sandbox), code_data(sandbox, code, verifier, redirect_uri=other))
    assert_error(r, 400, "invalid_grant")
    redeem_ok(sandbox, code, verifier)


def test_pkce_mismatch_keeps_the_code(sandbox, get_code):
    code, _, verifier = get_code()
    wrong = "a" * 43
    assert_error(post(token_url(sandbox), code_data(sandbox, code, wrong)), 400, "invalid_grant")
    assert_error(post(token_url(sandbox), code_data(sandbox, code)), 400, "invalid_grant")
    redeem_ok(sandbox, code, verifier)


def test_plain_pkce_mismatch(sandbox, get_code):
    code, _, verifier = get_code(pkce="plain")
    bad = verifier[:-1] + ("A" if verifier[-1] != "A" else "B")
    assert_error(post(token_url(sandbox), code_data(sandbox, code, bad)), 400, "invalid_grant")
    redeem_ok(sandbox, code, verifier)


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + "!"])
def test_malformed_code_verifier(sandbox, get_code, verifier):
    code, _, good = get_code()
    r = post(token_url(sandbox), code_data(sandbox, code, verifier))
    assert_error(r, 400, "invalid_request")
    redeem_ok(sandbox, code, good)


def test_code_verifier_without_challenge_is_refused(sandbox, get_code):
    """A verifier for a code issued without a challenge is a PKCE downgrade (RFC 9700 §2.1.1)."""
    code, _, _ = get_code(pkce=None)
    r = post(token_url(sandbox), code_data(sandbox, code, "b" * 43))
    assert_error(r, 400, "invalid_grant")
    redeem_ok(sandbox, code, None)


def test_code_replay_revokes_what_it_issued(sandbox, get_code):
    code, _, verifier = get_code()
    first = redeem_ok(sandbox, code, verifier)
    assert userinfo(sandbox, first["access_token"]).status_code == 200
    r = post(token_url(sandbox), code_data(sandbox, code, verifier))
    assert_error(r, 400, "invalid_grant")
    assert userinfo(sandbox, first["access_token"]).status_code == 401
    r = post(token_url(sandbox), refresh_data(sandbox, first["refresh_token"]))
    assert_error(r, 400, "invalid_grant")


def test_expired_code(sandbox, get_code, settings, clock):
    settings.SANDBOX_CODE_LIFETIME = 1
    code, _, verifier = get_code()
    clock.advance(1.1)
    r = post(token_url(sandbox), code_data(sandbox, code, verifier))
    assert_error(r, 400, "invalid_grant")


def test_code_is_bound_to_its_client(sandbox, get_code, settings):
    code, _, verifier = get_code()
    settings.SANDBOX_CLIENT_ID = "another-client"
    settings.SANDBOX_CLIENT_SECRET = "another-secret"
    data = code_data(
        sandbox, code, verifier, client_id="another-client", client_secret="another-secret"
    )
    assert_error(post(token_url(sandbox), data), 400, "invalid_grant")


# --- Refresh tokens ----------------------------------------------------------------------------


def test_expired_refresh_token(sandbox, token_for, settings, clock):
    settings.SANDBOX_REFRESH_TOKEN_LIFETIME = 1
    body = token_for()
    clock.advance(1.1)
    r = post(token_url(sandbox), refresh_data(sandbox, body["refresh_token"]))
    assert_error(r, 400, "invalid_grant")


def test_unknown_and_missing_refresh_token(sandbox, cloud_users):
    r = post(token_url(sandbox), refresh_data(sandbox, "nope"))
    assert_error(r, 400, "invalid_grant")
    r = post(token_url(sandbox), refresh_data(sandbox, None))
    assert_error(r, 400, "invalid_request")


def test_refresh_cannot_widen_the_scope(sandbox, token_for):
    body = token_for(scope="openid aliuid")
    r = post(token_url(sandbox), refresh_data(sandbox, body["refresh_token"], scope="/acs/ccc"))
    assert_error(r, 400, "invalid_scope")
    r = post(token_url(sandbox), refresh_data(sandbox, body["refresh_token"], scope="openid"))
    assert r.status_code == 200, r.text


def test_refresh_token_of_another_client(sandbox, token_for, settings):
    body = token_for()
    settings.SANDBOX_CLIENT_ID = "another-client"
    settings.SANDBOX_CLIENT_SECRET = "another-secret"
    data = refresh_data(
        sandbox, body["refresh_token"], client_id="another-client", client_secret="another-secret"
    )
    assert_error(post(token_url(sandbox), data), 400, "invalid_grant")


# --- Revocation --------------------------------------------------------------------------------


def test_revoke_rejections(sandbox, token_for):
    body = token_for()
    url = f"{sandbox.oauth_url}/v1/revoke"
    creds = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    assert_error(post(url, creds), 400, "invalid_request")
    wrong = {**creds, "client_secret": "wrong", "token": body["refresh_token"]}
    assert_error(post(url, wrong), 401, "invalid_client")
    twice = [*creds.items(), ("token", body["refresh_token"]), ("token", "x")]
    assert_error(post(url, twice), 400, "invalid_request")
    # Nothing was revoked by the rejected requests.
    r = post(token_url(sandbox), refresh_data(sandbox, body["refresh_token"]))
    assert r.status_code == 200
    # An unknown token is not an error (RFC 7009 §2.2).
    assert post(url, {**creds, "token": "never-issued"}).status_code == 200


def test_revoked_access_token_stops_working(sandbox, token_for):
    body = token_for()
    url = f"{sandbox.oauth_url}/v1/revoke"
    r = post(url, {"token": body["access_token"]}, auth=(sandbox.client_id, sandbox.client_secret))
    assert r.status_code == 200
    assert userinfo(sandbox, body["access_token"]).status_code == 401
    # Revoking twice is fine.
    r = post(url, {"token": body["access_token"]}, auth=(sandbox.client_id, sandbox.client_secret))
    assert r.status_code == 200


# --- Userinfo ------------------------------------------------------------------------------------


def test_userinfo_rejections(sandbox, token_for):
    body = token_for()
    url = f"{sandbox.oauth_url}/v1/userinfo"
    r = requests.get(url, timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    for headers, params in [
        ({"Authorization": "Bearer not-a-token"}, None),
        ({"Authorization": "Basic " + base64.b64encode(b"a:b").decode()}, None),
        ({"Authorization": "Bearer"}, None),
        ({}, {"access_token": body["access_token"]}),
    ]:
        r = requests.get(url, headers=headers, params=params, timeout=10)
        assert_error(r, 401, "invalid_token")
        assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert userinfo(sandbox, body["access_token"]).status_code == 200


def test_expired_access_token_at_userinfo(sandbox, token_for, settings, clock):
    settings.SANDBOX_ACCESS_TOKEN_LIFETIME = 1
    body = token_for()
    assert body["expires_in"] == "1"
    clock.advance(1.1)
    assert_error(userinfo(sandbox, body["access_token"]), 401, "invalid_token")


# --- Never a 500 ---------------------------------------------------------------------------------

FIELDS = st.sampled_from(
    [
        "grant_type",
        "code",
        "redirect_uri",
        "client_id",
        "client_secret",
        "code_verifier",
        "refresh_token",
        "scope",
        "token",
        "token_type_hint",
    ]
)
VALUES = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["authorization_code", "refresh_token", "crmdemo-sandbox", ""]),
)


@pytest.mark.django_db
@hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    fields=st.lists(st.tuples(FIELDS, VALUES), max_size=8),
    authorization=st.one_of(st.none(), st.text(max_size=60)),
    path=st.sampled_from(["token", "revoke", "userinfo"]),
)
def test_malformed_requests_never_500(settings, fields, authorization, path):
    settings.SANDBOX_ENABLED = True
    client = Client(raise_request_exception=False)
    headers = {}
    if authorization is not None and authorization.isprintable() and authorization.isascii():
        headers["Authorization"] = authorization
    r = client.post(
        f"/sandbox/oauth/v1/{path}",
        data=urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert r.status_code in (200, 400, 401, 403), r.content
    if r.status_code != 200:
        assert r.json()["error"]
