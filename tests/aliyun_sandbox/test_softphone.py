"""The stand-in softphone SDK in headless Chromium, against the live sandbox and its simulator.

The CRM's proxy (``/aliyun/ccc/api``) belongs to another part; here ``page.route`` plays it:
it signs each SDK call with aliyun-python-sdk-core and converts the answer as docs/PROTOCOL.md §2
says (test code only).
"""

import json
from urllib.parse import parse_qs, urlparse

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

from aliyun_sandbox.models import Call
from aliyun_sandbox.telephony import simulator
from tests.aliyun_sandbox.ccc_support import INSTANCE, make_user, sdk_request, send, sts_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UPN = "edward@crmdemo.onaliyun.com"


def to_openapi(params: dict) -> dict:
    """The proxy's request conversion: UpperCamel top-level keys, scalars as text."""
    out = {}
    for key, value in params.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, dict | list):
            value = json.dumps(value)
        out[key[:1].upper() + key[1:]] = str(value)
    return out


def to_sdk(value):
    """The proxy's 1.x response conversion: lowerCamel keys, one-array objects collapsed."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(next(iter(value.values())), list):
            return to_sdk(next(iter(value.values())))
        return {k[:1].lower() + k[1:]: to_sdk(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_sdk(v) for v in value]
    return value


def test_conversion_matches_the_protocol_example():
    raw = {
        "RequestId": "r",
        "Success": True,
        "SkillLevels": {
            "SkillLevel": [
                {
                    "Level": 5,
                    "Skill": {"SkillGroupId": "g", "OutboundPhoneNumbers": {"PhoneNumber": []}},
                }
            ]
        },
    }
    assert to_sdk(raw) == {
        "requestId": "r",
        "success": True,
        "skillLevels": [{"level": 5, "skill": {"skillGroupId": "g", "outboundPhoneNumbers": []}}],
    }
    assert to_openapi({"instanceId": "i", "flag": False, "ids": [1]}) == {
        "InstanceId": "i",
        "Flag": "false",
        "Ids": "[1]",
    }


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch):
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_SECRET", raising=False)


TEST_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/aliyun_sandbox/workbench-sdk.css"></head><body>
<div id="softphone"></div>
<script src="/static/aliyun_sandbox/workbench-sdk.js"></script>
<script>
  window.events = [];
  function record(name) {
    return function () {
      window.events.push([name].concat(Array.prototype.slice.call(arguments)));
    };
  }
  var config = {
    dom: "softphone", instanceId: "%(instance)s", ajaxPath: "/aliyun/ccc/api",
    ajaxMethod: "post", header: true, ajaxHeaders: {"X-CSRFToken": "csrf-value"},
    ajaxOtherParams: {crmExtra: "1"}, pollInterval: 200
  };
  ["onInit", "onRegister", "onCallComing", "onCallDialing", "onCallEstablish", "onCallRelease",
   "onHangUp", "onStatusChange", "onErrorNotify", "onLogIn", "onLogOut", "onBreak", "onReady"
  ].forEach(function (h) { config[h] = record(h); });
  window.workbench = new WorkbenchSdk(config);
</script></body></html>"""


def forward(route, request, creds, sandbox):
    """Answer the SDK's proxied call ``request`` as the CRM's proxy would, signed as ``creds``."""
    action = parse_qs(urlparse(request.url).query)["action"][0]
    form = parse_qs(request.post_data or "")
    params = to_openapi(json.loads(form["request"][0]))
    params["InstanceId"] = INSTANCE  # the proxy pins the configured instance
    try:
        body = send(creds, sdk_request(sandbox.ccc_endpoint, action, **params))
    except ServerException as exc:
        route.fulfill(
            status=exc.get_http_status(),
            json={
                "requestId": exc.get_request_id(),
                "errorCode": exc.get_error_code(),
                "message": exc.get_error_msg(),
            },
        )
        return
    route.fulfill(status=200, json=to_sdk(body))


