"""The agent's softphone day on CCC 2.x (API 2020-07-01) in a real browser, under both token
modes: the sandbox's OAuth provider issues STS-JSON access tokens (the proxy signs HMAC) or
opaque ones (the proxy sends them as BearerToken).

Edward links his sandbox account; the 2.x stand-in signs in to both skill groups and goes ready,
a simulator call rings, is answered, held, retrieved and hung up; after-call work ends with
Ready; a call out is answered by the simulator; a break; back to ready. Every OpenAPI call goes
through the CRM's proxy in the 2.x URL form. This journey is driven through the stand-in's panel
and watches its hooks; the CRM side of 2.x (screen pop, call log) is in test_journey.py.
"""

import json

import pytest
import requests
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from aliyun_oauth import services as oauth_services
from customers.models import CallRecord
from tests.workbench.conftest import HANG_UP, link_sandbox_account, logged, sign_in, wait_status

pytestmark = [pytest.mark.browser, pytest.mark.ccc2x, pytest.mark.django_db(transaction=True)]

MR_LU, MISS_LU = "135012345678", "135012345679"

# Records every hook the stand-in calls (name and argument) in window.__hooks.
RECORD_HOOKS = """() => {
  window.__hooks = [];
  var original = window.workbench._hook;
  window.workbench._hook = function (name, arg) {
    window.__hooks.push([name, arg === undefined ? null : JSON.parse(JSON.stringify(arg))]);
    return original.call(this, name, arg);
  };
}"""


def hooks(page, name):
    return [arg for hook, arg in page.evaluate("window.__hooks") if hook == name]


