"""The sandbox's CCC OpenAPI, version 2017-07-05 (RPC style), as the 1.x softphone SDK uses it.

:func:`handle` takes the merged query/form parameters of a request to ``/sandbox/ccc/`` and
returns ``(http_status, body)``. Success bodies are the 2017-07-05 envelope ``{RequestId, Success,
Code: "OK", Message, HttpStatusCode}`` plus the action's payload, in the shapes of
docs/PROTOCOL.md §2 (from the generated models in aliyun/alibabacloud-java-sdk
``ccc-20170705``). Errors use the gateway envelope ``{RequestId, HostId, Code, Message,
Recommend}`` with the documented status (docs/PROTOCOL.md §4).
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from aliyun_sandbox.ccc import data as ccc_data
from aliyun_sandbox.ccc.signature import Caller, OpenApiError, authenticate, missing
from aliyun_sandbox.models import AgentDevice, AgentState, Call, CloudUser
from aliyun_sandbox.telephony import agent_server, simulator

VERSION = "2017-07-05"
# The scope an OAuth access token needs to call CCC (an empty scope means all of the app's).
CCC_SCOPE = "/acs/ccc"


@dataclass
class Context:
    """One authenticated call: ``user`` is the caller's RAM user, ``params`` the request's."""

    user: CloudUser
    params: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        """The parameter ``name`` as sent (text), or ``default``."""
        return self.params.get(name, default)

    def integer(self, name: str, default: int, low: int = 1, high: int = 10**6) -> int:
        """The integer parameter ``name`` (``default`` when absent); ``Parameter.Format`` or
        ``Parameter.Invalid`` (400) when not an integer in ``[low, high]``."""
        raw = self.params.get(name, "")
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise OpenApiError(
                "Parameter.Format", f'The parameter "{name}" must be an integer.', 400
            ) from None
        if not low <= value <= high:
            raise OpenApiError(
                "Parameter.Invalid", f'The parameter "{name}" must be in [{low}, {high}].', 400
            )
        return value

    def target_user(self) -> CloudUser:
        """The user named by ``UserId`` (default: the caller); agents may only see themselves."""
        user_id = self.get("UserId")
        if not user_id or user_id == ccc_data.agent_user_id(self.user):
            return self.user
        if ccc_data.find_agent(user_id) is None:
            raise OpenApiError("NotExists.UserId", f"User {user_id} does not exist.", 404)
        raise OpenApiError(
            "Permission.Denied", "An agent may only read its own data in this instance.", 403
        )


def _millis(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def _login_info(ctx: Context) -> dict:
    user = ctx.target_user()
    sig = agent_server.issue_signature(user)
    base = settings.SANDBOX_BASE_URL.rstrip("/")
    return {
        "LoginInfo": {
            "UserName": user.upn.split("@", 1)[0],
            "DisplayName": user.display_name,
            "PhoneNumber": ccc_data.outbound_numbers(user)[0]["Number"],
            "Region": settings.ALIYUN_CCC_REGION,
            "WebRtcUrl": f"{base.replace('http', 'ws', 1)}/agent/webrtc",
            "AgentServerUrl": f"{base}/agent/",
            "Extension": ccc_data.agent_extension(user),
            "TenantId": user.aid,
            "Signature": sig["Signature"],
            "SignData": sig["SignData"],
            "Roles": {
                "Role": [
                    {
                        "RoleId": "role-agent",
                        "RoleName": "Agent",
                        "RoleDescription": "Contact-center agent",
                        "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
                    }
                ]
            },
        }
    }


def _refresh_token(ctx: Context) -> dict:
    return {"Token": agent_server.issue_signature(ctx.user)}


def _skill_groups(ctx: Context) -> dict:
    return {"SkillLevels": {"SkillLevel": ccc_data.skill_levels(ctx.target_user())}}


def _get_config(ctx: Context) -> dict:
    name = ctx.get("Name")
    if name not in ccc_data.CONFIG_ITEMS:
        raise OpenApiError("NotExists.ConfigItem", f"Config item {name} does not exist.", 404)
    return {"ConfigItem": {"Name": name, "Value": ccc_data.CONFIG_ITEMS[name]}}


def _list_config(ctx: Context) -> dict:
    items = [{"Name": k, "Value": v} for k, v in ccc_data.CONFIG_ITEMS.items()]
    return {"ConfigItems": {"ConfigItem": items}}


def _service_extensions(ctx: Context) -> dict:
    return {"ServiceExtensions": {"ServiceExtension": ccc_data.SERVICE_EXTENSIONS}}


def _cdr(call: Call) -> dict:
    group_name = next(
        (
            g["SkillGroupName"]
            for g in ccc_data.SKILL_GROUPS
            if g["SkillGroupId"] == call.skill_group_id
        ),
        "",
    )
    rung_until = call.answered_at or call.released_at or call.created_at
    ring_time = max(0, int((rung_until - call.created_at).total_seconds()))
    if call.direction == Call.INBOUND:
        disposition = "Success" if call.answered_at else "NoAnswer"
    else:
        disposition = "Success" if call.answered_at else "NotConnected"
    return {
        "ContactId": call.contact_id,
        "ContactType": "Inbound" if call.direction == Call.INBOUND else "Outbound",
        "ContactDisposition": disposition,
        "CallingNumber": call.caller,
        "CalledNumber": call.callee,
        "StartTime": _millis(call.created_at),
        "Duration": call.duration,
        "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
        "AgentNames": call.agent.display_name,
        "Agents": {
            "CallDetailAgent": [
                {
                    "AgentId": call.agent.uid,
                    "AgentName": call.agent.display_name,
                    "ContactId": call.contact_id,
                    "StartTime": _millis(call.created_at),
                    "RingTime": ring_time,
                    "TalkTime": call.duration,
                    "HoldTime": 0,
                    "QueueTime": 0,
                    "WorkTime": 0,
                    "SkillGroupName": group_name,
                }
            ]
        },
        "Recordings": {"Recording": []},
        "SkillGroupNames": group_name,
    }


def calls_between(ctx: Context, stop_name: str):
    """The caller's calls (newest first), filtered by the millisecond parameters ``StartTime``
    (inclusive) and ``stop_name`` (exclusive: 1.x ``StopTime``, 2.x ``EndTime``) and by
    ``Criteria`` (part of the caller or callee number). Reads only: show the rows through
    :func:`simulator.as_seen`."""
    qs = Call.objects.filter(agent=ctx.user).select_related("agent")
    for name, lookup in (("StartTime", "created_at__gte"), (stop_name, "created_at__lt")):
        if ctx.get(name):
            millis = ctx.integer(name, 0, low=0, high=10**14)
            qs = qs.filter(**{lookup: datetime.fromtimestamp(millis / 1000, UTC)})
    criteria = ctx.get("Criteria")
    if criteria:
        qs = qs.filter(caller__contains=criteria) | qs.filter(callee__contains=criteria)
    return qs


def _recent_calls(ctx: Context) -> dict:
    page = ctx.integer("PageNumber", 1)
    size = ctx.integer("PageSize", 10, high=100)
    qs = calls_between(ctx, "StopTime")
    total = qs.count()
    rows = simulator.as_seen(list(qs[(page - 1) * size : page * size]))
    return {
        "CallDetailRecords": {
            "List": {"CallDetailRecord": [_cdr(c) for c in rows]},
            "PageNumber": page,
            "PageSize": size,
            "TotalCount": total,
        }
    }


def _pick_numbers(ctx: Context) -> dict:
    count = ctx.integer("Count", 1, high=10)
    callee = ccc_data.number_region(ctx.get("CalledNumber"))
    numbers = ccc_data.outbound_numbers(ctx.user)
    if ctx.get("SkillGroupId"):
        group = next(
            (g for g in ccc_data.SKILL_GROUPS if g["SkillGroupId"] == ctx.get("SkillGroupId")),
            None,
        )
        if group is None:
            raise OpenApiError("NotExists.SkillGroupId", "The skill group does not exist.", 404)
        numbers = [n for n in numbers if n["PhoneNumberId"] in group["numbers"]]
    # Prefer a number in the callee's province, as CCC's number picking does.
    numbers.sort(key=lambda n: not callee["Province"].startswith(n["Province"] or "-"))
    pairs = [
        {
            "Caller": {"Number": n["Number"], "Province": n["Province"], "City": n["City"]},
            "Callee": callee,
        }
        for n in numbers[:count]
    ]
    return {"DialNumberPairs": {"DialNumberPair": pairs}}


def _number_region(ctx: Context) -> dict:
    return {"PhoneNumber": ccc_data.number_region(ctx.get("Number"))}


def _launch_appraise(ctx: Context) -> dict:
    # The customer of the agent's call ``Acid`` (connid or contact id) is handed to the
    # satisfaction survey; the agent's leg ends.
    acid = ctx.get("Acid")
    call = simulator.live_call(ctx.user)
    if call is None or acid not in (call.connid, call.contact_id) or call.state != Call.TALKING:
        raise OpenApiError("Parameter.Invalid", f"Call {acid} is not in conversation.", 400)
    try:
        simulator.hang_up(call, by="agent")
    except simulator.SimulatorError as exc:
        raise OpenApiError("Parameter.Invalid", exc.message, 400) from None
    return {}


def _outbound_numbers(ctx: Context) -> dict:
    numbers = ccc_data.outbound_numbers(ctx.target_user())
    return {
        "OutboundPhoneNumbers": {"PhoneNumber": numbers},
        "NumberList": {"Number": [n["Number"] for n in numbers]},
    }


_STATE_NAMES = {
    AgentState.OFFLINE: "Offline",
    AgentState.SIGNED_IN: "Break",
    AgentState.READY: "Ready",
    AgentState.BREAK: "Break",
    AgentState.WORKING: "Break",  # a 2.x agent's after-call work; 1.x has no such state
}


def _agent_state(user: CloudUser) -> tuple[str, str]:
    """``(State, StateDuration in seconds as text)`` of an agent, calls included."""
    state = simulator.agent_state(user)
    name = _STATE_NAMES[simulator.effective_status(state)]
    since = state.changed_at
    call = simulator.live_call(user)
    if call is not None:
        name = "Ringing" if call.state == Call.RINGING else "Talking"
        since = call.answered_at or call.created_at
    return name, str(max(0, int((timezone.now() - since).total_seconds())))


def _real_time_agents(ctx: Context) -> dict:
    users = []
    for user in CloudUser.objects.order_by("upn"):
        state, _ = _agent_state(user)
        users.append(
            {
                "RamId": user.uid,
                "DisplayName": user.display_name,
                "Dn": ccc_data.agent_extension(user),
                "Phone": "",
                "State": state,
                "StateDesc": state,
                "SkillLevels": {
                    "SkillLevel": [
                        {
                            "SkillLevelId": lvl["SkillLevelId"],
                            "Level": lvl["Level"],
                            "Skill": {
                                k: lvl["Skill"][k]
                                for k in (
                                    "SkillGroupId",
                                    "SkillGroupName",
                                    "SkillGroupDescription",
                                    "InstanceId",
                                )
                            },
                        }
                        for lvl in ccc_data.skill_levels(user)
                    ]
                },
            }
        )
    return {"Data": {"User": users}}


def _agent_states(ctx: Context) -> dict:
    page = ctx.integer("PageNumber", 1)
    size = ctx.integer("PageSize", 10, high=100)
    users = CloudUser.objects.order_by("upn")
    ram_ids = [r for r in ctx.get("RamIds").split(",") if r]
    if ram_ids:
        users = users.filter(uid__in=ram_ids)
    rows = []
    for user in users:
        state, duration = _agent_state(user)
        rows.append(
            {
                "AgentId": user.uid,
                "AgentName": user.display_name,
                "LoginName": user.upn,
                "Dn": ccc_data.agent_extension(user),
                "State": state,
                "StateDuration": duration,
                "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
            }
        )
    if ctx.get("State"):
        rows = [r for r in rows if r["State"] == ctx.get("State")]
    return {
        "Data": {
            "List": {"RealTimeAgentState": rows[(page - 1) * size : page * size]},
            "PageNumber": page,
            "PageSize": size,
            "TotalCount": len(rows),
        }
    }


def _recordings(ctx: Context) -> dict:
    # The simulator carries no audio: a contact has no recordings.
    if not Call.objects.filter(contact_id=ctx.get("ContactId"), agent=ctx.user).exists():
        raise OpenApiError("NotExists.ContactId", "The contact does not exist.", 404)
    return {"Recordings": {"Recording": []}}


def _download_recording(ctx: Context) -> dict:
    raise OpenApiError("NotExists.Recording", "The recording does not exist.", 404)


def _turn_credentials(ctx: Context) -> dict:
    user = ctx.target_user()
    expires = int(timezone.now().timestamp()) + agent_server.SIGNATURE_LIFETIME
    return {
        "UserName": f"{expires}:{ccc_data.agent_user_id(user)}",
        "Password": agent_server.issue_signature(user)["Signature"],
    }


def turn_servers() -> list[dict]:
    """The sandbox's TURN servers (none run: the stand-ins carry no audio)."""
    host = settings.SANDBOX_BASE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return [{"urls": f"turn:{host}:3478", "region": "default"}]