@pytest.fixture
def softphone(page, sandbox, settings):
    """The test page on the CRM's site with the SDK mounted; ``seen`` logs the proxy calls."""
    settings.SANDBOX_ANSWER_DELAY = 60  # the remote party answers by hand in these tests
    user = make_user("edward", ccc_user_id="agent-edward-0001", extension="8001")
    creds = sts_for(user)
    seen = []

    def proxy(route, request):
        action = parse_qs(urlparse(request.url).query)["action"][0]
        form = parse_qs(request.post_data or "")
        seen.append({"action": action, "headers": request.headers, "form": form})
        forward(route, request, creds, sandbox)

    page.route(f"{sandbox.crm_url}/aliyun/ccc/api*", proxy)
    # A real document of the CRM's site (not a route-fulfilled one, which Chromium would put
    # in the public address space and forbid to reach the sandbox on localhost), rewritten
    # into the test page.
    page.goto(f"{sandbox.crm_url}/static/aliyun_sandbox/workbench-sdk.css")
    page.set_content(TEST_PAGE % {"instance": INSTANCE})
    page.wait_for_function("() => document.querySelectorAll('.wbsdk-groups input').length === 2")
    page.seen = seen
    page.user = user
    return page


def events(page, name):
    return [e[1:] for e in page.evaluate("window.events") if e[0] == name]


def wait_status(page, code):
    try:
        page.wait_for_function(f"() => window.workbench.getStatusCode() === {code}", timeout=10_000)
    except Exception:
        pytest.fail(f"status {code} never came: {page.evaluate('window.events')} {page.problems}")


def register_and_ready(page):
    page.click(".wbsdk-signin")
    wait_status(page, 2)
    page.click(".wbsdk-ready")
    wait_status(page, 3)


def test_register_ready_ring_answer_hang_up_then_call_out(softphone, sandbox, crm_sign_in):
    page = softphone
    assert events(page, "onInit") == [[]]
    assert page.get_attribute(".wbsdk", "data-status") == "-1"
    register_and_ready(page)
    assert [s[0] for s in events(page, "onStatusChange")][:3] == [0, 2, 3]
    assert events(page, "onRegister")[0][0]["skillGroups"] == ["skg-sales", "skg-support"]

    # The SDK reached the proxy as the real one does.
    first = page.seen[0]
    assert first["action"] == "RequestLoginInfo"
    assert first["headers"]["x-csrftoken"] == "csrf-value"
    assert first["form"]["crmExtra"] == ["1"]
    assert json.loads(first["form"]["request"][0]) == {"instanceId": INSTANCE}
    assert {"RequestLoginInfo", "ListSkillGroupsOfUser"} <= {s["action"] for s in page.seen}

    # The simulator rings the agent.
    # The simulator in its own browser context (its own window: the softphone's page stays
    # in the foreground, where its timers run at full speed).
    sim_context = page.context.browser.new_context()
    sim_context.add_cookies([crm_sign_in.cookie("localhost")])
    sim = sim_context.new_page()
    sim.goto(f"{sandbox.base_url}/simulator/")
    sim.select_option("select[name=agent]", UPN)
    sim.fill("input[name=caller]", "13501234567")
    sim.click("form.ring button[type=submit]")
    page.wait_for_function("() => window.events.some(e => e[0] === 'onCallComing')", timeout=10_000)
    wait_status(page, 6)
    call = Call.objects.get()
    assert events(page, "onCallComing") == [
        [call.connid, "13501234567", "02150001234", call.contact_id, "skg-sales"]
    ]
    assert "From 13501234567" in page.inner_text(".wbsdk-callinfo")

    page.click(".wbsdk-answer")
    wait_status(page, 9)
    assert events(page, "onCallEstablish")[0][:2] == [call.connid, "13501234567"]
    sim.wait_for_selector(f"#calls tr[data-connid='{call.connid}'].talking")
    page.click(".wbsdk-hold")
    wait_status(page, 12)
    page.click(".wbsdk-retrieve")
    wait_status(page, 9)
    page.click(".wbsdk-hangup")
    wait_status(page, 3)
    assert events(page, "onHangUp") == [["inbound"]]
    call.refresh_from_db()
    assert (call.state, call.released_by) == (Call.RELEASED, "agent")

    # An outbound call rings the simulator; its remote party answers and hangs up.
    page.fill(".wbsdk-number", "13900001111")
    page.click(".wbsdk-call")
    wait_status(page, 8)
    out = Call.objects.get(direction=Call.OUTBOUND)
    assert events(page, "onCallDialing") == [
        [out.connid, "02150001234", "13900001111", out.contact_id]
    ]
    row = f"#calls tr[data-connid='{out.connid}']"
    sim.wait_for_selector(f"{row}.ringing")
    sim.click(f"{row} button.answer")
    wait_status(page, 10)
    sim.wait_for_selector(f"{row}.talking")
    sim.click(f"{row} button.hangup")
    wait_status(page, 3)
    assert events(page, "onHangUp") == [["inbound"], ["outbound"]]
    assert len(events(page, "onCallRelease")) == 2
    assert page.problems == []
    sim_context.close()


