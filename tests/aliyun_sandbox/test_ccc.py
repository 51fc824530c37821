"""The sandbox CCC OpenAPI against the unmodified aliyun-python-sdk-core and a raw HTTP client."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ServerException
from django.core.management import call_command
from django.utils import timezone

from aliyun_sandbox.ccc import signature as ccc_signature
from aliyun_sandbox.models import Call, RefreshToken, UsedNonce
from tests.aliyun_sandbox.ccc_support import (
    INSTANCE,
    call_sdk,
    common_params,
    independent_signature,
    make_user,
    raw_call,
    sdk_request,
    send,
    sts_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch):
    # aliyun-python-sdk-core lets these override the credential passed to AcsClient.
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_SECRET", raising=False)


@pytest.fixture
def edward():
    return make_user("edward", ccc_user_id="agent-edward-0001", extension="8001")


@pytest.fixture
def creds(edward):
    return sts_for(edward)


# --- signature v1.0 test vectors --------------------------------------------------------------


def test_published_vector_from_alibaba_docs():
    # The example of Alibaba Cloud's RPC signature documentation (ECS DescribeRegions).
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    expected_text = (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z"
        "%26Version%3D2014-05-26"
    )
    assert ccc_signature.string_to_sign("GET", params) == expected_text
    assert ccc_signature.sign("testsecret", expected_text) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert independent_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_vector_with_reserved_characters():
    # Space, '*', '~', '/', '+' and UTF-8 in values: RFC 3986 encoding, then encoded again.
    params = {"B": "a b*c~d/e+f", "A": "中", "Signature": "ignored"}
    text = ccc_signature.string_to_sign("POST", params)
    assert text == "POST&%2F&A%3D%25E4%25B8%25AD%26B%3Da%2520b%252Ac~d%252Fe%252Bf"
    assert ccc_signature.sign("s", text) == independent_signature(
        "POST", {"A": "中", "B": "a b*c~d/e+f"}, "s"
    )


# --- the unmodified SDK -----------------------------------------------------------------------


def test_sdk_lists_skill_groups_of_user(sandbox, creds):
    body = call_sdk(sandbox, creds, "ListSkillGroupsOfUser")
    assert body["Success"] is True and body["Code"] == "OK" and body["HttpStatusCode"] == 200
    levels = body["SkillLevels"]["SkillLevel"]
    assert [lvl["Skill"]["SkillGroupName"] for lvl in levels] == ["Sales", "Support"]
    first = levels[0]
    assert 1 <= first["Level"] <= 10
    assert first["Skill"]["InstanceId"] == INSTANCE
    numbers = first["Skill"]["OutboundPhoneNumbers"]["PhoneNumber"]
    assert numbers[0]["Number"] == "02150001234" and numbers[0]["AllowOutbound"] is True
    assert set(numbers[0]) >= {"PhoneNumberId", "Province", "City", "Usage", "TestOnly", "Trunks"}


def test_sdk_post_with_body_parameters_is_signed_over_the_body(sandbox, creds):
    req = sdk_request(sandbox.ccc_endpoint, "GetConfig", method="POST", body={"Name": "AutoAnswer"})
    req.add_query_param("ObjectType", "Instance")
    req.add_query_param("ObjectId", INSTANCE)
    body = send(creds, req)
    assert body["ConfigItem"] == {"Name": "AutoAnswer", "Value": "false"}


def test_request_login_info_signature_opens_the_agent_server(sandbox, creds):
    info = call_sdk(sandbox, creds, "RequestLoginInfo")["LoginInfo"]
    assert info["UserName"] == "edward" and info["Extension"] == "8001"
    assert info["AgentServerUrl"] == f"{sandbox.base_url}/agent/"
    assert info["Roles"]["Role"][0]["RoleName"] == "Agent"
    ok = requests.post(
        info["AgentServerUrl"] + "poll",
        data={"signData": info["SignData"], "signature": info["Signature"]},
        timeout=10,
    )
    assert ok.status_code == 200 and ok.json() == {"status": "OFFLINE", "call": None}
    forged = requests.post(
        info["AgentServerUrl"] + "poll",
        data={"signData": info["SignData"], "signature": "0" * 64},
        timeout=10,
    )
    assert forged.status_code == 401 and forged.json()["code"] == "InvalidSignature"
    token = call_sdk(sandbox, creds, "RefreshToken")["Token"]
    assert set(token) == {"Signature", "SignData"}


def test_every_other_action_answers_in_its_shape(sandbox, creds, edward):
    start = timezone.now() - timedelta(minutes=5)
    Call.objects.create(
        connid="c1",
        contact_id="1000001",
        agent=edward,
        direction=Call.INBOUND,
        caller="13501234567",
        callee="02150001234",
        skill_group_id="skg-sales",
        state=Call.RELEASED,
        created_at=start,
        answered_at=start + timedelta(seconds=3),
        released_at=start + timedelta(seconds=63),
    )

    def call(action, **params):
        return call_sdk(sandbox, creds, action, **params)

    items = call("ListConfig")["ConfigItems"]["ConfigItem"]
    assert {"Name": "AutoAnswer", "Value": "false"} in items
    ext = call("GetServiceExtensions", ServiceType="Satisfaction")
    assert ext["ServiceExtensions"]["ServiceExtension"][0]["Number"] == "9001"

    cdrs = call("ListRecentCallRecords", PageNumber="1", PageSize="10")["CallDetailRecords"]
    assert cdrs["TotalCount"] == 1 and cdrs["PageSize"] == 10
    record = cdrs["List"]["CallDetailRecord"][0]
    assert record["ContactId"] == "1000001" and record["CallingNumber"] == "13501234567"
    assert record["Duration"] == 60 and record["ContactType"] == "Inbound"
    assert record["SkillGroupNames"] == "Sales" and record["InstanceId"] == INSTANCE
    agent = record["Agents"]["CallDetailAgent"][0]
    assert (agent["AgentId"], agent["RingTime"], agent["TalkTime"]) == (edward.uid, 3, 60)
    assert record["StartTime"] == int(start.timestamp()) * 1000 + start.microsecond // 1000
    later = int((timezone.now() + timedelta(minutes=1)).timestamp() * 1000)
    empty = call("ListRecentCallRecords", StartTime=str(later))["CallDetailRecords"]
    assert empty["TotalCount"] == 0 and empty["List"]["CallDetailRecord"] == []

    pairs = call("PickGlobalOutboundNumbers", CalledNumber="13501234567", Count="1")
    pair = pairs["DialNumberPairs"]["DialNumberPair"][0]
    assert pair["Caller"]["Number"] == "01080005678"  # the Beijing line for a Beijing mobile
    assert pair["Callee"]["Province"].startswith("北京")
    region = call("GetNumberRegionInfo", Number="02150001234")["PhoneNumber"]
    assert region["Number"] == "02150001234" and region["City"].startswith("上海")
    assert _sdk_error(sandbox, creds, "LaunchAppraise", Acid="1000001") == (
        400,
        "Parameter.Invalid",
    )
    live = Call.objects.create(
        connid="c2",
        contact_id="1000002",
        agent=edward,
        direction=Call.INBOUND,
        caller="13501234567",
        callee="02150001234",
        state=Call.TALKING,
        answered_at=timezone.now(),
    )
    assert call("LaunchAppraise", Acid="c2")["Success"] is True
    live.refresh_from_db()
    assert live.state == Call.RELEASED

    out = call("ListOutboundPhoneNumberOfUser")
    assert out["NumberList"]["Number"] == ["02150001234", "01080005678"]
    assert [n["Number"] for n in out["OutboundPhoneNumbers"]["PhoneNumber"]] == [
        "02150001234",
        "01080005678",
    ]
    agents = call("ListRealTimeAgent")["Data"]["User"]
    assert (agents[0]["RamId"], agents[0]["Dn"], agents[0]["State"]) == (
        edward.uid,
        "8001",
        "Offline",
    )
    assert agents[0]["SkillLevels"]["SkillLevel"][0]["Skill"]["SkillGroupName"] == "Sales"
    states = call("ListAgentStates", RamIds=edward.uid, PageSize="5")["Data"]
    row = states["List"]["RealTimeAgentState"][0]
    assert (row["LoginName"], row["Dn"], row["State"]) == (edward.upn, "8001", "Offline")
    assert (states["TotalCount"], states["PageSize"]) == (1, 5)
    recs = call("ListRecordingsByContactId", ContactId="1000001")
    assert recs["Recordings"]["Recording"] == []
    turn = call("GetTURNCredentials")
    assert turn["UserName"].endswith(":agent-edward-0001") and turn["Password"]
    servers = json.loads(call("GetTURNServerList")["TurnServerListConfig"])
    assert servers[0]["urls"].startswith("turn:")
    assert call("ListAgentDevices")["AgentDeviceList"]["AgentDevice"] == []
    added = call("AddAgentDevice", ClientIp="10.0.0.8", ClientPort="5060", Remark="desk")
    device_id = str(added["AgentDeviceId"])
    assert call("ModifyAgentDevice", AgentDeviceId=device_id, IsLogin="false")["Success"]
    devices = call("ListAgentDevices", RamIds=edward.uid)["AgentDeviceList"]["AgentDevice"]
    assert [(d["ClientIp"], d["ClientPort"], d["IsLogin"]) for d in devices] == [
        ("10.0.0.8", "5060", 0)
    ]
    status, code = _sdk_error(sandbox, creds, "ModifyAgentDevice", AgentDeviceId="999", IsLogin="1")
    assert (status, code) == (404, "NotExists.AgentDeviceId")
    assert devices[0]["RamId"] == int(edward.uid)
    status, code = _sdk_error(
        sandbox, creds, "ModifyAgentDevice", AgentDeviceId=device_id, IsLogin="maybe"
    )
    assert (status, code) == (400, "Parameter.Invalid")
    assert call("ResetUserStatus", RamIdList=edward.uid)["Success"] is True


def test_make_call_needs_a_signed_in_agent_and_rings_the_simulator(sandbox, creds, edward):
    with pytest.raises(ServerException) as exc:
        call_sdk(sandbox, creds, "MakeCall", FromNumber="02150001234", ToNumber="13900001111")
    assert exc.value.get_http_status() == 409 and exc.value.get_error_code() == "AgentNotReady"
    from aliyun_sandbox.telephony import simulator

    simulator.set_agent_status(edward, "READY", ["skg-sales"])
    body = call_sdk(sandbox, creds, "MakeCall", FromNumber="02150001234", ToNumber="13900001111")
    call = Call.objects.get(contact_id=body["TaskId"])
    assert (call.direction, call.callee, call.state) == (Call.OUTBOUND, "13900001111", Call.RINGING)


def test_users_without_ccc_data_get_generated_defaults(sandbox):
    sissi = make_user("sissi")
    info = call_sdk(sandbox, sts_for(sissi), "RequestLoginInfo")["LoginInfo"]
    assert info["Extension"].startswith("8") and len(info["Extension"]) == 4
    again = call_sdk(sandbox, sts_for(sissi), "RequestLoginInfo")["LoginInfo"]
    assert again["Extension"] == info["Extension"]


# --- rejections -------------------------------------------------------------------------------


def _sdk_error(sandbox, creds, action="ListSkillGroupsOfUser", **params):
    with pytest.raises(ServerException) as exc:
        call_sdk(sandbox, creds, action, **params)
    return exc.value.get_http_status(), exc.value.get_error_code()


def test_forged_signature_is_rejected(sandbox, creds):
    params = common_params(creds, "ListSkillGroupsOfUser")
    resp = raw_call(sandbox, params, secret="not-the-secret")
    assert resp.status_code == 400
    body = resp.json()
    assert body["Code"] == "SignatureDoesNotMatch"
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert "server string to sign is:GET&%2F&AccessKeyId%3D" in body["Message"]
    assert "SecurityToken%3D***%26" in body["Message"]
    assert creds["SecurityToken"][:20] not in body["Message"]
    bad = dict(creds, AccessKeySecret="not-the-secret")
    assert _sdk_error(sandbox, bad) == (400, "SignatureDoesNotMatch")
    # A signature over other parameters than those sent.
    params = common_params(creds, "ListSkillGroupsOfUser")
    signature = independent_signature("GET", params, creds["AccessKeySecret"])
    params.update(Signature=signature, UserId="someone-else")
    resp = raw_call(sandbox, params, sign=False)
    assert (resp.status_code, resp.json()["Code"]) == (400, "SignatureDoesNotMatch")
    # Signed for GET, sent as POST.
    params = common_params(creds, "ListSkillGroupsOfUser")
    params["Signature"] = independent_signature("GET", params, creds["AccessKeySecret"])
    resp = requests.post(f"{sandbox.base_url}/ccc/", params=params, timeout=10)
    assert (resp.status_code, resp.json()["Code"]) == (400, "SignatureDoesNotMatch")
    assert not UsedNonce.objects.exists()  # forged requests burn no nonce


def test_raw_get_and_post_form_are_accepted(sandbox, creds):
    resp = raw_call(sandbox, common_params(creds, "ListConfig"), secret=creds["AccessKeySecret"])
    assert resp.status_code == 200 and resp.json()["Success"] is True
    assert resp.headers["x-acs-request-id"] == resp.json()["RequestId"]
    params = common_params(creds, "GetNumberRegionInfo")
    resp = raw_call(
        sandbox,
        params,
        method="POST",
        secret=creds["AccessKeySecret"],
        form={"Number": "13501234567"},
    )
    assert resp.status_code == 200 and resp.json()["PhoneNumber"]["Number"] == "13501234567"


def test_expired_token_is_rejected(sandbox, edward):
    creds = sts_for(edward, lifetime=3600)
    creds["row"].expires_at = timezone.now() - timedelta(seconds=1)
    creds["row"].save()
    assert _sdk_error(sandbox, creds) == (400, "InvalidSecurityToken.Expired")


def test_revoked_tokens_are_rejected(sandbox, edward):
    creds = sts_for(edward)
    creds["row"].revoked_at = timezone.now()
    creds["row"].save()
    assert _sdk_error(sandbox, creds) == (400, "InvalidSecurityToken.Expired")
    # Revoking the refresh token stops the access tokens minted from it.
    refresh = RefreshToken.objects.create(
        token_hash="x" * 64,
        client_id="crmdemo-sandbox",
        user=edward,
        expires_at=timezone.now() + timedelta(days=1),
    )
    creds = sts_for(edward)
    creds["row"].refresh_token = refresh
    creds["row"].save()
    assert call_sdk(sandbox, creds, "ListConfig")["Success"] is True
    refresh.revoked_at = timezone.now()
    refresh.save()
    assert _sdk_error(sandbox, creds) == (400, "InvalidSecurityToken.Expired")


def test_unknown_access_key_and_mismatched_security_token(sandbox, creds, edward):
    unknown = dict(creds, AccessKeyId="STS.NotIssuedByTheSandbox")
    assert _sdk_error(sandbox, unknown) == (404, "InvalidAccessKeyId.NotFound")
    other = sts_for(edward)
    mixed = dict(creds, SecurityToken=other["SecurityToken"])
    assert _sdk_error(sandbox, mixed) == (400, "InvalidSecurityToken.MismatchWithAccessKey")
    params = common_params(creds, "ListConfig", SecurityToken=None)
    resp = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert (resp.status_code, resp.json()["Code"]) == (400, "MissingParameter")
    assert "SecurityToken" in resp.json()["Message"]


@pytest.mark.parametrize("offset", [timedelta(minutes=-16), timedelta(minutes=16)])
def test_timestamp_outside_the_window_is_rejected(sandbox, creds, offset):
    stamp = (datetime.now(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = common_params(creds, "ListConfig", Timestamp=stamp)
    resp = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert (resp.status_code, resp.json()["Code"]) == (400, "IllegalTimestamp")


def test_timestamp_inside_the_window_and_malformed(sandbox, creds):
    stamp = (datetime.now(UTC) - timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = common_params(creds, "ListConfig", Timestamp=stamp)
    assert raw_call(sandbox, params, secret=creds["AccessKeySecret"]).status_code == 200
    params = common_params(creds, "ListConfig", Timestamp="yesterday")
    resp = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert (resp.status_code, resp.json()["Code"]) == (400, "InvalidTimeStamp.Format")


def test_signature_nonce_replay_is_rejected(sandbox, creds):
    params = common_params(creds, "ListConfig")
    first = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert first.status_code == 200
    again = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert (again.status_code, again.json()["Code"]) == (400, "SignatureNonceUsed")
    assert UsedNonce.objects.filter(nonce=params["SignatureNonce"]).count() == 1


def test_old_nonces_are_pruned_by_the_cleanup_not_by_requests(sandbox, creds):
    UsedNonce.objects.create(nonce="old", seen_at=timezone.now() - timedelta(hours=1))
    UsedNonce.objects.create(nonce="recent", seen_at=timezone.now() - timedelta(minutes=1))
    call_sdk(sandbox, creds, "ListConfig")
    assert UsedNonce.objects.filter(nonce="old").exists()  # a request does no house-keeping
    out = io.StringIO()
    call_command("sandbox_cleanup", stdout=out)
    assert "nonces deleted: 1" in out.getvalue()
    assert not UsedNonce.objects.filter(nonce="old").exists()
    assert UsedNonce.objects.filter(nonce="recent").exists()


def test_wrong_instance_unknown_action_and_missing_parameters(sandbox, creds):
    assert _sdk_error(sandbox, creds, InstanceId="ccc-someone-else") == (
        404,
        "NotExists.InstanceId",
    )
    for action in ("DeleteEverything", "GetTurnCredentials", "listskillgroupsofuser"):
        assert _sdk_error(sandbox, creds, action=action) == (404, "InvalidAction.NotFound")
    assert _sdk_error(sandbox, creds, action="GetConfig", ObjectType="x", ObjectId="y") == (
        400,
        "MissingParameter",
    )
    params = common_params(creds, "ListConfig", InstanceId=None)
    resp = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert (resp.status_code, resp.json()["Code"]) == (400, "MissingParameter")
    for name in ("Action", "Version", "SignatureNonce", "Timestamp", "AccessKeyId", "Signature"):
        params = common_params(creds, "ListConfig")
        params.pop(name, None)
        resp = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
        if name == "Signature":
            resp = raw_call(sandbox, params, sign=False)
        assert (resp.status_code, resp.json()["Code"]) == (400, "MissingParameter"), name
        assert name in resp.json()["Message"]
    params = common_params(creds, "ListConfig", Version="2019-01-01")
    resp = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert (resp.status_code, resp.json()["Code"]) == (400, "InvalidVersion")
    # a 1.x action under 2020-07-01 (where it does not exist)
    params = common_params(creds, "ListConfig", Version="2020-07-01")
    resp = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert (resp.status_code, resp.json()["Code"]) == (404, "InvalidAction.NotFound")
    resp = raw_call(
        sandbox,
        common_params(creds, "ListRecentCallRecords", PageSize="x"),
        secret=creds["AccessKeySecret"],
    )
    assert (resp.status_code, resp.json()["Code"]) == (400, "Parameter.Format")


def test_other_users_and_scopes(sandbox, creds, edward):
    sissi = make_user("sissi", ccc_user_id="agent-sissi-0002")
    assert _sdk_error(sandbox, creds, UserId="agent-sissi-0002") == (403, "Permission.Denied")
    assert _sdk_error(sandbox, creds, UserId="nobody") == (404, "NotExists.UserId")
    own = call_sdk(sandbox, creds, "ListSkillGroupsOfUser", UserId="agent-edward-0001")
    assert own["Success"] is True
    no_ccc = sts_for(sissi, scope="openid profile")
    assert _sdk_error(sandbox, no_ccc) == (403, "Forbidden.RAM")


def test_bearer_token(sandbox, creds, edward):
    params = common_params(creds, "ListSkillGroupsOfUser", AccessKeyId=None, SecurityToken=None)
    params.update(SignatureType="BEARERTOKEN", BearerToken=creds["token"])
    resp = raw_call(sandbox, params, sign=False)
    assert resp.status_code == 200
    assert resp.json()["SkillLevels"]["SkillLevel"][0]["Skill"]["SkillGroupId"] == "skg-sales"
    params["SignatureNonce"] += "2"
    params["BearerToken"] = "not-a-token"
    resp = raw_call(sandbox, params, sign=False)
    assert (resp.status_code, resp.json()["Code"]) == (401, "InvalidBearerToken.NotFound")
    creds["row"].revoked_at = timezone.now()
    creds["row"].save()
    params.update(BearerToken=creds["token"], SignatureNonce=params["SignatureNonce"] + "3")
    resp = raw_call(sandbox, params, sign=False)
    assert (resp.status_code, resp.json()["Code"]) == (400, "InvalidSecurityToken.Expired")


def test_garbage_never_gives_a_500(sandbox, creds):
    url = f"{sandbox.base_url}/ccc/"
    for kwargs in (
        {"params": {}},
        {"params": {"Action": "ListConfig"}},
        {"params": {"Action": "ListConfig", "Version": "2017-07-05", "Timestamp": "\x00"}},
        {"params": {"Action": "ListConfig", "Version": "2017-07-05", "Format": "XML"}},
        {"data": b"\xff\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ):
        method = requests.post if "data" in kwargs else requests.get
        resp = method(url, timeout=10, **kwargs)
        assert 400 <= resp.status_code < 500, (kwargs, resp.text)
        assert resp.json()["Code"]
    params = common_params(creds, "ListConfig", SignatureNonce="n" * 200)
    resp = raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    assert (resp.status_code, resp.json()["Code"]) == (400, "InvalidParameter")
    assert requests.put(url, timeout=10).status_code == 405


def test_sandbox_off_is_404(sandbox, creds, settings):
    settings.SANDBOX_ENABLED = False
    resp = raw_call(sandbox, common_params(creds, "ListConfig"), secret=creds["AccessKeySecret"])
    assert resp.status_code == 404
