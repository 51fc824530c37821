"""The sandbox's CCC OpenAPI, version 2020-07-01 (CCC 2.x), as the 2.x softphone SDK uses it.

:func:`handle` answers one request to ``/sandbox/ccc/`` whose ``Version`` is 2020-07-01, after
the same gateway checks as 2017-07-05 (:func:`api_2017.run`: signature or bearer
token, timestamp, nonce, scope, instance). Success bodies are the 2.x envelope ``{RequestId,
Code: "OK", HttpStatusCode: 200, Message, Params, Data}``; field names and types follow the
official generated SDK ``alibabacloud-ccc20200701`` (its ``…ResponseBody`` models), the
parameters the action pages of the public ``AlibabaCloudDocs/ccc`` repository (docs/ccc-2x.md).
The generated models give one struct a few more or fewer fields from action to action (e.g.
``Heartbeat`` in some ``UserContext`` models only); the sandbox answers their union.

Call control drives the same telephony as the call simulator and the 1.x agent server
(:mod:`aliyun_sandbox.telephony.simulator`): MakeCall rings the simulator's remote party, a
simulator call rings a READY agent, and so on. Ids: ``UserId`` ``<name>@<InstanceId>``,
``JobId`` ``job-<contact id>`` (also the call's ``ContactId``), skill groups
``<group>@<InstanceId>``, 8-digit extensions. One ``DeviceId`` per agent is active: the one of
its latest SignInGroup; call control from another one is refused (``Permission.Denied``).
"""

import json
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from aliyun_sandbox.ccc import data as ccc_data
from aliyun_sandbox.ccc.api_2017 import (
    Action,
    Context,
    add_device,
    calls_between,
    error_body,
    run,
    turn_servers,
)
from aliyun_sandbox.ccc.signature import OpenApiError, missing
from aliyun_sandbox.models import AgentState, Call, CloudUser
from aliyun_sandbox.telephony import agent_server, simulator

VERSION = "2020-07-01"

# AgentState.status -> 2.x UserState when the agent has no live call. Signed in but not ready
# is BREAK in 2.x (SignInGroup answers UserState BREAK).
_USER_STATES = {
    AgentState.OFFLINE: "OFFLINE",
    AgentState.SIGNED_IN: "BREAK",
    AgentState.READY: "READY",
    AgentState.BREAK: "BREAK",
    AgentState.WORKING: "WORKING",
}
# Call.state -> ChannelState of the agent's channel (names after the channel events Dialing,
# Ringing, Established, Held, Released; unconfirmed, see docs/ccc-2x.md).
_CHANNEL_STATES = {
    Call.QUEUED: "CREATED",
    Call.RINGING: "RINGING",
    Call.TALKING: "ESTABLISHED",
    Call.HELD: "HELD",
    Call.RELEASED: "RELEASED",
}


# --- ids ---------------------------------------------------------------------------------------


def user_id(user: CloudUser) -> str:
    """The agent's 2.x ``UserId``: ``<upn name>@<InstanceId>`` (``edward@ccc-sandbox``)."""
    return f"{user.upn.split('@', 1)[0]}@{settings.ALIYUN_CCC_INSTANCE_ID}"


def extension(user: CloudUser) -> str:
    """The agent's 8-digit 2.x extension (``8000`` + its 1.x extension)."""
    return ("8000" + ccc_data.agent_extension(user))[-8:]


def _group_id(bare: str) -> str:
    return f"{bare}@{settings.ALIYUN_CCC_INSTANCE_ID}"


def _bare_group(group_id: str) -> str:
    suffix = f"@{settings.ALIYUN_CCC_INSTANCE_ID}"
    return group_id[: -len(suffix)] if group_id.endswith(suffix) else group_id


def job_id(call: Call) -> str:
    """The call's ``JobId`` (and 2.x ``ContactId``): ``job-<contact id>``."""
    return f"job-{call.contact_id}"