def _turn_servers(ctx: Context) -> dict:
    return {"TurnServerListConfig": json.dumps(turn_servers())}


def _reset_user_status(ctx: Context) -> dict:
    ram_ids = [r for r in ctx.get("RamIdList").split(",") if r]
    users = list(CloudUser.objects.filter(uid__in=ram_ids))
    if len(users) != len(set(ram_ids)):
        raise OpenApiError("NotExists.UserId", "A user in RamIdList does not exist.", 404)
    if any(u.pk != ctx.user.pk for u in users):
        raise OpenApiError("Permission.Denied", "An agent may only reset itself.", 403)
    for user in users:
        simulator.set_agent_status(user, AgentState.OFFLINE)
    return {}


def _bool(ctx: Context, name: str) -> bool:
    value = ctx.get(name).lower()
    if value not in ("true", "false", "1", "0"):
        raise OpenApiError("Parameter.Invalid", f'The parameter "{name}" must be a boolean.', 400)
    return value in ("true", "1")


def add_device(ctx: Context) -> dict:
    """AddAgentDevice: record the caller's softphone device; ``{"AgentDeviceId"}``."""
    device = AgentDevice.objects.create(
        user=ctx.user,
        client_ip=ctx.get("ClientIp")[:64],
        client_port=ctx.get("ClientPort")[:16],
        browser_version=ctx.get("BrowserVersion")[:256],
        remark=ctx.get("Remark")[:256],
    )
    return {"AgentDeviceId": device.pk}


