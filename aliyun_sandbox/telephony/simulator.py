"""The sandbox's telephony: calls between a simulated remote party and an agent's softphone.

A :class:`~aliyun_sandbox.models.Call` moves RINGING -> TALKING (<-> HELD) -> RELEASED. Inbound
calls are rung by the simulator (page or ``manage.py sandbox_call``) and ring the agent's
softphone; one rung while the agent is busy waits QUEUED (as CCC queues calls in the skill
group) and rings, oldest first, once the agent is free and READY;
outbound calls are placed by the softphone and ring the simulated remote party, who
answers ``settings.SANDBOX_ANSWER_DELAY`` seconds later or by hand on the simulator page.
Likewise an agent whose softphone stopped polling ``settings.SANDBOX_AGENT_TIMEOUT`` seconds ago
is gone: its calls are released (``released_by`` "timeout") and it goes OFFLINE, as CCC's agent
server drops an agent whose SIP registration lapsed. Both are applied lazily, so no background
worker is needed: written by the next request that writes anyway (a softphone poll or command,
a ring) or by ``manage.py sandbox_cleanup``; reads (the simulator's lists, call detail records)
only show them, never write.
Every transition locks the call row, so an agent's hang-up and the remote
party's answer cannot both win. All times are UTC.
"""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aliyun_sandbox.ccc import data as ccc_data
from aliyun_sandbox.models import AgentState, Call, CloudUser
from aliyun_sandbox.router import SANDBOX_DB

# The caller number the softphone gets for a withheld ANI.
ANONYMOUS = "anonymous"
# Phone numbers as dialled: optional +, then 3-20 digits (spaces and dashes dropped).
_NUMBER = re.compile(r"^\+?\d{3,20}$")


class SimulatorError(Exception):
    """A call operation that cannot happen now. ``code`` is CCC-like (``UserBusy``,
    ``AgentNotReady``, ``CallStateError``, ``Parameter.Invalid``, ``NotExists.Call``);
    ``status`` the HTTP status to answer with."""

    def __init__(self, code: str, message: str, status: int = 409):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def clean_number(value: str, field: str) -> str:
    """Return ``value`` without spaces/dashes, or raise ``Parameter.Invalid`` (400)."""
    number = re.sub(r"[\s\-()]", "", value or "")
    if not _NUMBER.match(number):
        raise SimulatorError(
            "Parameter.Invalid",
            _("%(field)s must be a phone number (digits, optional +).") % {"field": field},
            400,
        )
    return number


def agent_state(user: CloudUser) -> AgentState:
    """The user's AgentState (an unsaved OFFLINE one when the softphone never connected)."""
    return AgentState.objects.filter(user=user).first() or AgentState(user=user)


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.SANDBOX_AGENT_TIMEOUT)


def effective_status(state: AgentState) -> str:
    """The agent's status, OFFLINE when the softphone stopped polling
    ``settings.SANDBOX_AGENT_TIMEOUT`` seconds ago."""
    stale = _stale_before()
    if state.status != AgentState.OFFLINE and (not state.last_seen or state.last_seen < stale):
        return AgentState.OFFLINE
    return state.status


def release_gone_agents() -> int:
    """Release every live call of agents whose softphone stopped polling
    ``settings.SANDBOX_AGENT_TIMEOUT`` seconds ago and set those agents OFFLINE.

    The remote party hears the hang-up (``released_by`` "timeout"); the calls show released
    in the simulator and in call detail records. Called whenever calls are read, so no worker
    process is needed. Returns the number of calls released.
    """
    stale = Q(last_seen__isnull=True) | Q(last_seen__lt=_stale_before())
    released = 0
    gone = AgentState.objects.exclude(status=AgentState.OFFLINE).filter(stale)
    for pk in gone.values_list("pk", flat=True):
        with transaction.atomic(using=SANDBOX_DB):
            state = AgentState.objects.select_for_update().filter(stale, pk=pk).first()
            if state is None or state.status == AgentState.OFFLINE:
                continue  # polled again meanwhile, or another request got here first
            now = timezone.now()
            released += (
                Call.objects.filter(agent_id=state.user_id)
                .exclude(state=Call.RELEASED)
                .update(state=Call.RELEASED, released_by="timeout", released_at=now)
            )
            state.status, state.skill_group_ids, state.changed_at = AgentState.OFFLINE, "", now
            state.save(update_fields=["status", "skill_group_ids", "changed_at"])
    return released


