"""Requests Django refuses to parse (too many fields, too large a body, a broken multipart body)
get each sandbox endpoint's own error shape: OAuth JSON at oauth.aliyun.com, the OpenAPI
envelope at the CCC endpoint, the sign-in site's error page at the authorize endpoint. Never
Django's HTML 400 page, and nothing is changed."""

import pytest
import requests

from aliyun_sandbox.models import AccessToken

pytestmark = pytest.mark.django_db(transaction=True)

MANY_FIELDS = [(f"f{i}", "x") for i in range(2000)]  # past DATA_UPLOAD_MAX_NUMBER_FIELDS (1000)
BIG = {"pad": "x" * 3_000_000}  # past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)


def bodies(sandbox, **extra):
    client = [("client_id", sandbox.client_id), ("client_secret", sandbox.client_secret)]
    return {
        "many-fields": {"data": client + list(extra.items()) + MANY_FIELDS},
        "too-large": {"data": {**dict(client), **extra, **BIG}},
        "many-query-parameters": {"data": client + list(extra.items()), "params": MANY_FIELDS},
        "broken-multipart": {
            "data": b"--x\r\nbroken",
            "headers": {"Content-Type": "multipart/form-data"},
        },
        "many-multipart-fields": {"files": [(name, (None, v)) for name, v in MANY_FIELDS]},
    }


KINDS = [
    "many-fields",
    "too-large",
    "many-query-parameters",
    "broken-multipart",
    "many-multipart-fields",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", ["token", "revoke"])
def test_token_and_revoke_answer_oauth_json_invalid_request(sandbox, token_for, endpoint, kind):
    tokens = token_for()
    extra = (
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        if endpoint == "token"
        else {"token": tokens["refresh_token"]}
    )
    kwargs = bodies(sandbox, **extra)[kind]
    r = requests.post(f"{sandbox.oauth_url}/v1/{endpoint}", timeout=20, **kwargs)
    assert r.status_code == 400, r.text[:300]
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["error"] == "invalid_request" and body["error_description"]
    assert "no-store" in r.headers["Cache-Control"]
    # nothing changed: the refresh_token still works
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()
    ok = requests.post(
        f"{sandbox.oauth_url}/v1/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
        timeout=10,
    )
    assert ok.status_code == 200, ok.text


def test_userinfo_with_too_many_query_parameters_is_oauth_json(sandbox, token_for):
    tokens = token_for()
    r = requests.get(
        f"{sandbox.oauth_url}/v1/userinfo",
        params=MANY_FIELDS,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("kind", KINDS)
def test_ccc_endpoint_answers_the_openapi_envelope(sandbox, kind):
    kwargs = bodies(sandbox, Action="ListSkillGroupsOfUser")[kind]
    r = requests.post(f"http://{sandbox.ccc_endpoint}/", timeout=20, **kwargs)
    assert r.status_code in (400, 413), r.text[:300]
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["Code"] == "InvalidParameter" and body["Message"]
    assert r.headers["x-acs-request-id"] == body["RequestId"]
    assert r.status_code == (413 if kind == "too-large" else 400)


@pytest.mark.parametrize("kind", KINDS)
def test_authorize_shows_its_error_page(sandbox, kind):
    kwargs = bodies(sandbox, action="signin", username="edward", password="x")[kind]
    r = requests.post(
        f"{sandbox.signin_url}/oauth2/v1/auth", timeout=20, allow_redirects=False, **kwargs
    )
    assert r.status_code in (400, 413), r.text[:300]
    assert "Location" not in r.headers
    assert r.headers["Content-Type"].startswith("text/html")
    assert "This sign-in request cannot be completed" in r.text
    assert "invalid_request" in r.text
    assert any(
        reason in r.text for reason in ("too many parameters", "too large", "cannot be parsed")
    )


@pytest.mark.parametrize("kind", KINDS)
def test_agent_server_answers_its_json_error(sandbox, kind):
    kwargs = bodies(sandbox, signData="x", signature="y")[kind]
    r = requests.post(f"{sandbox.base_url}/agent/poll", timeout=20, **kwargs)
    assert r.status_code == (413 if kind == "too-large" else 400), r.text[:300]
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["code"] == "InvalidRequest"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