def _modify_device(ctx: Context) -> dict:
    device_id = ctx.integer("AgentDeviceId", 0, low=1, high=2**62)
    is_login = _bool(ctx, "IsLogin")
    if not AgentDevice.objects.filter(pk=device_id, user=ctx.user).update(is_login=is_login):
        raise OpenApiError("NotExists.AgentDeviceId", "The agent device does not exist.", 404)
    return {}


def _list_devices(ctx: Context) -> dict:
    qs = AgentDevice.objects.select_related("user").order_by("-login_time")
    ram_ids = [r for r in ctx.get("RamIds").split(",") if r]
    qs = qs.filter(user__uid__in=ram_ids) if ram_ids else qs.filter(user=ctx.user)
    for name, lookup in (("StartTime", "login_time__gte"), ("StopTime", "login_time__lt")):
        if ctx.get(name):
            millis = ctx.integer(name, 0, low=0, high=10**14)
            qs = qs.filter(**{lookup: datetime.fromtimestamp(millis / 1000, UTC)})
    devices = [
        {
            "AgentDeviceId": d.pk,
            "RamId": int(d.user.uid) if d.user.uid.isdigit() else d.user.uid,
            "ClientIp": d.client_ip,
            "ClientPort": d.client_port,
            "BrowserVersion": d.browser_version,
            "Remark": d.remark,
            "IsLogin": 1 if d.is_login else 0,
            "LoginTime": _millis(d.login_time),
            "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
        }
        for d in qs[:100]
    ]
    return {"AgentDeviceList": {"AgentDevice": devices}}