def _advance(call: Call) -> Call:
    """Let the remote party pick up an outbound call whose ``answer_at`` has passed."""
    now = timezone.now()
    if call.state == Call.RINGING and call.answer_at and call.answer_at <= now:
        with transaction.atomic(using=SANDBOX_DB):
            locked = Call.objects.select_for_update().get(pk=call.pk)
            if locked.state == Call.RINGING and locked.answer_at and locked.answer_at <= now:
                locked.state = Call.TALKING
                locked.answered_at = locked.answer_at
                locked.save(update_fields=["state", "answered_at"])
            return locked
    return call


def live_call(user: CloudUser) -> Call | None:
    """The agent's current (ringing, talking or held) call, or None. A free, READY agent
    with calls queued gets the oldest one rung (it is returned RINGING)."""
    release_gone_agents()
    call = Call.objects.filter(agent=user).exclude(state__in=_WAITING_OR_DONE).first()
    if call is None:
        call = _ring_next_queued(user)
    return _advance(call) if call else None


_WAITING_OR_DONE = (Call.QUEUED, Call.RELEASED)


def _ring_next_queued(user: CloudUser) -> Call | None:
    if not Call.objects.filter(agent=user, state=Call.QUEUED).exists():
        return None
    with transaction.atomic(using=SANDBOX_DB):  # the AgentState lock serialises ringing this agent
        state = AgentState.objects.select_for_update().filter(user=user).first()
        if state is None or effective_status(state) != AgentState.READY:
            return None
        calls = Call.objects.filter(agent=user)
        if calls.exclude(state__in=_WAITING_OR_DONE).exists():
            return None
        queued = calls.filter(state=Call.QUEUED).order_by("created_at", "id").first()
        if queued is not None:
            queued.state = Call.RINGING
            queued.save(update_fields=["state"])
        return queued


def get_call(connid: str, user: CloudUser | None = None) -> Call:
    """The call ``connid`` (of ``user`` when given); ``NotExists.Call`` (404) otherwise."""
    release_gone_agents()
    qs = Call.objects.filter(connid=connid)
    if user is not None:
        qs = qs.filter(agent=user)
    call = qs.first()
    if call is None:
        raise SimulatorError("NotExists.Call", _("No such call."), 404)
    return _advance(call)


def as_seen(calls: list[Call]) -> list[Call]:
    """``calls`` as they are now, without writing: a live call of a gone agent shows released
    by "timeout", an outbound call past its ``answer_at`` shows talking. The rows change in
    memory only; the next writing request (or ``sandbox_cleanup``) stores the same outcome."""
    live = [c for c in calls if c.is_live]
    if not live:
        return calls
    now = timezone.now()
    stale = Q(last_seen__isnull=True) | Q(last_seen__lt=_stale_before())
    gone = set(
        AgentState.objects.exclude(status=AgentState.OFFLINE)
        .filter(stale, user_id__in={c.agent_id for c in live})
        .values_list("user_id", flat=True)
    )
    for call in live:
        if call.agent_id in gone:
            call.state, call.released_by, call.released_at = Call.RELEASED, "timeout", now
        elif call.state == Call.RINGING and call.answer_at and call.answer_at <= now:
            call.state, call.answered_at = Call.TALKING, call.answer_at
    return calls


def recent_calls(limit: int = 50, user: CloudUser | None = None) -> list[Call]:
    """The newest calls first, as they are now (:func:`as_seen`), optionally only ``user``'s.
    Reads only."""
    qs = Call.objects.select_related("agent")
    if user is not None:
        qs = qs.filter(agent=user)
    return as_seen(list(qs[:limit]))


def _new_ids() -> tuple[str, str]:
    return secrets.token_hex(8), str(10**15 + secrets.randbelow(9 * 10**15))


def _ensure_free(user: CloudUser) -> None:
    if live_call(user) is not None:
        raise SimulatorError("UserBusy", _("The agent is already on a call."), 409)


