"""/aliyun/ccc/api over real HTTP on the live server: the success path and every refusal.

The upstream here is a local stand-in for Alibaba's CCC endpoint (``fake_ccc``), so that each
test can count what reached it and make it fail in ways the sandbox cannot (5xx, timeouts,
garbage). Agents are linked through the real OAuth flow against the sandbox.
"""

import json

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from aliyun_oauth import services as oauth_services
from tests.ccc_proxy.conftest import sleep_then, sts

SKILLS = {
    "RequestId": "REQ-1",
    "Success": True,
    "Code": "OK",
    "HttpStatusCode": 200,
    "SkillLevels": {
        "SkillLevel": [
            {
                "SkillLevelId": "1",
                "Level": 5,
                "Skill": {"SkillGroupId": "g", "OutboundPhoneNumbers": {"PhoneNumber": []}},
            }
        ]
    },
}


def ok(params):
    return 200, SKILLS


@pytest.fixture
def edward(make_agent):
    return make_agent("edward")


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["errorCode"] == code
    assert body["requestId"] and body["message"]
    return body


# --- success ----------------------------------------------------------------------------------


def test_forwards_signed_with_the_agents_sts_and_converts(edward, fake_ccc):
    fake_ccc.handler = ok
    response = edward.call(
        "ListSkillGroupsOfUser", {"pageSize": 10, "hidden": False, "criteria": {"a": [1]}}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "requestId": "REQ-1",
        "success": True,
        "code": "OK",
        "httpStatusCode": 200,
        "skillLevels": [
            {
                "skillLevelId": "1",
                "level": 5,
                "skill": {"skillGroupId": "g", "outboundPhoneNumbers": []},
            }
        ],
    }
    (sent,) = fake_ccc.requests
    mine = sts(oauth_services.get_valid_token(edward.user).access_token)
    assert sent["AccessKeyId"] == mine.access_key_id
    assert sent["SecurityToken"] == mine.security_token
    assert sent["Action"] == "ListSkillGroupsOfUser" and sent["Version"] == "2017-07-05"
    assert sent["InstanceId"] == "ccc-sandbox-instance"  # pinned, added when absent
    assert sent["PageSize"] == "10" and sent["Hidden"] == "false"
    assert sent["Criteria"] == '{"a":[1]}'
    assert sent["SignatureMethod"] == "HMAC-SHA1" and sent["Signature"]


@pytest.mark.parametrize("where", ["query", "multipart", "json-body", "text-body"])
def test_request_json_accepted_from_query_and_raw_body(edward, fake_ccc, where):
    fake_ccc.handler = ok
    text = json.dumps({"instanceId": "ccc-sandbox-instance", "userId": "u1"})
    if where == "query":
        response = edward.call("ListSkillGroupsOfUser", params={"request": text})
    elif where == "multipart":
        response = edward.call("ListSkillGroupsOfUser", files={"request": (None, text)})
    else:
        ctype = "application/json" if where == "json-body" else "text/plain"
        response = edward.call(
            "ListSkillGroupsOfUser", raw=text.encode(), headers={"Content-Type": ctype}
        )
    assert response.status_code == 200, response.text
    assert fake_ccc.requests[0]["UserId"] == "u1"


# --- refused before anything is forwarded -------------------------------------------------------


def test_not_logged_in_is_401_json(sandbox, fake_ccc, transactional_db):
    http = requests.Session()
    http.get(f"{sandbox.crm_url}/login/", timeout=10)
    token = http.cookies["csrftoken"]
    response = http.post(
        f"{sandbox.crm_url}/aliyun/ccc/api?action=ListSkillGroupsOfUser",
        data={"request": "{}"},
        headers={"X-CSRFToken": token},
        timeout=10,
    )
    assert_error(response, 401, "LoginRequired")
    assert fake_ccc.requests == []


def test_unlinked_agent_gets_401_not_authenticated_with_link_url(make_agent, fake_ccc):
    sissi = make_agent("sissi", linked=False)
    response = sissi.call("ListSkillGroupsOfUser", {})
    body = assert_error(response, 401, "NotAuthenticated")
    assert body["linkUrl"] == "/aliyun/auth"
    assert fake_ccc.requests == []


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        ("MakeCall", 403, "ActionNotAllowed"),
        ("DeleteInstance", 403, "ActionNotAllowed"),
        (None, 400, "MissingAction"),
        ("", 400, "MissingAction"),
        ("listSkill groups", 400, "InvalidAction"),
        ("../etc", 400, "InvalidAction"),
    ],
)
def test_action_checks(edward, fake_ccc, action, status, code):
    assert_error(edward.call(action, {}), status, code)
    assert fake_ccc.requests == []