def test_remote_answers_after_the_delay_and_missed_calls(softphone, sandbox, settings):
    page = softphone
    settings.SANDBOX_ANSWER_DELAY = 0.3
    register_and_ready(page)
    page.evaluate("window.workbench.call('13900002222')")
    wait_status(page, 10)  # the simulated remote party picked up by itself
    page.evaluate("window.workbench.hangUp()")
    wait_status(page, 3)
    assert events(page, "onHangUp") == [["outbound"]]

    # The caller gives up while it rings: onHangUp("ringing").
    from aliyun_sandbox.telephony import simulator

    call = simulator.ring_agent(page.user, "13501234567")
    wait_status(page, 6)
    simulator.hang_up(call, by="remote")
    wait_status(page, 3)
    assert events(page, "onHangUp")[-1] == ["ringing"]

    # Break, and back to ready.
    page.click(".wbsdk-break")
    wait_status(page, 4)
    page.click(".wbsdk-ready")
    wait_status(page, 3)
    assert events(page, "onBreak") == [[]] and len(events(page, "onReady")) == 2

    # After-call work: status 5 (the simulator cannot ring the agent), then ready by itself.
    page.evaluate("window.workbench.config.afterCallRule = 1")
    page.evaluate("window.workbench.call('13900003333')")
    wait_status(page, 10)
    page.click(".wbsdk-hangup")
    wait_status(page, 5)
    for _ in range(50):  # the softphone tells the agent server right after
        if simulator.agent_state(page.user).status == "BREAK":
            break
        page.wait_for_timeout(20)
    with pytest.raises(simulator.SimulatorError):
        simulator.ring_agent(page.user, "13501234567")
    wait_status(page, 3)

    # Sign out and in again.
    page.click(".wbsdk-signout")
    wait_status(page, 1)
    assert events(page, "onLogOut") == [[]]
    page.evaluate("window.workbench.logIn()")
    wait_status(page, 2)
    assert page.problems == []


def test_errors_reach_on_error_notify(softphone, sandbox):
    page = softphone
    # call() before ready: refused locally, as the real SDK does.
    page.evaluate("window.workbench.call('13900001111')")
    err = events(page, "onErrorNotify")[-1][0]
    assert err["errorApi"] == "call" and err["errorCode"] == "StatusNotAllowed"
    assert Call.objects.count() == 0

    # An OpenAPI error answered by the proxy.
    page.unroute(f"{sandbox.crm_url}/aliyun/ccc/api*")
    page.route(
        f"{sandbox.crm_url}/aliyun/ccc/api*",
        lambda route: route.fulfill(
            status=401,
            json={"requestId": "req-1", "errorCode": "NotAuthenticated", "message": "no token"},
        ),
    )
    page.evaluate("window.workbench._loginInfo = null")
    page.click(".wbsdk-signin")
    page.wait_for_function(
        "() => window.events.some("
        "e => e[0] === 'onErrorNotify' && e[1].errorCode === 'NotAuthenticated')"
    )
    err = events(page, "onErrorNotify")[-1][0]
    assert err == {
        "errorApi": "RequestLoginInfo",
        "errorCode": "NotAuthenticated",
        "errorMsg": "no token",
        "errorMsgTip": "Link your Alibaba Cloud account first.",
        "requestId": "req-1",
    }
    assert page.evaluate("window.workbench.getStatusCode()") == -1
    assert "Link your Alibaba Cloud account first." in page.inner_text(".wbsdk-error")
    # Only the deliberate 401 shows up in the console.
    assert all("401" in p for p in page.problems), page.problems


def test_an_expired_agent_signature_is_renewed_with_refresh_token(softphone, monkeypatch):
    from aliyun_sandbox.telephony import agent_server

    page = softphone
    monkeypatch.setattr(agent_server, "SIGNATURE_LIFETIME", 2)
    page.evaluate("window.workbench._loginInfo = null; window.workbench._skillLevels = null")
    register_and_ready(page)  # fetches a LoginInfo whose signature lives 2 s
    page.wait_for_timeout(3000)  # the signature expires; polling renews it and goes on
    assert "RefreshToken" in [s["action"] for s in page.seen]
    assert events(page, "onErrorNotify") == []
    assert page.evaluate("window.workbench.getStatusCode()") == 3
    assert page.problems == []