def ring_agent(
    user: CloudUser, caller: str, skill_group_id: str = "", withheld: bool = False
) -> Call:
    """Ring ``user``'s softphone from ``caller`` (the ANI); return the inbound call, RINGING,
    or QUEUED when the agent already has a call (it rings once the agent is free).

    ``withheld`` (or ``caller`` "anonymous") rings from a withheld number: the softphone gets
    the caller "anonymous", as CCC reports a caller without ANI. The callee is the instance's
    first number (the hotline dialled). Raises :class:`SimulatorError` ``AgentNotReady`` when
    the agent's softphone is not READY or not polling, ``Parameter.Invalid`` for a bad number.
    """
    if withheld or (caller or "").strip().lower() == ANONYMOUS:
        caller = ANONYMOUS
    else:
        caller = clean_number(caller, "caller")
    with transaction.atomic(using=SANDBOX_DB):
        state = AgentState.objects.select_for_update().get_or_create(user=user)[0]
        if effective_status(state) != AgentState.READY:
            raise SimulatorError(
                "AgentNotReady",
                _(
                    "%(agent)s is not ready (status %(status)s): open the softphone, sign in "
                    "to a skill group and click Ready."
                )
                % {"agent": user.upn, "status": effective_status(state)},
            )
        busy = Call.objects.filter(agent=user).exclude(state=Call.RELEASED).exists()
        groups = [g for g in state.skill_group_ids.split(",") if g]
        connid, contact_id = _new_ids()
        return Call.objects.create(
            state=Call.QUEUED if busy else Call.RINGING,
            connid=connid,
            contact_id=contact_id,
            agent=user,
            direction=Call.INBOUND,
            caller=caller,
            callee=ccc_data.PHONE_NUMBERS[0]["Number"],
            skill_group_id=skill_group_id or (groups[0] if groups else ""),
        )


def place_outbound(user: CloudUser, callee: str, caller: str = "") -> Call:
    """Place an outbound call from ``user``'s softphone to ``callee``; it rings the simulated
    remote party, who answers after ``settings.SANDBOX_ANSWER_DELAY`` seconds.

    ``caller`` must be one of the agent's outbound numbers (default: the first). Raises
    :class:`SimulatorError` (``AgentNotReady`` unless signed in, ``UserBusy``,
    ``Parameter.Invalid``).
    """
    callee = clean_number(callee, "callee")
    allowed = [n["Number"] for n in ccc_data.outbound_numbers(user)]
    caller = caller or allowed[0]
    if caller not in allowed:
        raise SimulatorError(
            "Parameter.Invalid",
            _("caller must be one of your outbound numbers %(numbers)s.") % {"numbers": allowed},
            400,
        )
    with transaction.atomic(using=SANDBOX_DB):
        state = AgentState.objects.select_for_update().get_or_create(user=user)[0]
        if effective_status(state) == AgentState.OFFLINE:
            raise SimulatorError("AgentNotReady", _("Sign in before calling out."))
        _ensure_free(user)
        connid, contact_id = _new_ids()
        delay = settings.SANDBOX_ANSWER_DELAY
        now = timezone.now()
        return Call.objects.create(
            connid=connid,
            contact_id=contact_id,
            agent=user,
            direction=Call.OUTBOUND,
            caller=caller,
            callee=callee,
            created_at=now,
            answer_at=now + timedelta(seconds=delay) if delay >= 0 else None,
        )


def _transition(call: Call, allowed: set[str], **changes) -> Call:
    with transaction.atomic(using=SANDBOX_DB):
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.state not in allowed:
            raise SimulatorError(
                "CallStateError",
                _("The call is %(state)s; cannot do that now.") % {"state": locked.state.lower()},
            )
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.save(update_fields=list(changes))
        return locked


def answer(call: Call, by: str) -> Call:
    """Answer a RINGING call: ``by`` is ``"agent"`` (inbound) or ``"remote"`` (outbound)."""
    expected = Call.INBOUND if by == "agent" else Call.OUTBOUND
    if call.direction != expected:
        raise SimulatorError(
            "CallStateError", _("The %(side)s side does not answer this call.") % {"side": by}
        )
    return _transition(call, {Call.RINGING}, state=Call.TALKING, answered_at=timezone.now())


def hang_up(call: Call, by: str) -> Call:
    """Release a live call; ``by`` is ``"agent"``, ``"remote"`` (who may also give up a QUEUED
    call) or ``"transfer"`` (the agent's leg after a blind transfer).

    A 2.x agent (one signed in with a ``DeviceId``) whose answered call ends goes WORKING
    (after-call work) until ReadyForService, as CCC 2.x does; a 1.x softphone keeps its status.
    """
    allowed = {Call.RINGING, Call.TALKING, Call.HELD}
    with transaction.atomic(using=SANDBOX_DB):
        released = _transition(
            call,
            allowed | {Call.QUEUED} if by == "remote" else allowed,
            state=Call.RELEASED,
            released_by=by,
            released_at=timezone.now(),
        )
        if released.answered_at:
            AgentState.objects.filter(user_id=released.agent_id).exclude(device_id="").exclude(
                status=AgentState.OFFLINE
            ).update(status=AgentState.WORKING, changed_at=timezone.now())
    return released