@pytest.mark.parametrize(
    ("raw", "content_type", "code"),
    [
        (b"", "application/x-www-form-urlencoded", "MissingRequest"),
        (b"", "application/json", "MissingRequest"),
        (b"request=", "application/x-www-form-urlencoded", "MissingRequest"),
        (b"request=%20%20", "application/x-www-form-urlencoded", "MissingRequest"),
        (b"request=not+json", "application/x-www-form-urlencoded", "InvalidRequest"),
        (b"request=%5B1%2C2%5D", "application/x-www-form-urlencoded", "InvalidRequest"),
        (b'request="text"', "application/x-www-form-urlencoded", "InvalidRequest"),
        (b"request=42", "application/x-www-form-urlencoded", "InvalidRequest"),
        (b"request=%7B%22a%22%3A%ff%7D", "application/x-www-form-urlencoded", "InvalidRequest"),
        (b"request=\xff\xfe", "application/x-www-form-urlencoded", "InvalidRequest"),
        (b'{"a": "\xff"}', "application/json", "InvalidRequest"),
        (b"[1, 2]", "application/json", "InvalidRequest"),
        (b"null", "application/json", "InvalidRequest"),
        (b'{"a": 1, "a": 2}', "application/json", "InvalidRequest"),
        (b'{"a": NaN}', "application/json", "InvalidRequest"),
        (b"[" * 5000 + b"]" * 5000, "application/json", "InvalidRequest"),
        (b'{"accessKeyId": "STS.other"}', "application/json", "InvalidParameter"),
        (b'{"Signature": "x"}', "application/json", "InvalidParameter"),
        (b'{"bad key": 1}', "application/json", "InvalidParameter"),
        (b'{"instanceId": "a", "InstanceId": "a"}', "application/json", "InvalidParameter"),
    ],
)
def test_bad_bodies_are_400(edward, fake_ccc, raw, content_type, code):
    response = edward.call("ListSkillGroupsOfUser", raw=raw, headers={"Content-Type": content_type})
    assert_error(response, 400, code)
    assert fake_ccc.requests == []


@pytest.mark.parametrize(
    "request_object",
    [
        {"userId": "\ud800"},  # a lone surrogate: json.dumps sends it as the escape \ud800
        {"userId": "a\udfffb"},
        {"userId": "u\x00"},
        {"userId": "u\x1b[2J"},
        {"criteria": {"name": ["ok", "\ud83d"]}},
        {"criteria": {"k\x00": 1}},
    ],
)
def test_unsendable_text_is_400_invalid_parameter_not_an_upstream_fault(
    edward, fake_ccc, caplog, request_object
):
    caplog.set_level("INFO")
    body = assert_error(
        edward.call("ListSkillGroupsOfUser", request_object), 400, "InvalidParameter"
    )
    assert "U+" in body["message"]
    assert fake_ccc.requests == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


@pytest.mark.parametrize("depth", [33, 500, 990, 5000])
def test_deep_nesting_is_a_clean_400(edward, fake_ccc, depth):
    text = '{"criteria":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    response = edward.call("ListSkillGroupsOfUser", params={"request": text})
    body = assert_error(response, 400, "InvalidRequest")
    assert body["message"] == "the request JSON nests deeper than 32 levels"
    assert fake_ccc.requests == []


def test_nesting_up_to_the_limit_is_forwarded(edward, fake_ccc):
    fake_ccc.handler = ok
    text = '{"criteria":' + "[" * 31 + "]" * 31 + ', "note": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}'
    response = edward.call("ListSkillGroupsOfUser", params={"request": text})
    assert response.status_code == 200, response.text
    assert fake_ccc.requests[0]["Criteria"] == "[" * 31 + "]" * 31