def _make_call(ctx: Context) -> dict:
    try:
        call = simulator.place_outbound(ctx.user, ctx.get("ToNumber"), ctx.get("FromNumber"))
    except simulator.SimulatorError as exc:
        raise OpenApiError(exc.code, exc.message, exc.status) from None
    return {"StatusCode": "0", "StatusDesc": "Dialing", "TaskId": call.contact_id}


@dataclass(frozen=True)
class Action:
    """An implemented action: its handler and mandatory parameters (besides ``InstanceId``)."""

    handler: Callable[[Context], object]
    required: tuple[str, ...] = ()


ACTIONS: dict[str, Action] = {
    "RequestLoginInfo": Action(_login_info),
    "RefreshToken": Action(_refresh_token),
    "ListSkillGroupsOfUser": Action(_skill_groups),
    "GetConfig": Action(_get_config, ("Name", "ObjectType", "ObjectId")),
    "ListConfig": Action(_list_config),
    "GetServiceExtensions": Action(_service_extensions, ("ServiceType",)),
    "ListRecentCallRecords": Action(_recent_calls),
    "PickGlobalOutboundNumbers": Action(_pick_numbers, ("CalledNumber",)),
    "GetNumberRegionInfo": Action(_number_region, ("Number",)),
    "LaunchAppraise": Action(_launch_appraise, ("Acid",)),
    "ListOutboundPhoneNumberOfUser": Action(_outbound_numbers),
    "ListRealTimeAgent": Action(_real_time_agents),
    "ListAgentStates": Action(_agent_states),
    "ListRecordingsByContactId": Action(_recordings, ("ContactId",)),
    # 2017-07-05 spells these GetTURN... (GetTurn... are the 2020-07-01 names).
    "GetTURNCredentials": Action(_turn_credentials),
    "GetTURNServerList": Action(_turn_servers),
    "AddAgentDevice": Action(add_device, ("ClientIp",)),
    "ModifyAgentDevice": Action(_modify_device, ("AgentDeviceId", "IsLogin")),
    "ListAgentDevices": Action(_list_devices),
    "ResetUserStatus": Action(_reset_user_status, ("RamIdList",)),
    "DownloadRecording": Action(_download_recording, ("FileName",)),
    "MakeCall": Action(_make_call, ("FromNumber", "ToNumber")),
}