def ccc_view(page, crm_url) -> tuple[dict, list]:
    """Edward's realtime state and registered devices as CCC 2.x reports them to him over HTTP:
    ListRealtimeAgentStates and ListDevices through the CRM's proxy, with his browser session,
    as the 2.x SDK asks (``?action=…&product=…&version=…&region=…``, ``request=<JSON>``)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies(crm_url)}

    def call(action):
        response = requests.post(
            f"{crm_url}/aliyun/ccc/api",
            params={
                "action": action,
                "product": "CloudCallCenter",
                "version": "2020-07-01",
                "region": "cn-shanghai",
            },
            data={"request": json.dumps({})},
            cookies=cookies,
            headers={"X-CSRFToken": cookies["csrftoken"]},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["Data"]

    rows = call("ListRealtimeAgentStates")["List"]
    (state,) = [row for row in rows if row["AgentId"] == "edward@ccc-sandbox"]
    return state, call("ListDevices")


@pytest.mark.parametrize("token_format", ["sts", "opaque"])
def test_the_2x_softphone_journey(page, demo, simulator, shots, settings, token_format):
    settings.SANDBOX_ACCESS_TOKEN_FORMAT = token_format
    proxied = []
    page.on(
        "request",
        lambda r: proxied.append(r.url) if "/aliyun/ccc/api" in r.url else None,
    )
    sign_in(page, demo.crm_url)
    link_sandbox_account(page, demo)
    edward = get_user_model().objects.get(username="edward")
    token = oauth_services.get_valid_token(edward).access_token
    assert token.startswith("ot-") == (token_format == "opaque")  # opaque: bearer mode
    page.wait_for_selector(".wbsdk-v2 .wbsdk-groups input", state="attached")
    page.evaluate(RECORD_HOOKS)
    expect(page.locator(".wbsdk-header")).to_have_text("Softphone 2.x")

    # Sign in to both skill groups: register = sign in + ready.
    page.select_option("#cb-state", "ready")  # the call bar: register = sign in + ready
    wait_status(page, 3)
    state, (device,) = ccc_view(page, demo.crm_url)
    assert state["State"] == "READY" and device["DeviceId"].startswith("ACC-SANDBOX-")
    assert state["SkillGroupIdList"] == ["skg-sales@ccc-sandbox", "skg-support@ccc-sandbox"]
    assert [h for h, _ in page.evaluate("window.__hooks")][:3] == [
        "onStatusChange",
        "onRegister",
        "onLogIn",
    ]
    shots(page, "ready")

    # An inbound call from the simulator: ringing (6), answered (9), hold (12), back (9).
    simulator.ring(MR_LU)
    wait_status(page, 6)
    (coming,) = hooks(page, "onCallComing")
    assert coming["caller"] == MR_LU and coming["callType"] == "INBOUND"
    assert coming["jobId"].startswith("job-") and coming["callContext"]["JobId"] == coming["jobId"]
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    assert hooks(page, "onCallEstablish")[0]["callContext"]["JobId"] == coming["jobId"]
    page.click(".cb-hold")
    wait_status(page, 12)
    page.click(".cb-hold[aria-pressed=true]")
    wait_status(page, 9)
    shots(page, "inbound-talking")
    page.click(HANG_UP)
    wait_status(page, 5)  # after-call work (UserState WORKING)
    assert hooks(page, "onHangUp") == ["inbound"]
    assert hooks(page, "onCallRelease")[0]["callContext"]["JobId"] == coming["jobId"]
    page.select_option("#cb-state", "ready")
    wait_status(page, 3)

    # A call the sandbox refuses: onErrorNotify gets its code and request id, nothing changes.
    seen = len(page.problems)
    page.evaluate("window.workbench.call('not a number')")
    page.wait_for_function("window.__hooks.some(h => h[0] === 'onErrorNotify')")
    (error,) = hooks(page, "onErrorNotify")
    assert error["errorCode"] == "Parameter.Invalid" and len(error["requestId"]) == 36
    expect(page.locator(".wbsdk-error")).to_contain_text(error["requestId"])
    # the browser logs the answer's 400 status; nothing else went wrong
    assert all("status of 400" in p for p in page.problems[seen:])
    del page.problems[seen:]
    assert page.evaluate("window.workbench.getStatusCode()") == 3

    # Call out: dialing (8) until the simulator's remote party answers (10), then hang up.
    # The call bar's keypad, opened on demand, dials a typed number.
    expect(page.locator("#cb-keypad-pop")).to_be_hidden()
    page.click(".cb-keypad")
    page.fill(".cb-dial-number", MISS_LU)
    page.click(".cb-dial")
    expect(page.locator("#cb-keypad-pop")).to_be_hidden()
    wait_status(page, 8)
    (dialing,) = hooks(page, "onCallDialing")
    assert dialing["callee"] == MISS_LU and dialing["callType"] == "OUTBOUND"
    row = simulator.call_row(MISS_LU)
    expect(row).to_have_class("ringing")
    row.locator("button.answer").click()
    wait_status(page, 10)
    page.click(HANG_UP)
    wait_status(page, 5)
    assert hooks(page, "onHangUp") == ["inbound", "outbound"]

    # A break from after-call work, then ready again.
    page.select_option("#cb-state", "break:rest")
    wait_status(page, 2)
    assert ccc_view(page, demo.crm_url)[0]["State"] == "BREAK"
    page.select_option("#cb-state", "ready")
    wait_status(page, 3)
    shots(page, "ready-again")

    codes = [(c["lastCode"], c["code"]) for c in hooks(page, "onStatusChange")]
    assert codes == [
        (-1, 0),
        (0, 3),
        (3, 6),
        (6, 9),
        (9, 12),
        (12, 9),
        (9, 5),
        (5, 3),
        (3, 8),
        (8, 10),
        (10, 5),
        (5, 2),
        (2, 3),
    ]
    # Every OpenAPI call went through the proxy in the 2.x URL form.
    assert proxied and all(
        "product=CloudCallCenter&version=2020-07-01&region=cn-shanghai" in url for url in proxied
    )
    assert page.problems == []


def test_a_reload_mid_call_resumes_the_call_on_sign_in(page, demo, simulator):
    """The reloaded workbench signs in from a new DeviceId: it takes the live call over, and the
    call log goes on with the same record (the jobId) to its end and wrap-up notes."""
    sign_in(page, demo.crm_url)
    link_sandbox_account(page, demo)
    page.wait_for_selector(".wbsdk-v2 .wbsdk-groups input", state="attached")
    page.select_option("#cb-state", "ready")
    wait_status(page, 3)
    (first_device,) = ccc_view(page, demo.crm_url)[1]
    simulator.ring(MR_LU)
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    page.once("dialog", lambda dialog: dialog.accept())  # "leave the page during a call?"
    page.reload()
    page.wait_for_selector(".wbsdk-v2 .wbsdk-groups input", state="attached")
    page.evaluate(RECORD_HOOKS)
    page.select_option("#cb-state", "ready")  # signing in resumes the call, not Ready
    wait_status(page, 9)
    (established,) = hooks(page, "onCallEstablish")
    assert established["callContext"]["CallType"] == "INBOUND"
    (device,) = ccc_view(page, demo.crm_url)[1]
    assert device["DeviceId"] != first_device["DeviceId"]
    page.click(HANG_UP)
    wait_status(page, 5)
    pop = page.locator("#screen-pop")
    expect(pop).to_have_attribute("data-outcome", "completed")
    page.fill(".wb-wrapup textarea", "Resumed after a reload")
    page.get_by_role("button", name="Save notes").click()
    expect(page.locator(".wb-wrapup-status")).to_have_text("Saved.")
    logged(page)
    (record,) = CallRecord.objects.all()
    assert record.contact_id == established["callContext"]["JobId"]
    assert record.direction == "inbound" and record.caller == MR_LU
    assert record.customer.name == "Mr Lu" and record.ended_at and record.answered_at
    assert record.notes == "Resumed after a reload"
    assert page.problems == []