def test_too_large_is_413_and_too_many_parameters_400(edward, fake_ccc, settings):
    settings.CCC_PROXY_MAX_BODY_BYTES = 2000
    settings.CCC_PROXY_MAX_PARAMETERS = 5
    big = {"criteria": "x" * 3000}
    assert_error(edward.call("ListSkillGroupsOfUser", big), 413, "RequestTooLarge")
    assert_error(
        edward.call("ListSkillGroupsOfUser", params={"request": json.dumps(big)}),
        413,
        "RequestTooLarge",
    )
    many = {f"p{i}": i for i in range(6)}
    assert_error(edward.call("ListSkillGroupsOfUser", many), 400, "TooManyParameters")
    assert fake_ccc.requests == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        # past DATA_UPLOAD_MAX_NUMBER_FIELDS (1000): Django refuses when the CSRF check reads POST
        (
            {"data": [("request", "{}")] + [(f"f{i}", "x") for i in range(2000)]},
            400,
            "InvalidRequest",
        ),
        (
            {"files": [("request", (None, "{}"))] + [(f"f{i}", (None, "x")) for i in range(2000)]},
            400,
            "InvalidRequest",
        ),
        # past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) and CCC_PROXY_MAX_BODY_BYTES
        ({"data": {"request": "{}", "pad": "x" * 3_000_000}}, 413, "RequestTooLarge"),
        (
            {
                "data": b"request=%7B%7D",
                "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=latin-1"},
            },
            400,
            "InvalidRequest",
        ),
        (
            {"data": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data"}},
            400,
            "InvalidRequest",
        ),
    ],
)
def test_bodies_django_refuses_to_parse_get_json_errors(
    edward, fake_ccc, settings, kwargs, status, code
):
    settings.CCC_PROXY_MAX_BODY_BYTES = 10_000_000  # so that Django's own limits are reached
    headers = kwargs.pop("headers", {})
    response = edward.call("ListSkillGroupsOfUser", headers=headers, **kwargs)
    assert_error(response, status, code)
    assert fake_ccc.requests == []


def test_too_many_query_parameters_get_a_json_error(edward, fake_ccc):
    params = {f"q{i}": "x" for i in range(1500)}
    response = edward.call("ListSkillGroupsOfUser", {}, params=params)
    assert_error(response, 400, "InvalidRequest")
    assert fake_ccc.requests == []


def test_csrf_still_checked_after_the_body_is_read(edward, fake_ccc):
    for data in ({"request": "{}"}, [("request", "{}")] + [(f"f{i}", "x") for i in range(900)]):
        response = edward.call("ListSkillGroupsOfUser", data=data, headers={"X-CSRFToken": ""})
        assert_error(response, 403, "CsrfFailed")
    assert fake_ccc.requests == []


def test_instance_id_pinned(edward, fake_ccc):
    fake_ccc.handler = ok
    response = edward.call("ListSkillGroupsOfUser", {"instanceId": "someone-elses"})
    assert_error(response, 403, "InstanceNotAllowed")
    assert fake_ccc.requests == []
    assert edward.call("ListSkillGroupsOfUser", {"instanceId": "ccc-sandbox-instance"}).ok
    assert len(fake_ccc.requests) == 1


def test_csrf_enforced_with_json_error(edward, fake_ccc):
    response = edward.call("ListSkillGroupsOfUser", {}, headers={"X-CSRFToken": ""})
    assert_error(response, 403, "CsrfFailed")
    response = edward.call("ListSkillGroupsOfUser", {}, headers={"X-CSRFToken": "x" * 32})
    assert_error(response, 403, "CsrfFailed")
    assert fake_ccc.requests == []


def test_cross_origin_refused(edward, fake_ccc):
    evil = edward.call("ListSkillGroupsOfUser", {}, headers={"Origin": "http://evil.example"})
    assert_error(evil, 403, "CsrfFailed")
    fetch = edward.call("ListSkillGroupsOfUser", {}, headers={"Sec-Fetch-Site": "cross-site"})
    assert_error(fetch, 403, "CrossOriginRefused")
    sibling = edward.call("ListSkillGroupsOfUser", {}, headers={"Sec-Fetch-Site": "same-site"})
    assert_error(sibling, 403, "CrossOriginRefused")
    assert fake_ccc.requests == []


def test_get_is_405_json(edward, fake_ccc):
    response = edward.http.get(f"{edward.crm_url}/aliyun/ccc/api?action=ListSkillGroupsOfUser")
    assert_error(response, 405, "MethodNotAllowed")
    assert response.headers["Allow"] == "POST"
    assert fake_ccc.requests == []


