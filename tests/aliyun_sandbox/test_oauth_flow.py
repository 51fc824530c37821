"""The sandbox OAuth/OIDC provider end to end with requests-oauthlib over real HTTP."""

import base64
import json
import logging
import secrets

import jwt
import pytest
import requests
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
from requests_oauthlib import OAuth2Session

from aliyun_sandbox.oauth.tokens import resolve_sts
from tests.aliyun_sandbox.conftest import pkce_pair, read_answer, sign_in_and_consent

SCOPE = ["openid", "aliuid", "profile", "/acs/ccc"]


def b64url_json(value: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def userinfo(sandbox, access_token):
    return requests.get(
        f"{sandbox.oauth_url}/v1/userinfo",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )


def verify_id_token(id_token, discovery, client_id):
    signing_key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(id_token)
    return jwt.decode(
        id_token,
        signing_key.key,
        algorithms=["RS256"],
        audience=client_id,
        issuer=discovery["issuer"],
    )


@pytest.fixture
def oauth_env(monkeypatch):
    # The live server speaks plain HTTP on loopback; oauthlib refuses that unless told.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def test_discovery_points_at_the_sandbox(sandbox):
    r = requests.get(f"{sandbox.oauth_url}/.well-known/openid-configuration", timeout=10)
    assert r.status_code == 200
    doc = r.json()
    assert doc["issuer"] == sandbox.oauth_url
    assert doc["authorization_endpoint"] == f"{sandbox.signin_url}/oauth2/v1/auth"
    assert doc["token_endpoint"] == f"{sandbox.oauth_url}/v1/token"
    assert doc["revocation_endpoint"] == f"{sandbox.oauth_url}/v1/revoke"
    assert doc["userinfo_endpoint"] == f"{sandbox.oauth_url}/v1/userinfo"
    assert doc["jwks_uri"] == f"{sandbox.oauth_url}/v1/keys"
    assert doc["code_challenge_methods_supported"] == ["plain", "S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]


def test_full_flow_with_requests_oauthlib(sandbox, cloud_users, oauth_env, caplog):
    caplog.set_level(logging.DEBUG)
    doc = requests.get(f"{sandbox.oauth_url}/.well-known/openid-configuration", timeout=10).json()
    raw = {}

    def keep(name):
        def hook(response):
            raw[name] = response.json()
            return response

        return hook

    oauth = OAuth2Session(
        sandbox.client_id, redirect_uri=sandbox.redirect_uri, scope=SCOPE, pkce="S256"
    )
    oauth.register_compliance_hook("access_token_response", keep("token"))
    oauth.register_compliance_hook("refresh_token_response", keep("refresh"))
    nonce = secrets.token_urlsafe(16)
    url, state = oauth.authorization_url(
        doc["authorization_endpoint"], access_type="offline", response_mode="form_post", nonce=nonce
    )

    # The agent signs in and consents in a browser (here a plain requests session).
    answer = read_answer(sign_in_and_consent(requests.Session(), url), sandbox.redirect_uri)
    assert answer["state"] == state

    token = oauth.fetch_token(
        doc["token_endpoint"],
        code=answer["code"],
        client_secret=sandbox.client_secret,
        include_client_id=True,  # client_secret_post, as Alibaba documents
    )
    body = raw["token"]
    assert set(body) == {
        "request_id",
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "id_token",
        "additional_information",
    }
    assert body["token_type"] == "AliyunSTS"
    assert body["expires_in"] == "3600"
    assert isinstance(body["additional_information"]["refresh_token_id"], int)
    sts = b64url_json(body["access_token"])
    assert sts["AccessKeyId"].startswith("STS.")
    assert {"AccessKeySecret", "SecurityToken", "Expiration"} <= set(sts)
    assert token["refresh_token"] == body["refresh_token"]

    claims = verify_id_token(body["id_token"], doc, sandbox.client_id)
    assert jwt.get_unverified_header(body["id_token"])["kid"]
    assert claims["nonce"] == nonce
    assert claims["upn"] == "edward@crmdemo.onaliyun.com"
    assert claims["name"] == "Edward"
    assert claims["exp"] - claims["iat"] == 3600
    for claim in ("sub", "aid", "uid"):
        assert isinstance(claims[claim], str) and claims[claim].isdigit()

    # token_type "AliyunSTS" is not one oauthlib can attach, so the bearer header is set by hand.
    info = userinfo(sandbox, token["access_token"])
    assert info.status_code == 200
    assert info.json() == {
        "sub": claims["sub"],
        "name": "Edward",
        "upn": "edward@crmdemo.onaliyun.com",
        "aid": claims["aid"],
        "uid": claims["uid"],
    }

    refreshed = oauth.refresh_token(
        doc["token_endpoint"],
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    assert "refresh_token" not in raw["refresh"] and "id_token" not in raw["refresh"]
    assert raw["refresh"]["token_type"] == "AliyunSTS"
    assert refreshed["refresh_token"] == body["refresh_token"]  # requests-oauthlib keeps the old
    assert refreshed["access_token"] != body["access_token"]
    assert userinfo(sandbox, refreshed["access_token"]).status_code == 200

    r = requests.post(
        doc["revocation_endpoint"],
        data={"token": body["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(sandbox.client_id, sandbox.client_secret),
        timeout=10,
    )
    assert r.status_code == 200 and "request_id" in r.json()

    with pytest.raises(InvalidGrantError):
        oauth.refresh_token(
            doc["token_endpoint"],
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
        )
    for access_token in (body["access_token"], refreshed["access_token"]):
        gone = userinfo(sandbox, access_token)
        assert gone.status_code == 401
        assert 'error="invalid_token"' in gone.headers["WWW-Authenticate"]

    # The server side (sandbox and Django) logged the flow but none of its secrets; the client
    # library's own DEBUG lines (requests-oauthlib logs tokens) are not the server's.
    server_lines = [
        r.getMessage() for r in caplog.records if r.name.startswith(("aliyun_sandbox", "django"))
    ]
    assert any("code exchanged" in line for line in server_lines)
    secrets_seen = [
        answer["code"],
        body["access_token"],
        body["refresh_token"],
        body["id_token"],
        refreshed["access_token"],
        sandbox.client_secret,
        sts["AccessKeySecret"],
        sts["SecurityToken"],
    ]
    for line in server_lines:
        assert not any(secret in line for secret in secrets_seen), line


def test_basic_auth_query_mode_plain_pkce_online(sandbox, cloud_users, oauth_env):
    """client_secret_basic, response_mode=query, PKCE plain, no access_type: no refresh_token.

    requests-oauthlib's own ``pkce="plain"`` sends no code_challenge (oauthlib 4.0.1 drops it for
    the method "plain"), so the plain challenge is passed by hand.
    """
    oauth = OAuth2Session(sandbox.client_id, redirect_uri=sandbox.redirect_uri, scope=SCOPE)
    verifier, challenge = pkce_pair("plain")
    url, state = oauth.authorization_url(
        f"{sandbox.signin_url}/oauth2/v1/auth",
        code_challenge=challenge,
        code_challenge_method="plain",
    )
    response = sign_in_and_consent(requests.Session(), url)
    assert response.status_code == 302
    answer = read_answer(response, sandbox.redirect_uri)
    assert answer["state"] == state
    token = oauth.fetch_token(
        f"{sandbox.oauth_url}/v1/token",
        code=answer["code"],
        client_secret=sandbox.client_secret,  # HTTP Basic: requests-oauthlib's default
        code_verifier=verifier,
    )
    assert "refresh_token" not in token and "additional_information" not in token
    assert token["id_token"]
    assert userinfo(sandbox, token["access_token"]).status_code == 200


def test_without_openid_scope_there_is_no_id_token(sandbox, token_for):
    body = token_for(scope="aliuid /acs/ccc")
    assert "id_token" not in body
    r = userinfo(sandbox, body["access_token"])
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"


def test_revoking_an_access_token_leaves_the_refresh_token(sandbox, token_for):
    body = token_for()
    r = requests.post(
        f"{sandbox.oauth_url}/v1/revoke",
        data={
            "token": body["access_token"],
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
        timeout=10,
    )
    assert r.status_code == 200
    assert userinfo(sandbox, body["access_token"]).status_code == 401
    refreshed = requests.post(
        f"{sandbox.oauth_url}/v1/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
        timeout=10,
    )
    assert refreshed.status_code == 200
    assert userinfo(sandbox, refreshed.json()["access_token"]).status_code == 200


@pytest.mark.parametrize("revoke", ["refresh_token", "access_token"])
def test_revocation_reaches_the_sts_credentials_ccc_checks(sandbox, token_for, revoke):
    """The CCC OpenAPI verifies STS signatures through ``tokens.resolve_sts``: a revoked token
    (or one whose refresh_token was revoked) must show up there as inactive."""
    body = token_for()
    key_id = b64url_json(body["access_token"])["AccessKeyId"]
    assert resolve_sts(key_id).is_active()
    r = requests.post(
        f"{sandbox.oauth_url}/v1/revoke",
        data={"token": body[revoke]},
        auth=(sandbox.client_id, sandbox.client_secret),
        timeout=10,
    )
    assert r.status_code == 200
    assert not resolve_sts(key_id).is_active()
