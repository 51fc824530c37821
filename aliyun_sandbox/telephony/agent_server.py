"""The sandbox's agent server: what the softphone talks to for call control and call events.

Alibaba's 1.x softphone gets ``LoginInfo.Signature``/``SignData`` from ``RequestLoginInfo``
(and fresh ones from ``RefreshToken``) and presents them to its agent/SIP server. The sandbox
issues them here: ``SignData`` is base64url JSON ``{"uid": <CCC UserId>, "iid": <InstanceId>,
"exp": <epoch seconds, UTC>}`` and ``Signature`` the hex HMAC-SHA256 of ``SignData`` under a
key derived from ``SECRET_KEY``. The stand-in SDK sends both with every agent-server request;
no cookie is involved (so the CRM, another site, can call it with CORS and no credentials).
"""

import base64
import hashlib
import hmac
import json
import time

from django.conf import settings

from aliyun_sandbox.ccc import data as ccc_data
from aliyun_sandbox.models import CloudUser
from aliyun_sandbox.telephony import simulator

# Lifetime of a LoginInfo/RefreshToken signature, seconds.
SIGNATURE_LIFETIME = 3600


class AgentAuthError(Exception):
    """Bad or expired agent-server credentials (``code`` InvalidSignature/SignatureExpired,
    HTTP 401)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"sandbox agent server", hashlib.sha256).digest()


def _mac(sign_data: str) -> str:
    return hmac.new(_key(), sign_data.encode(), hashlib.sha256).hexdigest()


def issue_signature(user: CloudUser, now: float | None = None) -> dict:
    """Return ``{"Signature", "SignData"}`` for ``user``, valid ``SIGNATURE_LIFETIME`` s."""
    payload = {
        "uid": ccc_data.agent_user_id(user),
        "iid": settings.ALIYUN_CCC_INSTANCE_ID,
        "exp": int((now or time.time()) + SIGNATURE_LIFETIME),
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    sign_data = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"Signature": _mac(sign_data), "SignData": sign_data}


def authenticate(sign_data: str, signature: str, now: float | None = None) -> CloudUser:
    """Return the agent a ``SignData``/``Signature`` pair was issued to.

    Raises :class:`AgentAuthError` (``InvalidSignature`` for a forged, malformed or foreign
    pair, ``SignatureExpired`` once ``exp`` has passed).
    """
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
    try:
        valid = hmac.compare_digest(_mac(sign_data).encode(), signature.encode())
    except UnicodeError:  # lone surrogates: not text a softphone sends
        valid = False
    if not sign_data or not signature or not valid:
        raise AgentAuthError("InvalidSignature", "The agent signature is not valid.")
    try:
        payload = json.loads(base64.urlsafe_b64decode(sign_data + "=" * (-len(sign_data) % 4)))
        uid, iid, exp = payload["uid"], payload["iid"], int(payload["exp"])
    except (ValueError, KeyError, TypeError):
        raise AgentAuthError("InvalidSignature", "The agent signature is malformed.") from None
    if iid != settings.ALIYUN_CCC_INSTANCE_ID:
        raise AgentAuthError("InvalidSignature", "The signature is for another instance.")
    if exp <= (now or time.time()):
        raise AgentAuthError("SignatureExpired", "The agent signature has expired.")
    user = ccc_data.find_agent(uid)
    if user is None:
        raise AgentAuthError("InvalidSignature", "The agent no longer exists.")
    return user


def poll(user: CloudUser, connid: str = "") -> dict:
    """The softphone's poll: ``{"status", "call"}``. ``call`` is the call ``connid`` the
    softphone is tracking (so it sees that call's release), else the agent's live call.

    A softphone back after ``settings.SANDBOX_AGENT_TIMEOUT`` finds its calls released and
    itself OFFLINE; within the window it resumes where it was."""
    from aliyun_sandbox.cleanup import clean_up_now_and_then  # cleanup imports the telephony

    clean_up_now_and_then()
    simulator.release_gone_agents()
    simulator.touch(user)
    call = None
    if connid:
        try:
            call = simulator.get_call(connid, user)
        except simulator.SimulatorError:
            call = None
    if call is None:
        call = simulator.live_call(user)
    # The status is read after the call: a call's release and the after-call work it starts
    # are committed together, so a call seen released never comes with the status before it.
    state = simulator.agent_state(user)
    return {"status": simulator.effective_status(state), "call": simulator.call_json(call)}


def control(user: CloudUser, command: str, params: dict[str, str]) -> dict:
    """Run a softphone command for ``user`` and return ``{"status", "call"}``.

    Commands: ``state`` (``status`` = SIGNED_IN|READY|BREAK|OFFLINE, optional ``skillGroupIds``
    comma-separated), ``call`` (``callee``, optional ``caller``), ``answer``, ``hangup``,
    ``hold``, ``retrieve`` (``connid``). Raises :class:`simulator.SimulatorError`.
    """
    simulator.release_gone_agents()  # a softphone back too late does not revive its calls
    call = None
    if command == "state":
        groups = params.get("skillGroupIds")
        state = simulator.set_agent_status(
            user,
            params.get("status", ""),
            [g for g in groups.split(",") if g] if groups is not None else None,
        )
        if state.device_id:  # a 1.x softphone now: no 2.x device, no after-call work
            state.device_id = ""
            state.save(update_fields=["device_id"])
        return {"status": state.status, "call": simulator.call_json(simulator.live_call(user))}
    if command == "call":
        call = simulator.place_outbound(user, params.get("callee", ""), params.get("caller", ""))
    elif command in ("answer", "hangup", "hold", "retrieve"):
        target = simulator.get_call(params.get("connid", ""), user)
        if command == "answer":
            call = simulator.answer(target, by="agent")
        elif command == "hangup":
            call = simulator.hang_up(target, by="agent")
        elif command == "hold":
            call = simulator.hold(target)
        else:
            call = simulator.retrieve(target)
    else:
        raise simulator.SimulatorError("InvalidAction", f"Unknown command {command!r}.", 404)
    status = simulator.effective_status(simulator.touch(user))
    return {"status": status, "call": simulator.call_json(call)}