def error_body(exc: OpenApiError, request_id: str, host: str) -> dict:
    """The gateway's error envelope for ``exc``."""
    return {
        "RequestId": request_id,
        "HostId": host,
        "Code": exc.code,
        "Message": exc.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}&product=CCC",
    }


def refuse_unreadable(message: str, status: int, host: str) -> tuple[int, dict]:
    """Answer a request whose query or body could not be parsed (too many parameters, too
    large): ``(status, envelope)`` with code ``InvalidParameter``, like :func:`handle`'s errors."""
    exc = OpenApiError("InvalidParameter", message, status)
    return status, error_body(exc, str(uuid.uuid4()).upper(), host)


def check_request(method: str, params: dict[str, str], known: set[str], version: str) -> Caller:
    """The gateway's checks common to both API versions; returns who called.

    Order: Action present and in ``known`` (``InvalidAction.NotFound`` 404), Version equal to
    ``version`` (``InvalidVersion`` 400), Format JSON, authentication (see
    :func:`aliyun_sandbox.ccc.signature.authenticate`: HMAC or bearer, timestamp, nonce), the
    token's scope (``Forbidden.RAM`` 403), ``InstanceId`` (``MissingParameter`` 400,
    ``NotExists.InstanceId`` 404). Raises :class:`OpenApiError`.
    """
    name = params.get("Action", "")
    if not name:
        raise missing("Action")
    if name not in known:
        raise OpenApiError(
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
            404,
        )
    if not params.get("Version"):
        raise missing("Version")
    if params["Version"] != version:
        raise OpenApiError(
            "InvalidVersion",
            f"Specified parameter Version is not valid (the sandbox serves {VERSION} and "
            "2020-07-01).",
            400,
        )
    if params.get("Format", "JSON").upper() != "JSON":
        raise OpenApiError("InvalidParameter", "The sandbox answers Format=JSON only.", 400)
    caller: Caller = authenticate(method, params)
    scopes = caller.token.scope.split()
    if scopes and CCC_SCOPE not in scopes:
        raise OpenApiError(
            "Forbidden.RAM",
            f"User not authorized to operate on the specified resource: the token lacks "
            f"the {CCC_SCOPE} scope.",
            403,
        )
    if not params.get("InstanceId"):
        raise missing("InstanceId")
    if params["InstanceId"] != settings.ALIYUN_CCC_INSTANCE_ID:
        raise OpenApiError(
            "NotExists.InstanceId",
            f"The specified instance {params['InstanceId']} does not exist.",
            404,
        )
    return caller


def run(
    method: str,
    params: dict[str, str],
    actions: dict[str, Action],
    version: str,
    blank_code: str = "",
):
    """Run the request's action of ``actions`` (API ``version``) and return what its handler
    returns: :func:`check_request`, then the action's mandatory parameters (absent:
    ``MissingParameter`` 400; given but blank: ``blank_code`` 400 when one is given, as 2.x's
    ``Parameter.Blank``), then the handler. Raises :class:`OpenApiError`."""
    caller = check_request(method, params, set(actions), version)
    action = actions[params["Action"]]
    for required in action.required:
        given = params.get(required)
        if given is not None and not given.strip() and blank_code:
            raise OpenApiError(blank_code, f'The parameter "{required}" is blank.', 400)
        if not given:
            raise missing(required)
    return action.handler(Context(user=caller.token.user, params=params))


def handle(method: str, params: dict[str, str], host: str) -> tuple[int, dict]:
    """Answer one 2017-07-05 OpenAPI request: ``(http_status, JSON body)``; never raises.

    ``params`` are the query and form parameters merged; ``host`` goes into ``HostId``.
    """
    request_id = str(uuid.uuid4()).upper()
    try:
        payload = run(method, params, ACTIONS, VERSION)
    except OpenApiError as exc:
        return exc.status, error_body(exc, request_id, host)
    body = {"RequestId": request_id, "Success": True, "Code": "OK", "Message": ""}
    body["HttpStatusCode"] = 200
    body.update(payload)
    return 200, body
