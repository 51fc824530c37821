"""The sandbox's CCC OpenAPI 2020-07-01 on the live server, called by aliyun-python-sdk-core.

STS mode: the SDK's own ``StsTokenCredential`` and ``CommonRequest`` (HMAC-SHA1). Bearer mode:
an opaque access token sent by the CCC proxy's client (``ccc_proxy.client.call``, built on the
SDK's public ``RpcRequest``/``AcsClient``). Calls drive the same telephony as the simulator.
"""

import json
from types import SimpleNamespace

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from django.utils import timezone

from aliyun_sandbox.models import AgentState, Call
from aliyun_sandbox.oauth.tokens import issue_access_token
from aliyun_sandbox.telephony import simulator
from ccc_proxy import actions, client
from tests.aliyun_sandbox.ccc_support import make_user, sdk_client, sts_for

pytestmark = pytest.mark.ccc2x

INSTANCE = "ccc-sandbox"
GROUPS = json.dumps(["skg-sales@ccc-sandbox", "skg-support@ccc-sandbox"])


class Api:
    """Call 2.x actions as one agent; ``call`` returns ``(http_status, body)``."""

    def __init__(self, sandbox, user, mode: str, settings):
        self.sandbox, self.user, self.mode = sandbox, user, mode
        if mode == "sts":
            self.creds = sts_for(user)
            self.token, self.row = self.creds["token"], self.creds["row"]
        else:
            settings.SANDBOX_ACCESS_TOKEN_FORMAT = "opaque"
            issued = issue_access_token(user, "crmdemo-sandbox", scope="openid /acs/ccc")
            self.token, self.row = issued.value, issued.row
        self.device = ""

    def call(self, action: str, **params) -> tuple[int, dict]:
        params.setdefault("InstanceId", INSTANCE)
        params = {k: v for k, v in params.items() if v is not None}
        if self.mode == "bearer":
            try:
                answer = client.call(client.BearerToken(self.token), action, params, "2020-07-01")
            except client.UpstreamError as exc:
                return exc.http_status, {"Code": exc.code, "RequestId": exc.request_id}
            return 200, answer.body
        from aliyunsdkcore.request import CommonRequest

        request = CommonRequest(
            domain=self.sandbox.ccc_endpoint,
            version="2020-07-01",
            action_name=action,
            product="CCC",
        )
        request.set_protocol_type("http")
        request.set_method("POST")
        for key, value in params.items():
            request.add_query_param(key, value)
        sdk = sdk_client(self.creds)
        try:
            return 200, json.loads(sdk.do_action_with_exception(request))
        except ServerException as exc:
            return exc.get_http_status(), {"Code": exc.get_error_code()}
        finally:
            sdk.session.close()

    def ok(self, action: str, **params) -> dict:
        status, body = self.call(action, **params)
        assert status == 200 and body["Code"] == "OK", (action, status, body)
        assert body["HttpStatusCode"] == 200 and body["RequestId"] and body.get("Params", []) == []
        assert "Success" not in body
        return body.get("Data")

    def state(self) -> dict:
        return self.ok("PollUserStatus", DeviceId=self.device)

    def control(self, action: str, **params) -> dict:
        return self.ok(action, DeviceId=self.device, **params)


@pytest.fixture(params=["sts", "bearer"])
def agents(request, sandbox, db, settings):
    edward, sissi = make_user("edward"), make_user("sissi")
    return SimpleNamespace(
        edward=Api(sandbox, edward, request.param, settings),
        sissi=Api(sandbox, sissi, request.param, settings),
        mode=request.param,
    )


def sign_in(api: Api) -> dict:
    api.device = api.ok("GetLoginDetails")["DeviceId"]
    data = api.control("SignInGroup", SignedSkillGroupIdList=GROUPS)
    assert data["UserState"] == "BREAK" and data["SignedSkillGroupIdList"] == json.loads(GROUPS)
    return api.control("ReadyForService")