def _millis(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def _find_user(value: str) -> CloudUser | None:
    """The agent named by a 2.x ``UserId`` (``name@instance``) or an extension."""
    name, _, instance = value.partition("@")
    if instance and instance != settings.ALIYUN_CCC_INSTANCE_ID:
        return None
    for user in CloudUser.objects.all():
        if value in (user_id(user), extension(user)) or (not instance and name == user.upn):
            return user
    return ccc_data.find_agent_by_name(name) if name and not instance else None


def _target(ctx: Context) -> CloudUser:
    """``UserId`` when given (agents may only act as themselves), else the caller."""
    given = ctx.get("UserId")
    if not given or given == user_id(ctx.user):
        return ctx.user
    if _find_user(given) is None:
        raise OpenApiError(
            "NotExists.UserId",
            f"The user {given} does not exist in instance {settings.ALIYUN_CCC_INSTANCE_ID}.",
            404,
        )
    raise OpenApiError("Permission.Denied", "An agent may only act as itself.", 403)


# --- contexts ----------------------------------------------------------------------------------


def user_state(user: CloudUser, state: AgentState, call: Call | None) -> str:
    """The 2.x ``UserState`` (OFFLINE, BREAK, READY, DIALING, RINGING, TALKING, WORKING)."""
    if call is not None and call.state == Call.RINGING:
        return "RINGING" if call.direction == Call.INBOUND else "DIALING"
    if call is not None:
        return "TALKING"
    return _USER_STATES[simulator.effective_status(state)]


def user_context(user: CloudUser, call: Call | None = None) -> dict:
    """``UserContext`` of the agent (the ``…UserContext`` models)."""
    state = simulator.agent_state(user)
    call = call if call is not None and call.is_live else simulator.live_call(user)
    groups = [g for g in state.skill_group_ids.split(",") if g]
    status = user_state(user, state, call)
    return {
        "BreakCode": state.break_code if status == "BREAK" else "",
        "DeviceId": state.device_id,
        "Extension": extension(user),
        "Heartbeat": _millis(state.last_seen) or 0,
        "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
        "JobId": job_id(call) if call else "",
        "Mobile": "",
        "OutboundScenario": False,
        "Reserved": 0,
        "SignedSkillGroupIdList": [_group_id(g) for g in groups],
        "UserId": user_id(user),
        "UserState": status,
        "WorkMode": "ON_SITE",
    }


def call_context(call: Call | None) -> dict | None:
    """``CallContext`` of a call: the agent's channel and the remote party's."""
    if call is None:
        return None
    agent = call.agent
    ext = extension(agent)
    inbound = call.direction == Call.INBOUND
    remote = call.caller if inbound else call.callee
    changed = call.released_at or call.answered_at or call.created_at
    stamp = _millis(changed)
    created = _millis(call.created_at)
    job = job_id(call)
    call_type = "INBOUND" if inbound else "OUTBOUND"
    release = {
        "ReleaseInitiator": {"agent": ext, "remote": remote}.get(call.released_by, ""),
        "ReleaseReason": call.released_by and f"200 - released by {call.released_by}",
    }
    agent_state = _CHANNEL_STATES[call.state]
    if not inbound and call.state == Call.RINGING:
        agent_state = "ESTABLISHED"  # the agent's own leg is up while the callee rings
    remote_state = _CHANNEL_STATES[call.state] if call.state != Call.HELD else "ESTABLISHED"
    common = {"CallType": call_type, "JobId": job, "SkillGroupId": _group_id(call.skill_group_id)}
    agent_channel = {
        **common,
        "ChannelFlags": "MUTED" if call.muted else "",
        "ChannelId": f"ch:user:{remote}->{ext}:{created}:{job}",
        "ChannelState": agent_state,
        "ChannelVariables": "",
        "Destination": ext if inbound else remote,
        "Index": 0,
        "Originator": remote if inbound else ext,
        "Timestamp": stamp,
        "UserExtension": ext,
        "UserId": user_id(agent),
        **release,
    }
    remote_channel = {
        **common,
        "ChannelFlags": "",
        "ChannelId": f"ch:customer:{remote}:{created}:{job}",
        "ChannelState": remote_state,
        "ChannelVariables": "",
        "Destination": ext if inbound else remote,
        "Index": 1,
        "Originator": remote if inbound else call.caller,
        "Timestamp": stamp,
        "UserExtension": "",
        "UserId": "",
        **release,
    }
    return {
        "CallType": call_type,
        "CallVariables": "",
        "ChannelContexts": [agent_channel, remote_channel],
        "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
        "JobId": job,
    }


def _call_data(user: CloudUser, call: Call) -> dict:
    return {
        "CallContext": call_context(call),
        "ContextId": int(call.contact_id) % 10**9,
        "UserContext": user_context(user, call),
    }


def _page(ctx: Context, rows: list) -> dict:
    number = ctx.integer("PageNumber", 1)
    size = ctx.integer("PageSize", 10, high=100)
    return {
        "List": rows[(number - 1) * size : number * size],
        "PageNumber": number,
        "PageSize": size,
        "TotalCount": len(rows),
    }


# --- the agent's own device and state ----------------------------------------------------------


def _device(ctx: Context) -> AgentState:
    """The caller's AgentState after checking ``DeviceId`` is its active device."""
    device = ctx.get("DeviceId")
    if not device:
        raise missing("DeviceId")
    state = simulator.agent_state(ctx.user)
    if state.device_id != device:
        raise OpenApiError(
            "Permission.Denied",
            f"The device {device[:64]} is not the agent's active device: sign in "
            "(SignInGroup) from it first.",
            403,
        )
    simulator.touch(ctx.user)
    return state


def _simulator_error(exc: simulator.SimulatorError) -> OpenApiError:
    if exc.code == "NotExists.Call":
        return OpenApiError("NotExists.JobId", "The call does not exist.", 404)
    return OpenApiError(exc.code, exc.message, 400 if exc.status == 409 else exc.status)


def _call_of(ctx: Context) -> Call:
    """The caller's call named by ``JobId`` (``NotExists.JobId`` 404)."""
    job = ctx.get("JobId")
    contact_id = job[4:] if job.startswith("job-") else ""
    found = Call.objects.filter(contact_id=contact_id, agent=ctx.user).first()
    if not contact_id or found is None:
        raise OpenApiError("NotExists.JobId", f"The call {job[:64]} does not exist.", 404)
    try:
        return simulator.get_call(found.connid, ctx.user)
    except simulator.SimulatorError as exc:
        raise _simulator_error(exc) from None


def _set_status(ctx: Context, status: str, allowed: set[str], **changes) -> dict:
    state = _device(ctx)
    current = simulator.effective_status(state)
    if simulator.live_call(ctx.user) is not None:
        raise OpenApiError("UserBusy", "The agent is on a call.", 400)
    if current not in allowed:
        raise OpenApiError(
            "StateNotAllowed", f"Not possible while the agent is {_USER_STATES[current]}.", 400
        )
    groups = changes.pop("groups", None)
    try:
        state = simulator.set_agent_status(ctx.user, status, groups)
    except simulator.SimulatorError as exc:
        raise _simulator_error(exc) from None
    if changes:
        for name, value in changes.items():
            setattr(state, name, value)
        state.save(update_fields=list(changes))
    return user_context(ctx.user)


# --- handlers ----------------------------------------------------------------------------------


def _login_details(ctx: Context) -> dict:
    user = _target(ctx)
    simulator.touch(user)
    sig = agent_server.issue_signature(user)
    base = settings.SANDBOX_BASE_URL.rstrip("/")
    return {
        "AgentServerUrl": f"{base}/agent/",
        "AvatarUrl": "",
        "DeviceExt": extension(user),
        # A new workbench gets a new device id; it becomes active when it signs in.
        "DeviceId": f"ACC-SANDBOX-{secrets.token_hex(12)}",
        "DeviceState": "OFFLINE",
        "DisplayName": user.display_name,
        "Extension": extension(user),
        "Nickname": user.display_name,
        # The pair that authenticates the workbench to the (sandbox) agent server.
        "Signature": sig["Signature"],
        "SipServerUrl": f"{base.replace('http', 'ws', 1)}/agent/webrtc",
        "UserId": user_id(user),
        "UserKey": sig["SignData"],
        "WorkMode": "ON_SITE",
    }


def _skill_levels(ctx: Context) -> dict:
    user = _target(ctx)
    rows = [
        {
            "MediaType": "TELEPHONE",
            "SkillGroupId": _group_id(level["Skill"]["SkillGroupId"]),
            "SkillGroupName": level["Skill"]["SkillGroupName"],
            "SkillLevel": str(level["Level"]),
        }
        for level in ccc_data.skill_levels(user)
    ]
    return _page(ctx, rows)


def _number_row(number: dict) -> dict:
    return {
        "City": number["City"],
        "Number": number["Number"],
        "Province": number["Province"],
        "Provider": "sandbox",
        "ProviderCode": "sandbox",
        "ProviderDisplayName": "Sandbox",
        "ProviderShortName": "Sandbox",
        "ProviderType": "Sandbox",
    }


def _outbound_numbers(ctx: Context) -> dict:
    return _page(ctx, [_number_row(n) for n in ccc_data.outbound_numbers(_target(ctx))])


def _config_items(ctx: Context) -> list:
    return [
        {
            "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
            "Name": name,
            "ObjectId": ctx.get("ObjectId") or settings.ALIYUN_CCC_INSTANCE_ID,
            "ObjectType": ctx.get("ObjectType") or "INSTANCE",
            "Value": value,
        }
        for name, value in ccc_data.CONFIG_ITEMS.items()
    ]


def _turn_servers(ctx: Context) -> str:
    return json.dumps(turn_servers())


def _privileges(ctx: Context) -> list:
    names = ["ViewOwnCallDetailRecords", "MakeCall", "AnswerCall", "Transfer"]
    return [
        {"InstanceId": settings.ALIYUN_CCC_INSTANCE_ID, "Name": n, "Scope": "SELF"} for n in names
    ]


def _turn_credentials(ctx: Context) -> dict:
    user = _target(ctx)
    expires = int(timezone.now().timestamp()) + agent_server.SIGNATURE_LIFETIME
    return {
        "Password": agent_server.issue_signature(user)["Signature"],
        "UserName": f"{expires}:{user_id(user)}",
    }


def _devices(ctx: Context) -> list:
    user = _target(ctx)
    state = simulator.agent_state(user)
    if not state.device_id or simulator.effective_status(state) == AgentState.OFFLINE:
        return []
    return [
        {
            "CallId": "",
            "Contact": f"sip:{extension(user)}@sandbox",
            "DeviceId": state.device_id,
            "DeviceType": "WEB",
            "Expires": _millis(state.last_seen) or 0,
            "Extension": extension(user),
            "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
            "UserId": user_id(user),
        }
    ]


def _location(number: str) -> dict:
    region = ccc_data.number_region(number)
    return {"City": region["City"], "Number": number, "Province": region["Province"]}


def _pick_numbers(ctx: Context) -> list:
    count = ctx.integer("Count", 1, high=10)
    callee = _location(ctx.get("CalledNumber"))
    numbers = ccc_data.outbound_numbers(ctx.user)
    wanted = ctx.get("SkillGroupIdList")
    if wanted:
        try:
            ids = {_bare_group(g) for g in json.loads(wanted)}
        except (ValueError, TypeError):
            raise OpenApiError(
                "Parameter.Invalid", 'The parameter "SkillGroupIdList" must be a JSON list.', 400
            ) from None
        allowed = {
            n for g in ccc_data.SKILL_GROUPS if g["SkillGroupId"] in ids for n in g["numbers"]
        }
        numbers = [n for n in numbers if n["PhoneNumberId"] in allowed]
    numbers.sort(key=lambda n: not callee["Province"].startswith(n["Province"] or "-"))
    return [
        {"Callee": callee, "Caller": _location(n["Number"]) | {"Number": n["Number"]}}
        for n in numbers[:count]
    ]


def _number_location(ctx: Context) -> dict:
    return _location(ctx.get("Number"))


def _agents(ctx: Context) -> list[tuple[CloudUser, AgentState, Call | None, str]]:
    rows = []
    for user in CloudUser.objects.order_by("upn"):
        state = simulator.agent_state(user)
        call = simulator.live_call(user)
        rows.append((user, state, call, user_state(user, state, call)))
    return rows


def _realtime_states(ctx: Context) -> dict:
    now = timezone.now()
    rows = []
    for user, state, call, status in _agents(ctx):
        since = (call.answered_at or call.created_at) if call else state.changed_at
        groups = [g for g in state.skill_group_ids.split(",") if g]
        names = {g["SkillGroupId"]: g["SkillGroupName"] for g in ccc_data.SKILL_GROUPS}
        rows.append(
            {
                "AgentId": user_id(user),
                "AgentName": user.display_name,
                "BreakCode": state.break_code if status == "BREAK" else "",
                "CallType": ("INBOUND" if call.direction == Call.INBOUND else "OUTBOUND")
                if call
                else "",
                "CounterParty": (call.caller if call.direction == Call.INBOUND else call.callee)
                if call
                else "",
                "Duration": max(0, int((now - since).total_seconds())),
                "Extension": extension(user),
                "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
                "Mobile": "",
                "OutboundScenario": False,
                "SkillGroupIdList": [_group_id(g) for g in groups],
                "SkillGroupNameList": [names.get(g, g) for g in groups],
                "State": status,
                "StateCode": status,
                "StateTime": _millis(since),
                "WorkMode": "ON_SITE",
            }
        )
    wanted = ctx.get("StateList")
    if wanted:
        try:
            states = set(json.loads(wanted))
        except (ValueError, TypeError):
            raise OpenApiError(
                "Parameter.Invalid", 'The parameter "StateList" must be a JSON list.', 400
            ) from None
        rows = [r for r in rows if r["State"] in states]
    return _page(ctx, rows)


def _agent_states(ctx: Context) -> dict:
    now = timezone.now()
    rows = []
    for user, state, call, status in _agents(ctx):
        since = (call.answered_at or call.created_at) if call else state.changed_at
        rows.append(
            {
                "AgentId": user_id(user),
                "AgentName": user.display_name,
                "BreakCode": state.break_code if status == "BREAK" else "",
                "Dn": extension(user),
                "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
                "LoginName": user.upn,
                "OutboundScenario": False,
                "State": status,
                "StateDuration": str(max(0, int((now - since).total_seconds()))),
            }
        )
    if ctx.get("State"):
        rows = [r for r in rows if r["State"] == ctx.get("State")]
    return _page(ctx, rows)


def _reset_state(ctx: Context) -> dict:
    user = _target(ctx)
    if simulator.live_call(user) is not None:
        raise OpenApiError("UserBusy", "The agent is on a call.", 400)
    simulator.set_agent_status(user, AgentState.OFFLINE)
    return user_context(user)


def _disposition(call: Call) -> str:
    if call.answered_at:
        return "Success"
    return "NoAnswer" if call.direction == Call.INBOUND else "NotConnected"


def _cdr_row(call: Call) -> dict:
    return {
        "AgentIds": user_id(call.agent),
        "CallDuration": str(call.duration),
        "CalledNumber": call.callee,
        "CallingNumber": call.caller,
        "ContactDisposition": _disposition(call),
        "ContactId": job_id(call),
        "ContactType": "INBOUND" if call.direction == Call.INBOUND else "OUTBOUND",
        "Duration": call.duration,
        "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
        "SkillGroupIds": _group_id(call.skill_group_id) if call.skill_group_id else "",
        "StartTime": _millis(call.created_at),
    }


def _recent_calls(ctx: Context) -> dict:
    calls = simulator.as_seen(list(calls_between(ctx, "EndTime")[:1000]))
    return _page(ctx, [_cdr_row(c) for c in calls])


def _call_detail(ctx: Context) -> dict:
    contact = ctx.get("ContactId")
    contact_id = contact[4:] if contact.startswith("job-") else contact
    call = Call.objects.filter(contact_id=contact_id, agent=ctx.user).first()
    if call is None:
        raise OpenApiError(
            "NotExists.ContactId", f"The contact {contact[:64]} does not exist.", 404
        )
    events = [("Ringing" if call.direction == Call.INBOUND else "Dialing", call.created_at)]
    if call.answered_at:
        events.append(("Established", call.answered_at))
    if call.released_at:
        events.append(("Released", call.released_at))
    row = {k: v for k, v in _cdr_row(call).items() if k != "Duration"}
    return row | {
        "AgentEvents": [
            {
                "AgentId": user_id(call.agent),
                "AgentName": call.agent.display_name,
                "EventSequence": [
                    {"Duration": 0, "Event": name, "EventTime": _millis(when)}
                    for name, when in events
                ],
                "SkillGroupId": _group_id(call.skill_group_id) if call.skill_group_id else "",
            }
        ],
        "AgentNames": call.agent.display_name,
        "CallDuration": call.duration,
        "EstablishedTime": _millis(call.answered_at),
        "RecordingReady": False,
        "ReleaseInitiator": call.released_by,
        "ReleaseReason": call.released_by and f"released by {call.released_by}",
        "ReleaseTime": _millis(call.released_at),
        "SkillGroupNames": next(
            (
                g["SkillGroupName"]
                for g in ccc_data.SKILL_GROUPS
                if g["SkillGroupId"] == call.skill_group_id
            ),
            "",
        ),
    }


def _skill_groups(ctx: Context) -> dict:
    raise OpenApiError(
        "Permission.Denied", "Only administrators list the instance's skill groups.", 403
    )


def _brief_skill_groups(ctx: Context) -> dict:
    rows = [
        {
            "Description": g["SkillGroupDescription"],
            "DisplayName": g["SkillGroupName"],
            "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
            "MediaType": "TELEPHONE",
            "PhoneNumberCount": len(g["numbers"]),
            "SkillGroupId": _group_id(g["SkillGroupId"]),
            "SkillGroupName": g["SkillGroupName"],
            "UserCount": CloudUser.objects.count(),
        }
        for g in ccc_data.SKILL_GROUPS
    ]
    return _page(ctx, rows)


def _agent_report(ctx: Context) -> dict:
    user = ctx.user
    calls = list(Call.objects.filter(agent=user, state=Call.RELEASED))
    inbound = [c for c in calls if c.direction == Call.INBOUND]
    outbound = [c for c in calls if c.direction == Call.OUTBOUND]
    talk = sum(c.duration for c in calls)
    row = {
        "AgentId": user_id(user),
        "AgentName": user.display_name,
        "DisplayId": extension(user),
        "Inbound": {
            "CallsHandled": sum(1 for c in inbound if c.answered_at),
            "CallsOffered": len(inbound),
            "TotalTalkTime": sum(c.duration for c in inbound),
        },
        "Outbound": {
            "CallsAnswered": sum(1 for c in outbound if c.answered_at),
            "CallsDialed": len(outbound),
            "TotalTalkTime": sum(c.duration for c in outbound),
        },
        "Overall": {"TotalCalls": len(calls), "TotalTalkTime": talk},
        "SkillGroupIds": "",
        "SkillGroupNames": "",
    }
    return _page(ctx, [row])


def _save_log(ctx: Context) -> None:
    return None  # accepted and dropped: the sandbox has nobody to read softphone logs


def _sign_in(ctx: Context) -> dict:
    device = ctx.get("DeviceId")
    known = [g["SkillGroupId"] for g in ccc_data.SKILL_GROUPS]
    raw = ctx.get("SignedSkillGroupIdList")
    if raw:
        try:
            wanted = json.loads(raw)
            if not isinstance(wanted, list) or not all(isinstance(g, str) for g in wanted):
                raise ValueError
        except ValueError:
            raise OpenApiError(
                "Parameter.Invalid",
                'The parameter "SignedSkillGroupIdList" must be a JSON list of skill group ids.',
                400,
            ) from None
        groups = [_bare_group(g) for g in wanted]
        unknown = [g for g in groups if g not in known]
        if unknown:
            raise OpenApiError(
                "NotExists.SkillGroupId", f"The skill group {unknown[0][:64]} does not exist.", 404
            )
    else:
        groups = known
    state = simulator.agent_state(ctx.user)
    # Signing in from this device makes it the active one (a workbench reloaded mid-call takes
    # its call over; the old device is refused from now on); a READY/BREAK agent stays so.
    keep = simulator.effective_status(state)
    status = keep if keep in (AgentState.READY, AgentState.BREAK) else AgentState.SIGNED_IN
    state = simulator.set_agent_status(ctx.user, status, groups)
    state.device_id = device
    state.save(update_fields=["device_id"])
    context = user_context(ctx.user)
    return {k: v for k, v in context.items() if k not in ("Heartbeat", "Mobile", "Reserved")}


def _sign_out(ctx: Context) -> dict:
    return _set_status(
        ctx,
        AgentState.OFFLINE,
        {AgentState.SIGNED_IN, AgentState.READY, AgentState.BREAK, AgentState.WORKING},
    )


def _take_break(ctx: Context) -> dict:
    return _set_status(
        ctx,
        AgentState.BREAK,
        {AgentState.SIGNED_IN, AgentState.READY, AgentState.BREAK, AgentState.WORKING},
        break_code=(ctx.get("Code") or "Warm-up")[:64],
    )


def _ready(ctx: Context) -> dict:
    return _set_status(
        ctx,
        AgentState.READY,
        {AgentState.SIGNED_IN, AgentState.READY, AgentState.BREAK, AgentState.WORKING},
        break_code="",
    )


def _make_call(ctx: Context) -> dict:
    _device(ctx)
    _target(ctx)
    caller = ctx.get("Caller")
    if caller in ("", "auto"):
        picked = _pick_numbers(Context(user=ctx.user, params={"CalledNumber": ctx.get("Callee")}))
        caller = picked[0]["Caller"]["Number"] if picked else ""
    try:
        call = simulator.place_outbound(ctx.user, ctx.get("Callee"), caller)
    except simulator.SimulatorError as exc:
        raise _simulator_error(exc) from None
    return _call_data(ctx.user, call)


def _call_command(command: Callable[[Call], Call]) -> Callable[[Context], dict]:
    def handler(ctx: Context) -> dict:
        _device(ctx)
        _target(ctx)
        call = _call_of(ctx)
        try:
            call = command(call)
        except simulator.SimulatorError as exc:
            raise _simulator_error(exc) from None
        return _call_data(ctx.user, call)

    return handler


def _blind_transfer(ctx: Context) -> dict:
    _device(ctx)
    call = _call_of(ctx)
    target = _find_user(ctx.get("Transferee"))
    if target is None:
        raise OpenApiError(
            "NotExists.UserId", f"The user {ctx.get('Transferee')[:64]} does not exist.", 404
        )
    try:
        simulator.blind_transfer(call, target)
    except simulator.SimulatorError as exc:
        raise _simulator_error(exc) from None
    call.refresh_from_db()
    return _call_data(ctx.user, call)


def _attended_transfer(ctx: Context) -> dict:
    _device(ctx)
    _call_of(ctx)
    raise OpenApiError(
        "NotSupported.AttendedTransfer",
        "The sandbox simulates blind transfers only (BlindTransfer).",
        400,
    )


def _monitor(ctx: Context) -> dict:
    _device(ctx)
    raise OpenApiError("Permission.Denied", "Only supervisors monitor calls.", 403)


def _talking(call: Call) -> Call:
    if call.state not in (Call.TALKING, Call.HELD):
        raise simulator.SimulatorError(
            "CallStateError", f"The call is {call.state.lower()}; cannot do that now."
        )
    return call


def _survey(call: Call) -> Call:
    # The customer is handed to the satisfaction survey; the agent's leg ends.
    return simulator.hang_up(_talking(call), by="agent")


def _poll(ctx: Context) -> dict:
    user = _target(ctx)
    state = simulator.agent_state(user)
    device = ctx.get("DeviceId")
    if device and state.device_id == device:
        simulator.touch(user)
    call = simulator.live_call(user)
    return {
        "CallContext": call_context(call),
        "ChatContexts": [],
        "ContextId": int(call.contact_id) % 10**9 if call else 0,
        "UserContext": user_context(user, call),
    }


_ON_CALL = ("DeviceId", "JobId")

ACTIONS: dict[str, Action] = {
    "GetLoginDetails": Action(_login_details),
    "ListSkillLevelsOfUser": Action(_skill_levels),
    "ListOutboundNumbersOfUser": Action(_outbound_numbers),
    "ListConfigItems": Action(_config_items),
    "GetTurnServerList": Action(_turn_servers),
    "ListPrivilegesOfUser": Action(_privileges),
    "GetTurnCredentials": Action(_turn_credentials),
    "ListDevices": Action(_devices),
    "AddAgentDevice": Action(add_device, ("ClientIp",)),
    "PickOutboundNumbers": Action(_pick_numbers, ("CalledNumber",)),
    "GetNumberLocation": Action(_number_location, ("Number",)),
    "ListRealtimeAgentStates": Action(_realtime_states),
    "ListAgentStates": Action(_agent_states),
    "ResetAgentState": Action(_reset_state),
    "ListRecentCallDetailRecords": Action(_recent_calls),
    "ListSkillGroups": Action(_skill_groups),
    "ListBriefSkillGroups": Action(_brief_skill_groups),
    "ListHistoricalAgentReport": Action(_agent_report),
    "SaveTerminalLog": Action(_save_log),
    "SignInGroup": Action(_sign_in, ("DeviceId",)),
    "SignOutGroup": Action(_sign_out, ("DeviceId",)),
    "TakeBreak": Action(_take_break, ("DeviceId",)),
    "ReadyForService": Action(_ready, ("DeviceId",)),
    "MakeCall": Action(_make_call, ("DeviceId", "Callee")),
    "AnswerCall": Action(_call_command(lambda c: simulator.answer(c, by="agent")), _ON_CALL),
    "ReleaseCall": Action(_call_command(lambda c: simulator.hang_up(c, by="agent")), _ON_CALL),
    "HoldCall": Action(_call_command(simulator.hold), _ON_CALL),
    "RetrieveCall": Action(_call_command(simulator.retrieve), _ON_CALL),
    "BlindTransfer": Action(_blind_transfer, (*_ON_CALL, "Transferee")),
    "InitiateAttendedTransfer": Action(_attended_transfer, (*_ON_CALL, "Transferee")),
    "CompleteAttendedTransfer": Action(_attended_transfer, _ON_CALL),
    "CancelAttendedTransfer": Action(_attended_transfer, _ON_CALL),
    "SendDtmfSignaling": Action(_call_command(_talking), (*_ON_CALL, "Dtmf")),
    "MonitorCall": Action(_monitor, ("DeviceId", "MonitoredUserId")),
    "MuteCall": Action(_call_command(lambda c: simulator.set_muted(c, True)), _ON_CALL),
    "UnmuteCall": Action(_call_command(lambda c: simulator.set_muted(c, False)), _ON_CALL),
    "LaunchSurvey": Action(_call_command(_survey), _ON_CALL),
    "PollUserStatus": Action(_poll),
    "GetCallDetailRecord": Action(_call_detail, ("ContactId",)),
}


# Answers whose model has no ``Params`` (the read-only business actions).
_NO_PARAMS = frozenset(
    {
        "ListSkillLevelsOfUser",
        "ListOutboundNumbersOfUser",
        "ListPrivilegesOfUser",
        "PickOutboundNumbers",
        "GetNumberLocation",
        "ListRealtimeAgentStates",
        "ListAgentStates",
        "ListRecentCallDetailRecords",
        "ListSkillGroups",
        "ListBriefSkillGroups",
        "ListHistoricalAgentReport",
        "SaveTerminalLog",
        "GetCallDetailRecord",
    }
)


def error_body_2x(exc: OpenApiError, request_id: str, host: str) -> dict:
    """The error envelope of 2020-07-01: the gateway's plus ``HttpStatusCode`` and ``Params``."""
    return error_body(exc, request_id, host) | {"HttpStatusCode": exc.status, "Params": []}


def handle(method: str, params: dict[str, str], host: str) -> tuple[int, dict]:
    """Answer one 2020-07-01 OpenAPI request: ``(http_status, JSON body)``; never raises.

    Checks: :func:`api_2017.run` (gateway checks, mandatory parameters: ``MissingParameter``,
    ``Parameter.Blank``), then the action's
    own (``Permission.Denied``, ``NotExists.JobId``, ``UserBusy``, ``StateNotAllowed`` …; no
    state changes on an error).
    """
    request_id = str(uuid.uuid4()).upper()
    try:
        data = run(method, params, ACTIONS, VERSION, blank_code="Parameter.Blank")
    except OpenApiError as exc:
        return exc.status, error_body_2x(exc, request_id, host)
    body = {"RequestId": request_id, "Code": "OK", "HttpStatusCode": 200, "Message": ""}
    if params["Action"] not in _NO_PARAMS:
        body["Params"] = []
    if data is not None:
        body["Data"] = data
    return 200, body