def blind_transfer(call: Call, target: CloudUser) -> Call:
    """Hand the remote party of the agent's TALKING or HELD ``call`` to agent ``target``: a new
    inbound call rings ``target`` (or waits QUEUED while it is busy) from the remote party's
    number, and the agent's leg is released (``released_by`` "transfer"). Returns the new call.
    Raises :class:`SimulatorError` (``AgentNotReady`` when ``target`` is not READY,
    ``CallStateError``, ``Parameter.Invalid`` for a transfer to oneself)."""
    if target.pk == call.agent_id:
        raise SimulatorError(
            "Parameter.Invalid", _("A call cannot be transferred to its agent."), 400
        )
    if call.state not in (Call.TALKING, Call.HELD):
        raise SimulatorError(
            "CallStateError",
            _("The call is %(state)s; cannot do that now.") % {"state": call.state.lower()},
        )
    remote = call.caller if call.direction == Call.INBOUND else call.callee
    with transaction.atomic(using=SANDBOX_DB):
        new_call = ring_agent(target, remote, call.skill_group_id)
        hang_up(call, by="transfer")
    return new_call


def set_muted(call: Call, muted: bool) -> Call:
    """Mute or unmute the agent's microphone on a TALKING or HELD call (2.x MuteCall)."""
    return _transition(call, {Call.TALKING, Call.HELD}, muted=muted)


def hold(call: Call) -> Call:
    """Put a TALKING call on hold (the agent's callHold)."""
    return _transition(call, {Call.TALKING}, state=Call.HELD)


def retrieve(call: Call) -> Call:
    """Take a HELD call back (the agent's callRetrieve)."""
    return _transition(call, {Call.HELD}, state=Call.TALKING)


def set_agent_status(user: CloudUser, status: str, skill_group_ids: list[str] | None = None):
    """Set the agent's softphone status (AgentState names); signing out releases
    the calls queued for the agent.

    ``skill_group_ids`` (when given) must be groups of the instance. Returns the AgentState.
    Raises ``Parameter.Invalid`` (400) for an unknown status or group.
    """
    if status not in dict(AgentState.STATUS_CHOICES):
        raise SimulatorError("Parameter.Invalid", f"Unknown status {status!r}.", 400)
    known = {g["SkillGroupId"] for g in ccc_data.SKILL_GROUPS}
    if skill_group_ids is not None and not set(skill_group_ids) <= known:
        raise SimulatorError("Parameter.Invalid", "Unknown skill group.", 400)
    # A softphone back after the timeout signs in afresh: its calls stay released, not revived.
    release_gone_agents()
    with transaction.atomic(using=SANDBOX_DB):
        state = AgentState.objects.select_for_update().get_or_create(user=user)[0]
        state.status = status
        state.changed_at = state.last_seen = timezone.now()
        if skill_group_ids is not None:
            state.skill_group_ids = ",".join(skill_group_ids)
        if status == AgentState.OFFLINE:
            state.skill_group_ids = ""
            # Nobody will answer the calls waiting for this agent: their callers hear a hang-up.
            Call.objects.filter(agent=user, state=Call.QUEUED).update(
                state=Call.RELEASED, released_by="signout", released_at=timezone.now()
            )
        state.save()
    return state


def touch(user: CloudUser) -> AgentState:
    """Record that the agent's softphone is alive (it polled); returns the AgentState.

    A softphone back after ``settings.SANDBOX_AGENT_TIMEOUT`` finds its calls released (and
    itself OFFLINE) first: being seen again must not revive a call the others saw end."""
    release_gone_agents()
    now = timezone.now()
    if AgentState.objects.filter(user=user).update(last_seen=now):
        return AgentState.objects.get(user=user)
    return AgentState.objects.get_or_create(user=user, defaults={"last_seen": now})[0]


def remote_party(connid: str, what: str) -> Call:
    """The simulated remote party of call ``connid`` answers (``what`` = ``"answer"``, outbound
    calls only) or hangs up (``"hangup"``). Raises :class:`SimulatorError`."""
    call = get_call(connid)
    if what == "answer":
        return answer(call, by="remote")
    return hang_up(call, by="remote")


def call_json(call: Call | None) -> dict | None:
    """The JSON shape of a call for the softphone and the simulator page (times ISO 8601 UTC)."""
    if call is None:
        return None

    def iso(value):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    return {
        "connid": call.connid,
        "contactId": call.contact_id,
        "agent": call.agent.upn,
        "direction": call.direction.lower(),
        "caller": call.caller,
        "callee": call.callee,
        "skillGroupId": call.skill_group_id,
        "state": call.state.lower(),
        "releasedBy": call.released_by,
        "muted": call.muted,
        "createdAt": iso(call.created_at),
        "answerAt": iso(call.answer_at),
        "answeredAt": iso(call.answered_at),
        "releasedAt": iso(call.released_at),
        "duration": call.duration,
    }
