"""A tester's findings in the workbench's call handling, in Chromium, on both softphone SDKs:
refused wrap-up notes say why and stay in the form, a double click on Answer or Hang up sends one
request and leaves no stale error, and a 2.x softphone whose CRM sign-in ended stops polling and
says so, and a 2.x call resumed after a reload pops again."""

import pytest
from playwright.sync_api import expect

from aliyun_sandbox.telephony import agent_server
from customers.models import CallRecord
from customers.services import ensure_customer
from tests.workbench.conftest import (
    HANG_UP,
    go_ready,
    link_sandbox_account,
    logged,
    sign_in,
    wait_status,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MR_LU, MISS_LU = "135012345678", "135012345679"
BOTH = pytest.mark.parametrize("v2", [pytest.param(True, marks=pytest.mark.ccc2x, id="2x"), False])


def after_call(page, v2):
    wait_status(page, 5 if v2 else 3)


def test_refused_notes_show_the_servers_reason_and_stay_in_the_form(ready, simulator):
    page = ready
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    page.click(HANG_UP)
    wait_status(page, 3)
    notes = "Call back on Monday\u0007"
    # A typed BEL is what a paste can bring: the form sends it, the server refuses it.
    page.locator(".wb-wrapup textarea").evaluate(
        "(t, v) => { t.value = v; t.dispatchEvent(new Event('input')); }", notes
    )
    page.get_by_role("button", name="Save notes").click()
    status = page.locator(".wb-wrapup-status")
    expect(status).to_contain_text("Not saved: notes contains control characters")
    assert page.input_value(".wb-wrapup textarea") == notes
    logged(page)
    assert CallRecord.objects.get().notes == ""


@BOTH
def test_double_clicks_on_answer_and_hang_up_send_one_request_and_leave_no_error(
    page, demo, simulator, v2
):
    sent = []
    commands = ("AnswerCall", "ReleaseCall") if v2 else ("/answer", "/hangup")
    page.on(
        "request",
        lambda r: (
            sent.append(r.url)
            if r.url.split("?")[0].endswith(commands)
            or any(f"action={c}" in r.url for c in commands)
            else None
        ),
    )
    sign_in(page, demo.crm_url)
    link_sandbox_account(page, demo)
    go_ready(page)
    error = page.locator(".wbsdk-error")
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    # The call bar's one primary action: a double click on Answer answers once and never hangs
    # up the call it just answered (the button turned into Hang up under the pointer).
    page.dblclick("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    # The second click of a double click that lands after the button became Hang up.
    page.evaluate(
        "document.getElementById('cb-primary')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true, detail: 2}))"
    )
    page.wait_for_timeout(800)
    assert page.evaluate("window.workbench.getStatusCode()") == 9
    page.dblclick("#cb-primary[data-action=hangup]")
    after_call(page, v2)
    page.wait_for_timeout(500)  # a second request, had one left, is answered by now
    expect(error).to_be_empty()
    assert len(sent) == 2, sent

    # An error shown during a call goes with the next status change.
    if v2:  # 2.x: after-call work until Ready
        page.select_option("#cb-state", "ready")
        wait_status(page, 3)
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    page.evaluate("window.workbench.answer()")  # not while talking: the softphone says so
    expect(error).not_to_be_empty()
    page.click(HANG_UP)
    after_call(page, v2)
    expect(error).to_be_empty()
    logged(page)


@pytest.mark.ccc2x
def test_the_2x_softphone_stops_polling_when_the_crm_sign_in_ends(ready, demo, monkeypatch):
    page = ready
    # The agent server's signatures expire quickly: a poll then asks GetLoginDetails for a fresh
    # pair, which the CRM refuses once its session is gone.
    monkeypatch.setattr(agent_server, "SIGNATURE_LIFETIME", 1)
    page.evaluate("window.workbench._details.Signature = 'expired'")
    asked = []
    page.on(
        "request",
        lambda r: asked.append(r.url) if "action=GetLoginDetails" in r.url else None,
    )
    other = page.context.new_page()
    other.goto(demo.crm_url + "/customers/")
    other.click(".usermenu summary")
    other.get_by_role("button", name="Sign out").click()
    expect(page.locator("#wb-notice")).to_contain_text("sign in again")
    expect(page.locator(".wbsdk-error")).to_contain_text("sign in again")
    before = len(asked)
    page.wait_for_timeout(3000)
    assert len(asked) == before, asked


@pytest.mark.ccc2x
def test_a_2x_call_resumed_after_a_reload_pops_its_chooser_again(ready, simulator):
    page, pop = ready, ready.locator("#screen-pop")
    brother, _ = ensure_customer("Mr Lu's brother", ["+86 135 0123 45678"])
    simulator.ring(MR_LU)
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    expect(pop).to_have_attribute("data-kind", "chooser")
    page.once("dialog", lambda dialog: dialog.accept())  # "leave the page during a call?"
    page.reload()
    page.wait_for_selector(".wbsdk-v2 .wbsdk-groups input", state="attached")
    page.select_option("#cb-state", "ready")  # signing in resumes the call
    wait_status(page, 9)
    expect(pop).to_have_attribute("data-kind", "chooser")
    pop.locator(f".wb-chooser button[data-id='{brother.pk}']").click()
    page.click(HANG_UP)
    wait_status(page, 5)
    logged(page)
    assert CallRecord.objects.get().customer == brother