def reload(page, sandbox):
    page.set_content(TEST_PAGE % {"instance": INSTANCE})
    page.wait_for_function("() => document.querySelectorAll('.wbsdk-groups input').length === 2")


@pytest.mark.parametrize("held", [False, True])
def test_a_reload_mid_call_resumes_the_call_on_sign_in(softphone, sandbox, held):
    page = softphone
    register_and_ready(page)
    call = simulator.ring_agent(page.user, "13501234567")
    wait_status(page, 6)
    page.click(".wbsdk-answer")
    wait_status(page, 9)
    if held:
        page.click(".wbsdk-hold")
        wait_status(page, 12)

    reload(page, sandbox)  # the workbench is reloaded: a fresh SDK, nothing in memory
    page.wait_for_function(
        "() => document.querySelector('.wbsdk-callinfo').textContent.includes('Call in progress')"
    )
    assert "From 13501234567" in page.inner_text(".wbsdk-callinfo")
    assert page.get_attribute(".wbsdk", "data-status") == "-1"

    page.click(".wbsdk-signin")
    wait_status(page, 12 if held else 9)
    codes = [s[0] for s in events(page, "onStatusChange")]
    assert codes == [0, 3, 6, 9] + ([12] if held else [])
    assert events(page, "onCallComing") == [
        [call.connid, "13501234567", "02150001234", call.contact_id, "skg-sales"]
    ]
    assert [e[:2] for e in events(page, "onCallEstablish")] == [[call.connid, "13501234567"]]
    if held:
        page.click(".wbsdk-retrieve")
        wait_status(page, 9)
    page.click(".wbsdk-hangup")
    wait_status(page, 3)  # back to the Ready the agent had before the reload
    assert events(page, "onCallRelease")[0][0] == call.connid
    call.refresh_from_db()
    assert (call.state, call.released_by) == (Call.RELEASED, "agent")
    assert page.problems == []


def test_a_reload_while_ringing_rings_again_on_sign_in(softphone, sandbox):
    page = softphone
    register_and_ready(page)
    call = simulator.ring_agent(page.user, "13501234567")
    wait_status(page, 6)
    reload(page, sandbox)
    page.click(".wbsdk-signin")
    wait_status(page, 6)
    assert [e[0] for e in events(page, "onCallComing")] == [call.connid]
    assert events(page, "onCallEstablish") == []
    page.click(".wbsdk-answer")
    wait_status(page, 9)


def test_start_up_asks_for_login_info_and_skill_groups_at_once_and_once(page, sandbox, settings):
    """The softphone's two start-up calls go out together (neither needs the other's answer:
    one round trip less before the agent can sign in), and a register() made while they are
    under way waits for them instead of asking again."""
    settings.SANDBOX_ANSWER_DELAY = 60
    creds = sts_for(make_user("edward", ccc_user_id="agent-edward-0001", extension="8001"))
    asked, held = [], []

    def proxy(route, request):
        asked.append(parse_qs(urlparse(request.url).query)["action"][0])
        if len(asked) > 2:
            forward(route, request, creds, sandbox)
            return
        # The first two calls are answered only once both were asked: one after the other,
        # the second would never be asked and the softphone never signed in.
        held.append((route, request))
        if len(held) == 2:
            for waiting in held:
                forward(*waiting, creds, sandbox)

    page.route(f"{sandbox.crm_url}/aliyun/ccc/api*", proxy)
    page.goto(f"{sandbox.crm_url}/static/aliyun_sandbox/workbench-sdk.css")
    page.set_content(
        (TEST_PAGE % {"instance": INSTANCE}).replace(
            "window.workbench = new WorkbenchSdk(config);",
            "window.workbench = new WorkbenchSdk(config); window.workbench.register([]);",
        )
    )
    wait_status(page, 2)
    assert sorted(asked[:2]) == ["ListSkillGroupsOfUser", "RequestLoginInfo"]
    assert asked.count("RequestLoginInfo") == 1 and asked.count("ListSkillGroupsOfUser") == 1
