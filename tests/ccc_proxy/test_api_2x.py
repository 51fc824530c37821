"""/aliyun/ccc/api for the 2.x softphone SDK (API 2020-07-01) over real HTTP on the live server.

As in test_api.py the upstream is a local stand-in for Alibaba's CCC endpoint (``fake_ccc``), so
each test can count what reached it; agents are linked through the real OAuth flow against the
sandbox, with STS-JSON or opaque access tokens (``SANDBOX_ACCESS_TOKEN_FORMAT``).
"""

import pytest

from aliyun_oauth import services as oauth_services
from ccc_proxy import actions
from tests.ccc_proxy.conftest import sts

pytestmark = pytest.mark.ccc2x

SDK_QUERY = {"product": "CloudCallCenter", "version": "2020-07-01", "region": "cn-shanghai"}

LOGIN = {
    "RequestId": "REQ-2",
    "Code": "OK",
    "HttpStatusCode": 200,
    "Message": "",
    "Params": [],
    "Data": {"UserId": "edward@ccc-sandbox", "Extension": "80000001", "DeviceId": "d"},
}


def call2(agent, action, request=None, **query):
    """POST like the 2.x SDK: ``?action=…&product=…&version=…&region=…``, ``request=<JSON>``."""
    return agent.call(action, request or {}, params={**SDK_QUERY, **query})


def assert_error_2x(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Code"] == code and body["HttpStatusCode"] == status
    assert body["RequestId"] and body["Message"] and body["Params"] == []
    assert "errorCode" not in body
    return body


@pytest.fixture
def edward(make_agent):
    return make_agent("edward")


def test_2x_answer_passes_through_unchanged_signed_with_sts(edward, fake_ccc):
    fake_ccc.handler = lambda params: (200, LOGIN)
    response = call2(edward, "GetLoginDetails", {"UserId": "edward@ccc-sandbox"})
    assert response.status_code == 200, response.text
    assert response.json() == LOGIN
    (sent,) = fake_ccc.requests
    mine = sts(oauth_services.get_valid_token(edward.user).access_token)
    assert sent["Action"] == "GetLoginDetails" and sent["Version"] == "2020-07-01"
    assert sent["AccessKeyId"] == mine.access_key_id and sent["SecurityToken"]
    assert sent["InstanceId"] == "ccc-sandbox" and sent["UserId"] == "edward@ccc-sandbox"
    assert "SignatureType" not in sent or sent["SignatureType"] == ""


def test_opaque_token_is_sent_as_bearer(make_agent, fake_ccc, settings):
    settings.SANDBOX_ACCESS_TOKEN_FORMAT = "opaque"
    agent = make_agent("edward")
    token = oauth_services.get_valid_token(agent.user).access_token
    assert token.startswith("ot-")
    fake_ccc.handler = lambda params: (200, LOGIN)
    response = call2(agent, "GetLoginDetails")
    assert response.status_code == 200, response.text
    (sent,) = fake_ccc.requests
    assert sent["SignatureType"] == "BEARERTOKEN" and sent["BearerToken"] == token
    assert "SecurityToken" not in sent and not sent.get("AccessKeyId")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"product": "Dysmsapi"}, "InvalidProduct"),
        ({"version": "2017-07-05"}, "InvalidVersion"),
        ({"region": "cn-hangzhou"}, "InvalidRegion"),
        ({"product": None}, "InvalidProduct"),
        ({"region": None}, "InvalidRegion"),
    ],
)
def test_wrong_product_version_or_region_is_400_and_nothing_sent(edward, fake_ccc, query, code):
    params = {k: v for k, v in {**SDK_QUERY, **query}.items() if v is not None}
    response = edward.call("GetLoginDetails", {}, params=params)
    assert_error_2x(response, 400, code)
    assert fake_ccc.requests == []


def test_1x_server_refuses_a_2x_sdk(edward, fake_ccc, settings):
    settings.ALIYUN_CCC_API_VERSION = "2017-07-05"
    response = edward.call("RequestLoginInfo", {}, params=SDK_QUERY)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "InvalidVersion"
    assert fake_ccc.requests == []


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        ("RequestLoginInfo", 403, "ActionNotAllowed"),  # the 1.x name
        ("DeleteSkillGroup", 403, "ActionNotAllowed"),
        ("make call", 400, "InvalidAction"),
    ],
)
def test_allowlist_is_the_2x_table(edward, fake_ccc, action, status, code):
    assert_error_2x(call2(edward, action), status, code)
    assert fake_ccc.requests == []


def test_every_2x_sdk_action_is_allowed(edward, fake_ccc):
    fake_ccc.handler = lambda params: (200, LOGIN)
    for action in actions.default_allowed(actions.API_2020):
        assert call2(edward, action).status_code == 200, action
    assert len(fake_ccc.requests) == len(actions.ACTIONS[actions.API_2020])


@pytest.mark.parametrize("name", ["bearerToken", "securityToken", "accessKeyId", "signature"])
def test_reserved_parameters_are_refused(edward, fake_ccc, name):
    assert_error_2x(call2(edward, "GetLoginDetails", {name: "x"}), 400, "InvalidParameter")
    assert fake_ccc.requests == []


def test_malformed_json_is_a_2x_400(edward, fake_ccc):
    response = edward.call(
        "GetLoginDetails",
        raw=b"request=%7Bnope",
        params=SDK_QUERY,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error_2x(response, 400, "InvalidRequest")
    assert fake_ccc.requests == []


def test_unlinked_agent_gets_2x_401_with_link(make_agent, fake_ccc):
    agent = make_agent("edward", linked=False)
    body = assert_error_2x(call2(agent, "GetLoginDetails"), 401, "NotAuthenticated")
    assert body["Data"]["LinkUrl"] == "/aliyun/auth"
    assert fake_ccc.requests == []


def test_upstream_error_keeps_status_code_and_request_id(edward, fake_ccc):
    fake_ccc.handler = lambda params: (
        400,
        {"RequestId": "E-9", "Code": "UserBusy", "Message": "The user is busy."},
    )
    body = assert_error_2x(call2(edward, "MakeCall", {"Callee": "135012345678"}), 400, "UserBusy")
    assert body["RequestId"] == "E-9"


def expire_first(params):
    if expire_first.seen:
        return 200, LOGIN
    expire_first.seen = True
    return 400, {"RequestId": "E-1", "Code": "InvalidSecurityToken.Expired", "Message": "x"}


@pytest.mark.parametrize(("action", "calls"), [("GetLoginDetails", 2), ("MakeCall", 1)])
def test_only_reads_are_retried_after_a_refresh(edward, fake_ccc, action, calls):
    expire_first.seen = False
    fake_ccc.handler = expire_first
    response = call2(edward, action, {"Callee": "135"} if action == "MakeCall" else {})
    assert len(fake_ccc.requests) == calls
    assert response.status_code == (200 if calls == 2 else 400)


def test_unknown_bearer_token_is_refreshed_and_a_read_retried(make_agent, fake_ccc, settings):
    settings.SANDBOX_ACCESS_TOKEN_FORMAT = "opaque"
    agent = make_agent("edward")
    before = oauth_services.get_valid_token(agent.user).access_token

    def forget_first(params):
        if len(fake_ccc.requests) == 1:
            return 401, {"RequestId": "E-3", "Code": "InvalidBearerToken.NotFound", "Message": "x"}
        return 200, LOGIN

    fake_ccc.handler = forget_first
    assert call2(agent, "GetLoginDetails").status_code == 200
    first, second = fake_ccc.requests
    assert first["BearerToken"] == before and second["BearerToken"] != before