def test_every_action_of_the_2x_sdk_answers(agents):
    edward, sissi = agents.edward, agents.sissi
    login = edward.ok("GetLoginDetails")
    assert login["UserId"] == "edward@ccc-sandbox" and len(login["Extension"]) == 8
    assert sign_in(edward)["UserState"] == "READY"
    sign_in(sissi)
    answered = {"GetLoginDetails", "SignInGroup", "ReadyForService", "PollUserStatus"}

    # An inbound call from the simulator rings the READY agent.
    simulator.ring_agent(edward.user, "135012345678")
    polled = edward.state()
    job = polled["CallContext"]["JobId"]
    assert polled["UserContext"]["UserState"] == "RINGING" and job.startswith("job-")
    assert polled["CallContext"]["CallType"] == "INBOUND"
    assert polled["CallContext"]["ChannelContexts"][0]["Originator"] == "135012345678"
    talking = edward.control("AnswerCall", JobId=job)
    assert talking["UserContext"]["UserState"] == "TALKING"
    held = edward.control("HoldCall", JobId=job)
    assert held["CallContext"]["ChannelContexts"][0]["ChannelState"] == "HELD"
    edward.control("RetrieveCall", JobId=job)
    muted = edward.control("MuteCall", JobId=job)
    assert muted["CallContext"]["ChannelContexts"][0]["ChannelFlags"] == "MUTED"
    edward.control("UnmuteCall", JobId=job)
    edward.control("SendDtmfSignaling", JobId=job, Dtmf="1")
    released = edward.control("ReleaseCall", JobId=job)
    assert released["UserContext"]["UserState"] == "WORKING"  # after-call work
    assert edward.control("ReadyForService")["UserState"] == "READY"
    answered |= {"AnswerCall", "HoldCall", "RetrieveCall", "MuteCall", "UnmuteCall"}
    answered |= {"SendDtmfSignaling", "ReleaseCall"}

    # Outbound: the simulator's remote party answers; then a blind transfer to Sissi.
    dialing = edward.control("MakeCall", Callee="135012345679")
    out_job = dialing["CallContext"]["JobId"]
    assert dialing["UserContext"]["UserState"] == "DIALING"
    call = Call.objects.get(contact_id=out_job[4:])
    simulator.remote_party(call.connid, "answer")
    assert edward.state()["UserContext"]["UserState"] == "TALKING"
    moved = edward.control("BlindTransfer", JobId=out_job, Transferee="sissi@ccc-sandbox")
    assert moved["UserContext"]["UserState"] == "WORKING"
    sissi_call = sissi.state()
    assert sissi_call["UserContext"]["UserState"] == "RINGING"
    assert sissi_call["CallContext"]["ChannelContexts"][0]["Originator"] == "135012345679"
    sissi.control("AnswerCall", JobId=sissi_call["CallContext"]["JobId"])
    sissi.control("LaunchSurvey", JobId=sissi_call["CallContext"]["JobId"])
    assert sissi.state()["UserContext"]["UserState"] == "WORKING"
    answered |= {"MakeCall", "BlindTransfer", "LaunchSurvey"}

    assert edward.control("TakeBreak", Code="Lunch")["UserState"] == "BREAK"
    records = edward.ok("ListRecentCallDetailRecords", PageSize="50")
    assert {r["ContactId"] for r in records["List"]} == {job, out_job}
    detail = edward.ok("GetCallDetailRecord", ContactId=job)
    assert detail["ContactType"] == "INBOUND" and detail["CallingNumber"] == "135012345678"
    answered |= {"TakeBreak", "ListRecentCallDetailRecords", "GetCallDetailRecord"}

    reads = {
        "ListSkillLevelsOfUser": {},
        "ListOutboundNumbersOfUser": {},
        "ListConfigItems": {},
        "GetTurnServerList": {},
        "ListPrivilegesOfUser": {},
        "GetTurnCredentials": {},
        "ListDevices": {},
        "AddAgentDevice": {"ClientIp": "127.0.0.1"},
        "PickOutboundNumbers": {"CalledNumber": "13501234567"},
        "GetNumberLocation": {"Number": "13501234567"},
        "ListRealtimeAgentStates": {},
        "ListAgentStates": {},
        "ListBriefSkillGroups": {},
        "ListHistoricalAgentReport": {},
        "SaveTerminalLog": {"Content": "log line"},
    }
    for action, params in reads.items():
        edward.ok(action, **params)
    levels = edward.ok("ListSkillLevelsOfUser")
    assert levels["List"][0]["SkillGroupId"] == "skg-sales@ccc-sandbox"
    states = {r["AgentId"]: r["State"] for r in edward.ok("ListRealtimeAgentStates")["List"]}
    assert states == {"edward@ccc-sandbox": "BREAK", "sissi@ccc-sandbox": "WORKING"}
    answered |= set(reads)

    refused = {
        "ListSkillGroups": ({}, 403, "Permission.Denied"),
        "MonitorCall": (
            {"DeviceId": edward.device, "MonitoredUserId": "sissi@ccc-sandbox"},
            403,
            "Permission.Denied",
        ),
        "InitiateAttendedTransfer": (
            {"DeviceId": edward.device, "JobId": job, "Transferee": "sissi@ccc-sandbox"},
            400,
            "NotSupported.AttendedTransfer",
        ),
        "CompleteAttendedTransfer": (
            {"DeviceId": edward.device, "JobId": job},
            400,
            "NotSupported.AttendedTransfer",
        ),
        "CancelAttendedTransfer": (
            {"DeviceId": edward.device, "JobId": job},
            400,
            "NotSupported.AttendedTransfer",
        ),
    }
    for action, (params, status, code) in refused.items():
        assert edward.call(action, **params)[:1] == (status,), action
        assert edward.call(action, **params)[1]["Code"] == code
    answered |= set(refused)

    assert edward.ok("ResetAgentState")["UserState"] == "OFFLINE"
    sign_in(edward)
    assert edward.control("SignOutGroup")["UserState"] == "OFFLINE"
    answered |= {"ResetAgentState", "SignOutGroup"}
    assert answered == set(actions.ACTIONS[actions.API_2020])


