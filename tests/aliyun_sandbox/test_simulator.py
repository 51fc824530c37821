"""The call simulator: its page, its JSON, ``manage.py sandbox_call`` and the agent server."""

from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone

from aliyun_sandbox.models import AgentState, Call
from aliyun_sandbox.telephony import agent_server, simulator
from tests.aliyun_sandbox.ccc_support import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def edward():
    return make_user("edward", ccc_user_id="agent-edward-0001", extension="8001")


def ready(user):
    simulator.set_agent_status(user, AgentState.READY, ["skg-sales"])


def test_command_rings_a_ready_agent_and_plays_the_remote_party(edward, settings):
    settings.SANDBOX_ENABLED = True
    with pytest.raises(CommandError, match="AgentNotReady"):
        call_command("sandbox_call", agent="edward", caller="13501234567")
    ready(edward)
    out = StringIO()
    call_command("sandbox_call", agent="edward", caller="135 0123 4567", stdout=out)
    call = Call.objects.get()
    assert f"connid {call.connid}" in out.getvalue()
    assert (call.direction, call.caller, call.callee) == (
        Call.INBOUND,
        "13501234567",
        "02150001234",
    )
    assert (call.state, call.skill_group_id, call.agent) == (Call.RINGING, "skg-sales", edward)

    out = StringIO()  # a second caller waits in the queue
    call_command("sandbox_call", agent="8001", caller="13501234568", stdout=out)
    queued = Call.objects.get(caller="13501234568")
    assert out.getvalue().startswith(f"Queued for {edward.upn}") and queued.state == Call.QUEUED
    with pytest.raises(CommandError, match="CallStateError"):  # remote does not answer inbound
        call_command("sandbox_call", answer=call.connid)
    out = StringIO()
    call_command("sandbox_call", hangup=call.connid, stdout=out)
    assert out.getvalue().strip() == f"{call.connid} released"
    call.refresh_from_db()
    assert (call.state, call.released_by) == (Call.RELEASED, "remote")

    out = StringIO()
    call_command("sandbox_call", list=True, stdout=out)
    assert "13501234567 -> 02150001234" in out.getvalue()
    with pytest.raises(CommandError, match="No cloud user"):
        call_command("sandbox_call", agent="nobody", caller="13501234567")
    with pytest.raises(CommandError, match="Parameter.Invalid"):
        call_command("sandbox_call", agent="edward", caller="not-a-number")
    with pytest.raises(CommandError, match="NotExists.Call"):
        call_command("sandbox_call", hangup="nope")
    settings.SANDBOX_ENABLED = False
    with pytest.raises(CommandError, match="sandbox is off"):
        call_command("sandbox_call", list=True)


def test_a_softphone_that_stopped_polling_is_offline(edward, settings):
    ready(edward)
    AgentState.objects.filter(user=edward).update(
        last_seen=timezone.now() - timedelta(seconds=settings.SANDBOX_AGENT_TIMEOUT + 1)
    )
    with pytest.raises(simulator.SimulatorError) as exc:
        simulator.ring_agent(edward, "13501234567")
    assert exc.value.code == "AgentNotReady"
    assert Call.objects.count() == 0


def test_outbound_call_is_answered_after_the_delay(edward, settings):
    settings.SANDBOX_ANSWER_DELAY = 5
    ready(edward)
    call = simulator.place_outbound(edward, "13900001111")
    assert call.caller == "02150001234" and call.state == Call.RINGING
    assert simulator.live_call(edward).state == Call.RINGING
    Call.objects.filter(pk=call.pk).update(answer_at=timezone.now() - timedelta(seconds=1))
    live = simulator.live_call(edward)
    assert live.state == Call.TALKING and live.answered_at is not None
    with pytest.raises(simulator.SimulatorError) as exc:
        simulator.place_outbound(edward, "13900001111", caller="4008001234")
    assert exc.value.code == "Parameter.Invalid"  # an inbound-only number
    with pytest.raises(simulator.SimulatorError) as exc:
        simulator.place_outbound(edward, "13900001111")
    assert exc.value.code == "UserBusy"


def test_simulator_needs_a_signed_in_crm_user(sandbox):
    page = requests.get(f"{sandbox.base_url}/simulator/", timeout=10, allow_redirects=False)
    assert page.status_code == 302 and "/login/" in page.headers["Location"]
    data = requests.get(f"{sandbox.base_url}/simulator/calls.json", timeout=10)
    assert data.status_code == 401 and "error" in data.json()