def test_environment_credentials_refused_at_call_time_and_by_check(edward, fake_ccc, monkeypatch):
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_ID", "LTAI-server")
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_SECRET", "server-secret")
    response = edward.call("ListSkillGroupsOfUser", {})
    body = assert_error(response, 503, "ServerMisconfigured")
    assert "server-secret" not in response.text and "LTAI" not in json.dumps(body)
    assert fake_ccc.requests == []
    with pytest.raises(SystemCheckError, match="ccc_proxy.E001"):
        call_command("check")


# --- upstream failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upstream_status", "answer", "status", "code", "request_id"),
    [
        (
            404,
            {"RequestId": "U-1", "Code": "NotExists.UserId", "Message": "no"},
            404,
            "NotExists.UserId",
            "U-1",
        ),
        (
            400,
            {"RequestId": "U-2", "Code": "Parameter.Invalid", "Message": "bad"},
            400,
            "Parameter.Invalid",
            "U-2",
        ),
        (
            500,
            {"RequestId": "U-3", "Code": "InternalService.Common", "Message": "x"},
            502,
            "InternalService.Common",
            "U-3",
        ),
        (503, b"<html>busy</html>", 502, "SDK.UnknownServerError", None),
        (
            200,
            {
                "RequestId": "U-4",
                "Success": False,
                "Code": "Permission.Denied",
                "Message": "m",
                "HttpStatusCode": 403,
            },
            403,
            "Permission.Denied",
            "U-4",
        ),
        (
            200,
            {"RequestId": "U-5", "Success": False, "Code": "UserBusy", "Message": "m"},
            502,
            "UserBusy",
            "U-5",
        ),
        (200, b"not json", 502, "UpstreamUnavailable", None),
        (200, b"[1]", 502, "UpstreamUnavailable", None),
        (200, b'{"A":' * 990 + b"1" + b"}" * 990, 502, "UpstreamUnavailable", None),
        (200, b'{"A":' * 5000 + b"1" + b"}" * 5000, 502, "UpstreamUnavailable", None),
    ],
)
def test_upstream_errors_mapped(
    edward, fake_ccc, upstream_status, answer, status, code, request_id
):
    fake_ccc.handler = lambda params: (upstream_status, answer)
    body = assert_error(edward.call("ListSkillGroupsOfUser", {}), status, code)
    if request_id:
        assert body["requestId"] == request_id
    assert len(fake_ccc.requests) == 1  # no retry


def test_upstream_timeout_is_504(edward, fake_ccc, settings):
    settings.ALIYUN_READ_TIMEOUT = 0.3
    fake_ccc.handler = sleep_then(1.0, 200, SKILLS)
    assert_error(edward.call("ListSkillGroupsOfUser", {}), 504, "UpstreamTimeout")
    assert len(fake_ccc.requests) == 1


def test_upstream_unreachable_is_502(edward, settings):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.ALIYUN_CCC_ENDPOINT = f"127.0.0.1:{port}/ccc"
    settings.ALIYUN_CCC_PROTOCOL = "http"
    response = edward.call("ListSkillGroupsOfUser", {})
    body = assert_error(response, 502, "UpstreamUnavailable")
    assert "SecurityToken" not in body["message"] and "Signature" not in body["message"]


def _expire_stored_token():
    """Make the stored access token expired (the refresh leeway is capped by the token's
    lifetime, so a huge ALIYUN_OAUTH_REFRESH_LEEWAY no longer forces a refresh)."""
    from aliyun_oauth.models import LinkedAccount

    LinkedAccount.objects.update(expires_at=timezone.now())


def test_oauth_provider_down_is_502(edward, fake_ccc, settings):
    _expire_stored_token()  # the next call must refresh first
    settings.ALIYUN_OAUTH_TOKEN_URL = "http://127.0.0.1:9/v1/token"
    assert_error(edward.call("ListSkillGroupsOfUser", {}), 502, "OAuthUnavailable")
    assert fake_ccc.requests == []


def test_revoked_grant_is_401_relink(edward, fake_ccc, settings):
    from aliyun_oauth import client as oauth_client
    from aliyun_oauth.models import LinkedAccount

    # The grant ends at the provider (RFC 7009 revocation over HTTP), behind the CRM's back.
    refresh_token = LinkedAccount.objects.get(user=edward.user).refresh_token
    oauth_client.revoke(oauth_client.provider_config(), refresh_token, "refresh_token")
    _expire_stored_token()
    body = assert_error(edward.call("ListSkillGroupsOfUser", {}), 401, "NotAuthenticated")
    assert body["linkUrl"] == "/aliyun/auth"
    assert fake_ccc.requests == []