def state_of(api: Api) -> tuple[str, str]:
    state = AgentState.objects.get(user=api.user)
    return state.status, state.device_id


@pytest.mark.parametrize(
    ("action", "params", "status", "code"),
    [
        ("AnswerCall", {"JobId": "job-1"}, 404, "NotExists.JobId"),
        ("MakeCall", {"Callee": "135", "UserId": "sissi@ccc-sandbox"}, 403, "Permission.Denied"),
        ("MakeCall", {"Callee": "135", "UserId": "nobody@ccc-sandbox"}, 404, "NotExists.UserId"),
        ("MakeCall", {"Callee": "not a number"}, 400, "Parameter.Invalid"),
        ("MakeCall", {"Callee": None}, 400, "MissingParameter"),
        ("MakeCall", {"Callee": " "}, 400, "Parameter.Blank"),
        ("SignInGroup", {"SignedSkillGroupIdList": "skg-sales"}, 400, "Parameter.Invalid"),
        ("SignInGroup", {"SignedSkillGroupIdList": '["skg-x"]'}, 404, "NotExists.SkillGroupId"),
        ("ReadyForService", {"InstanceId": "ccc-other"}, 404, "NotExists.InstanceId"),
        ("TakeBreak", {"DeviceId": None}, 400, "MissingParameter"),
        ("TakeBreak", {"DeviceId": "ACC-stale"}, 403, "Permission.Denied"),
    ],
)
def test_bad_input_is_refused_without_a_state_change(
    sandbox, db, settings, action, params, status, code
):
    edward = Api(sandbox, make_user("edward"), "sts", settings)
    make_user("sissi")
    sign_in(edward)
    before = state_of(edward), Call.objects.count()
    got_status, body = edward.call(action, **{"DeviceId": edward.device, **params})
    assert (got_status, body["Code"]) == (status, code)
    assert (state_of(edward), Call.objects.count()) == before


def test_call_control_in_the_wrong_state_is_refused(agents):
    edward = agents.edward
    sign_in(edward)
    call = simulator.ring_agent(edward.user, "135012345678")
    job = f"job-{call.contact_id}"
    status, body = edward.call("HoldCall", DeviceId=edward.device, JobId=job)
    assert (status, body["Code"]) == (400, "CallStateError")
    status, body = edward.call("ReadyForService", DeviceId=edward.device)
    assert (status, body["Code"]) == (400, "UserBusy")
    assert Call.objects.get(pk=call.pk).state == Call.RINGING
    # A device that did not sign in is refused; a workbench that signs in (a reload mid-call)
    # takes the call over, and the first one's device is stale from then on.
    other = edward.ok("GetLoginDetails")["DeviceId"]
    assert edward.call("AnswerCall", DeviceId=other, JobId=job)[1]["Code"] == "Permission.Denied"
    taken = edward.ok("SignInGroup", DeviceId=other)
    assert taken["DeviceId"] == other and taken["JobId"] == job
    status, body = edward.call("AnswerCall", DeviceId=edward.device, JobId=job)
    assert (status, body["Code"]) == (403, "Permission.Denied")
    edward.device = other
    assert edward.control("AnswerCall", JobId=job)["UserContext"]["UserState"] == "TALKING"


@pytest.mark.parametrize("mode", ["sts", "bearer"])
@pytest.mark.parametrize("fault", ["expired", "revoked", "forged"])
def test_expired_revoked_and_forged_credentials_are_refused(sandbox, db, settings, mode, fault):
    api = Api(sandbox, make_user("edward"), mode, settings)
    if fault == "expired":
        api.row.expires_at = timezone.now() - timezone.timedelta(seconds=1)
        api.row.save()
    elif fault == "revoked":
        api.row.revoked_at = timezone.now()
        api.row.save()
    elif mode == "sts":
        api.creds["AccessKeySecret"] = "forged-secret"
    else:
        api.token = "ot-forged-token"
    status, body = api.call("GetLoginDetails")
    expected = {
        ("forged", "sts"): (400, "SignatureDoesNotMatch"),
        ("forged", "bearer"): (401, "InvalidBearerToken.NotFound"),
    }.get((fault, mode), (400, "InvalidSecurityToken.Expired"))
    assert (status, body["Code"]) == expected