def test_simulator_page_rings_and_plays_the_remote_party(sandbox, edward, crm_sign_in):
    session = crm_sign_in.session()
    page = session.get(f"{sandbox.base_url}/simulator/", timeout=10)
    assert page.status_code == 200 and "edward@crmdemo.onaliyun.com" in page.text
    token = session.cookies["csrftoken"]
    form = {"csrfmiddlewaretoken": token, "agent": edward.upn, "caller": "13501234567"}
    headers = {"Referer": f"{sandbox.base_url}/simulator/"}

    # Not ready: a readable error, nothing written.
    resp = session.post(f"{sandbox.base_url}/simulator/ring", data=form, headers=headers)
    assert resp.status_code == 409 and "is not ready" in resp.text
    assert Call.objects.count() == 0
    # No CSRF token: refused.
    bare = requests.post(f"{sandbox.base_url}/simulator/ring", data={"agent": edward.upn})
    assert bare.status_code == 403

    ready(edward)
    resp = session.post(
        f"{sandbox.base_url}/simulator/ring", data=form, headers=headers, allow_redirects=False
    )
    assert resp.status_code == 302
    call = Call.objects.get()
    data = session.get(f"{sandbox.base_url}/simulator/calls.json", timeout=10).json()
    assert data["agents"][0]["status"] == "READY"
    assert data["calls"][0]["connid"] == call.connid and data["calls"][0]["state"] == "ringing"

    resp = session.post(
        f"{sandbox.base_url}/simulator/ring",
        data=dict(form, caller="12;DROP"),
        headers=headers,
    )
    assert resp.status_code == 400 and "phone number" in resp.text
    resp = session.post(
        f"{sandbox.base_url}/simulator/calls/{call.connid}/hangup",
        data={"csrfmiddlewaretoken": token},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status_code == 302
    call.refresh_from_db()
    assert call.state == Call.RELEASED and call.released_by == "remote"
    resp = session.post(
        f"{sandbox.base_url}/simulator/calls/{call.connid}/hangup",
        data={"csrfmiddlewaretoken": token},
        headers=headers,
    )
    assert resp.status_code == 409
    resp = session.post(
        f"{sandbox.base_url}/simulator/calls/unknown/answer",
        data={"csrfmiddlewaretoken": token},
        headers=headers,
    )
    assert resp.status_code == 404


def test_agent_server_authenticates_and_controls_calls(sandbox, edward, settings):
    sig = agent_server.issue_signature(edward)
    url = f"{sandbox.base_url}/agent/"
    auth = {"signData": sig["SignData"], "signature": sig["Signature"]}

    pre = requests.options(url + "poll", headers={"Origin": sandbox.crm_url}, timeout=10)
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == "*"

    resp = requests.post(url + "state", data={**auth, "status": "READY"}, timeout=10)
    assert resp.status_code == 200 and resp.json()["status"] == "READY"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    resp = requests.post(url + "state", data={**auth, "status": "DANCING"}, timeout=10)
    assert (resp.status_code, resp.json()["code"]) == (400, "Parameter.Invalid")

    call = simulator.ring_agent(edward, "13501234567")
    polled = requests.post(url + "poll", data=auth, timeout=10).json()
    assert polled["call"]["connid"] == call.connid and polled["call"]["state"] == "ringing"
    resp = requests.post(url + "answer", data={**auth, "connid": call.connid}, timeout=10)
    assert resp.json()["call"]["state"] == "talking"
    resp = requests.post(url + "answer", data={**auth, "connid": call.connid}, timeout=10)
    assert (resp.status_code, resp.json()["code"]) == (409, "CallStateError")
    resp = requests.post(url + "hangup", data={**auth, "connid": call.connid}, timeout=10)
    assert resp.json()["call"]["state"] == "released"
    # The tracked call's release is seen by a later poll; then nothing is live.
    polled = requests.post(url + "poll", data={**auth, "connid": call.connid}, timeout=10)
    assert polled.json()["call"]["state"] == "released"
    assert requests.post(url + "poll", data=auth, timeout=10).json()["call"] is None

    # Someone else's call, forged or expired signatures, unknown commands, GET.
    sissi = make_user("sissi")
    other = agent_server.issue_signature(sissi)
    resp = requests.post(
        url + "hangup",
        data={
            "signData": other["SignData"],
            "signature": other["Signature"],
            "connid": call.connid,
        },
        timeout=10,
    )
    assert (resp.status_code, resp.json()["code"]) == (404, "NotExists.Call")
    forged = {"signData": other["SignData"], "signature": sig["Signature"]}
    resp = requests.post(url + "poll", data=forged, timeout=10)
    assert (resp.status_code, resp.json()["code"]) == (401, "InvalidSignature")
    old = agent_server.issue_signature(edward, now=timezone.now().timestamp() - 7200)
    resp = requests.post(
        url + "poll", data={"signData": old["SignData"], "signature": old["Signature"]}, timeout=10
    )
    assert (resp.status_code, resp.json()["code"]) == (401, "SignatureExpired")
    assert requests.post(url + "dance", data=auth, timeout=10).status_code == 404
    assert requests.get(url + "poll", timeout=10).status_code == 405
    settings.SANDBOX_ENABLED = False
    assert requests.post(url + "poll", data=auth, timeout=10).status_code == 404


def _talking_call(user):
    call = simulator.ring_agent(user, "13501234567")
    return simulator.answer(call, by="agent")


def _silence(user, seconds):
    AgentState.objects.filter(user=user).update(
        last_seen=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_softphone_gone_past_the_timeout_has_its_calls_released(edward, settings):
    settings.SANDBOX_AGENT_TIMEOUT = 5
    ready(edward)
    call = _talking_call(edward)
    # Within the window the call survives and a poll resumes it.
    _silence(edward, 4)
    assert agent_server.poll(edward)["call"]["state"] == "talking"
    # Past the window: reading the calls shows it released, and writes nothing.
    _silence(edward, 6)
    assert [c["state"] for c in map(simulator.call_json, simulator.recent_calls())] == ["released"]
    assert Call.objects.get(pk=call.pk).state == Call.TALKING
    assert AgentState.objects.get(user=edward).status != AgentState.OFFLINE
    # The clean-up stores what the readers saw.
    call_command("sandbox_cleanup", stdout=StringIO())
    call.refresh_from_db()
    assert (call.state, call.released_by) == (Call.RELEASED, "timeout")
    assert call.released_at is not None and call.duration >= 0
    state = AgentState.objects.get(user=edward)
    assert (state.status, state.skill_group_ids) == (AgentState.OFFLINE, "")
    # A softphone coming back too late sees its call released, not revived.
    polled = agent_server.poll(edward, call.connid)
    assert polled == {"status": "OFFLINE", "call": simulator.call_json(call)}


def test_a_gone_agents_call_is_released_when_the_softphone_itself_returns(edward, settings):
    settings.SANDBOX_AGENT_TIMEOUT = 5
    ready(edward)
    call = _talking_call(edward)
    _silence(edward, 6)
    # Nobody read the calls meanwhile: the softphone's own poll must not revive the call.
    assert agent_server.poll(edward)["call"] is None
    assert Call.objects.get(pk=call.pk).state == Call.RELEASED
    with pytest.raises(simulator.SimulatorError) as exc:
        agent_server.control(edward, "hold", {"connid": call.connid})
    assert exc.value.code == "CallStateError"


@pytest.mark.parametrize("comes_back", ["sign_in", "touch"])
def test_a_released_call_stays_ended_when_the_agent_signs_in_again(edward, settings, comes_back):
    """Signed out of the CRM mid-call (the softphone stopped polling): the call shows released
    once the timeout has passed; signing in and Ready again (1.x state, 2.x heartbeat) must not
    bring it back as talking."""
    settings.SANDBOX_AGENT_TIMEOUT = 5
    ready(edward)
    call = _talking_call(edward)
    _silence(edward, 6)
    assert [c["state"] for c in map(simulator.call_json, simulator.recent_calls())] == ["released"]
    if comes_back == "touch":
        simulator.touch(edward)
    ready(edward)
    assert simulator.live_call(edward) is None
    call.refresh_from_db()
    assert (call.state, call.released_by) == (Call.RELEASED, "timeout")
    assert [c["state"] for c in map(simulator.call_json, simulator.recent_calls())] == ["released"]


def test_a_call_to_a_busy_agent_queues_and_rings_when_the_agent_is_free(edward):
    ready(edward)
    first = simulator.ring_agent(edward, "13501234567")
    second = simulator.ring_agent(edward, "13501234568")
    third = simulator.ring_agent(edward, "13501234569")
    assert (first.state, second.state, third.state) == (Call.RINGING,) + (Call.QUEUED,) * 2
    assert agent_server.poll(edward)["call"]["connid"] == first.connid
    assert simulator.call_json(second)["state"] == "queued"
    # The agent answers and talks: the queue waits.
    agent_server.control(edward, "answer", {"connid": first.connid})
    assert agent_server.poll(edward)["call"]["connid"] == first.connid
    # The third caller gives up; the agent goes on break after the first call: still waiting.
    simulator.remote_party(third.connid, "hangup")
    agent_server.control(edward, "hangup", {"connid": first.connid})
    agent_server.control(edward, "state", {"status": "BREAK"})
    assert agent_server.poll(edward)["call"] is None
    assert Call.objects.get(pk=second.pk).state == Call.QUEUED
    # Ready again: the oldest waiting call rings.
    agent_server.control(edward, "state", {"status": "READY"})
    rung = agent_server.poll(edward)["call"]
    assert (rung["connid"], rung["state"], rung["caller"]) == (
        second.connid,
        "ringing",
        "13501234568",
    )
    # The agent cannot pick a queued call; signing out releases what still waits.
    fourth = simulator.ring_agent(edward, "13501234560")
    with pytest.raises(simulator.SimulatorError) as exc:
        agent_server.control(edward, "hangup", {"connid": fourth.connid})
    assert exc.value.code == "CallStateError"
    agent_server.control(edward, "state", {"status": "OFFLINE"})
    fourth.refresh_from_db()
    assert (fourth.state, fourth.released_by) == (Call.RELEASED, "signout")


def test_a_withheld_number_rings_as_anonymous(edward):
    ready(edward)
    out = StringIO()
    call_command("sandbox_call", agent="edward", caller="Anonymous", stdout=out)
    assert "from anonymous" in out.getvalue()
    call = simulator.ring_agent(edward, "", withheld=True)
    assert call.caller == "anonymous" and call.state == Call.QUEUED
    assert agent_server.poll(edward)["call"]["caller"] == "anonymous"
    with pytest.raises(simulator.SimulatorError) as exc:
        simulator.ring_agent(edward, "")  # no number and not withheld: a mistake
    assert exc.value.code == "Parameter.Invalid"


def test_simulator_page_queues_a_second_call_and_rings_a_withheld_number(
    sandbox, edward, crm_sign_in
):
    session = crm_sign_in.session()
    page = session.get(f"{sandbox.base_url}/simulator/", timeout=10)
    assert '<link rel="icon" href="data:,">' in page.text and 'name="withheld"' in page.text
    signin = requests.get(f"{sandbox.base_url}/signin/oauth2/v1/auth", timeout=10)
    assert '<link rel="icon" href="data:,">' in signin.text
    ready(edward)
    form = {"csrfmiddlewaretoken": session.cookies["csrftoken"], "agent": edward.upn}
    headers = {"Referer": f"{sandbox.base_url}/simulator/"}
    url = f"{sandbox.base_url}/simulator/ring"
    first = session.post(url, data={**form, "caller": "13501234567"}, headers=headers)
    second = session.post(url, data={**form, "caller": "", "withheld": "1"}, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)  # after the redirect
    calls = session.get(f"{sandbox.base_url}/simulator/calls.json", timeout=10).json()["calls"]
    assert [(c["caller"], c["state"]) for c in calls] == [
        ("anonymous", "queued"),
        ("13501234567", "ringing"),
    ]


@pytest.mark.parametrize("device", ["ACC-SANDBOX-1", ""])
def test_after_call_work_only_for_a_2x_agent(edward, device):
    """An answered call that ends leaves a 2.x agent (signed in with a DeviceId) WORKING; a 1.x
    softphone keeps its status. A missed call changes neither."""
    ready(edward)
    AgentState.objects.filter(user=edward).update(device_id=device)
    missed = simulator.ring_agent(edward, "13501234567")
    simulator.hang_up(missed, by="remote")
    assert AgentState.objects.get(user=edward).status == AgentState.READY
    call = simulator.answer(simulator.ring_agent(edward, "13501234567"), by="agent")
    simulator.hang_up(call, by="remote")
    expected = AgentState.WORKING if device else AgentState.READY
    assert AgentState.objects.get(user=edward).status == expected


def test_a_1x_softphone_signing_in_drops_the_2x_device(edward):
    ready(edward)
    AgentState.objects.filter(user=edward).update(device_id="ACC-SANDBOX-1")
    agent_server.control(edward, "state", {"status": "READY", "skillGroupIds": "skg-sales"})
    assert AgentState.objects.get(user=edward).device_id == ""


def test_blind_transfer_rings_the_other_agent_from_the_remote_party(edward):
    sissi = make_user("sissi")
    ready(edward)
    ready(sissi)
    call = simulator.answer(simulator.ring_agent(edward, "13501234567"), by="agent")
    with pytest.raises(simulator.SimulatorError, match="its agent"):
        simulator.blind_transfer(call, edward)
    AgentState.objects.filter(user=sissi).update(status=AgentState.BREAK)
    with pytest.raises(simulator.SimulatorError, match="not ready"):
        simulator.blind_transfer(call, sissi)
    assert Call.objects.get(pk=call.pk).state == Call.TALKING  # nothing changed
    ready(sissi)
    moved = simulator.blind_transfer(call, sissi)
    assert (moved.agent, moved.caller, moved.state) == (sissi, "13501234567", Call.RINGING)
    left = Call.objects.get(pk=call.pk)
    assert (left.state, left.released_by) == (Call.RELEASED, "transfer")