# --- refused token: refresh, retry once, only when safe -----------------------------------------


def expire_first_key(state):
    """Answer InvalidSecurityToken.Expired to the first AccessKeyId seen, OK to any other."""

    def handler(params):
        state.setdefault("first", params["AccessKeyId"])
        if params["AccessKeyId"] == state["first"]:
            return 400, {"RequestId": "E-1", "Code": "InvalidSecurityToken.Expired", "Message": "x"}
        return 200, SKILLS

    return handler


def test_rejected_token_is_refreshed_and_safe_action_retried_once(edward, fake_ccc):
    fake_ccc.handler = expire_first_key({})
    before = oauth_services.get_valid_token(edward.user).access_token
    response = edward.call("ListSkillGroupsOfUser", {})
    assert response.status_code == 200, response.text
    first, second = fake_ccc.requests
    after = oauth_services.get_valid_token(edward.user).access_token
    assert after != before
    assert first["AccessKeyId"] == sts(before).access_key_id
    assert second["AccessKeyId"] == sts(after).access_key_id


def test_rejected_token_never_repeats_call_control(edward, fake_ccc, settings):
    settings.CCC_PROXY_ALLOWED_ACTIONS = ["MakeCall", "ListSkillGroupsOfUser"]
    fake_ccc.handler = expire_first_key({})
    before = oauth_services.get_valid_token(edward.user).access_token
    response = edward.call("MakeCall", {"callee": "135012345678"})
    body = assert_error(response, 400, "InvalidSecurityToken.Expired")
    assert body["requestId"] == "E-1"
    assert len(fake_ccc.requests) == 1
    # the token was refreshed all the same, so the agent's next call works
    assert oauth_services.get_valid_token(edward.user).access_token != before
    assert edward.call("MakeCall", {"callee": "135012345678"}).status_code == 200


def test_rejected_again_after_refresh_is_not_retried_twice(edward, fake_ccc):
    fake_ccc.handler = lambda p: (403, {"RequestId": "E-2", "Code": "InvalidAccessKeyId.NotFound"})
    assert_error(edward.call("ListSkillGroupsOfUser", {}), 403, "InvalidAccessKeyId.NotFound")
    assert len(fake_ccc.requests) == 2


# --- logging ----------------------------------------------------------------------------------


def test_one_log_line_per_call_without_secrets(edward, fake_ccc, caplog):
    fake_ccc.handler = ok
    token = oauth_services.get_valid_token(edward.user).access_token
    caplog.set_level("INFO", logger="ccc_proxy")
    edward.call("ListSkillGroupsOfUser", {"userId": "u"})
    edward.call("MakeCall", {})
    lines = [r.getMessage() for r in caplog.records if r.name == "ccc_proxy"]
    assert len(lines) == 2
    assert (
        "user=edward action=ListSkillGroupsOfUser status=200 upstream_request_id=REQ-1" in lines[0]
    )
    assert "latency_ms=" in lines[0]
    assert "action=MakeCall status=403 upstream_request_id=- " in lines[1]
    credentials = sts(token)
    for text in (caplog.text, *lines):
        assert token not in text
        assert credentials.security_token not in text
        assert credentials.access_key_id not in text


def test_the_agent_and_the_linked_account_are_one_query(edward, fake_ccc):
    """A proxied call reads the signed-in user and the agent's linked account in one query (the
    authentication backend loads them together; a second query per call was a quarter of the
    proxy's own cost), and still signs with the agent's own credentials."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    fake_ccc.handler = ok
    browser = Client(enforce_csrf_checks=False)
    browser.force_login(edward.user)
    with CaptureQueriesContext(connection) as queries:
        response = browser.post(
            "/aliyun/ccc/api?action=ListSkillGroupsOfUser",
            {"request": json.dumps({"pageSize": 10})},
            headers={"Sec-Fetch-Site": "same-origin"},
        )
    assert response.status_code == 200, response.content
    accounts = [q["sql"] for q in queries if '"aliyun_oauth_linkedaccount"' in q["sql"]]
    users = [q["sql"] for q in queries if '"auth_user"' in q["sql"]]
    assert len(accounts) == 1 and users == accounts, queries.captured_queries
    (sent,) = fake_ccc.requests
    mine = sts(oauth_services.get_valid_token(edward.user).access_token)
    assert sent["AccessKeyId"] == mine.access_key_id
