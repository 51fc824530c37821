"""The agent's whole day in one browser journey (issue 6 "Done when"): Edward signs in, links
his sandbox cloud account, the softphone registers and goes ready; a call from Mr Lu pops his
card; he answers, opens another customer mid-call, hangs up and adds a note; the call shows on
Mr Lu's page with its duration; he clicks Miss Lu's number and the simulator sees the call; an
unknown caller gets the prefilled new-customer form; a withheld number says so; revoking shows
the panel as not linked. It runs on CCC 2.x (the default: the 2.x stand-in and its object hooks,
the call's id a jobId) and on 1.x. On 2.x signing in makes the agent ready and a call ends in
after-call work (status 5), from which click-to-dial is allowed.

Real parts only: the live server (CRM on 127.0.0.1, sandbox on localhost: two sites), the
sandbox's OAuth provider, CCC OpenAPI and agent server, the CRM's proxy, Debian's Chromium.
"""

import re

import pytest
from playwright.sync_api import expect

from customers.models import CallRecord, Customer
from tests.workbench.conftest import (
    HANG_UP,
    go_ready,
    link_sandbox_account,
    logged,
    sign_in,
    wait_status,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MR_LU, MISS_LU, STRANGER = "135012345678", "135012345679", "13900001111"
AFTER_CALL_WORK = 5


@pytest.mark.parametrize("v2", [pytest.param(True, marks=pytest.mark.ccc2x, id="2x"), False])
def test_the_whole_journey(page, demo, simulator, shots, v2):
    # 1.x: a call ends in ready (3); 2.x: in after-call work (5) until Ready.
    ended = AFTER_CALL_WORK if v2 else 3

    def ready_again():
        if v2:
            page.select_option("#cb-state", "ready")
        wait_status(page, 3)

    crm = page.frame_locator("#crm-frame")
    pop = page.locator("#screen-pop")

    # Sign in: the console; without a linked account the context column says so.
    sign_in(page, demo.crm_url)
    expect(page.locator("#caller-context")).to_contain_text("Not linked")
    expect(page.locator("#cb-state")).to_be_disabled()
    expect(crm.get_by_role("heading", name="Customers")).to_be_visible()
    shots(page, "not-linked")

    # Link the sandbox cloud account; the softphone registers and goes ready.
    link_sandbox_account(page, demo)
    go_ready(page)  # the call bar's selector: sign in (1.x: then Ready)
    expect(page.locator(".wbsdk-status")).to_have_text("Ready")
    expect(page.locator("#cb-state")).to_have_value("ready")
    shots(page, "ready")

    # The simulator rings from Mr Lu's number: his card pops in the workbench.
    page.evaluate("window.__sameWorkbench = window.workbench")
    simulator.ring(MR_LU)
    wait_status(page, 6)
    expect(pop).to_contain_text("Mr Lu")
    expect(pop.locator(".wb-pop-title")).to_have_text("Incoming call \u00b7 Mr Lu")
    expect(page.locator(".cb-name")).to_have_text("Mr Lu")
    expect(crm.get_by_role("heading", name="Mr Lu")).to_be_visible()
    expect(crm.locator("#calls")).to_be_visible()  # recent calls and notes on the card
    shots(page, "screen-pop")

    # Answer, then open another customer's page mid-call: the call and the panel survive.
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    # Never "Calling" while talking: the card and the bar say the call's real state.
    expect(pop.locator(".wb-pop-title")).to_have_text("On the call \u00b7 Mr Lu")
    expect(page.locator(".cb-phase")).to_have_text("On the call")
    page.locator(".topbar").get_by_role("link", name="Customers").click()
    crm.get_by_role("link", name="Miss Lu", exact=True).click()
    expect(crm.get_by_role("heading", name="Miss Lu")).to_be_visible()
    assert page.evaluate("window.workbench === window.__sameWorkbench")
    assert page.evaluate("window.workbench.getStatusCode()") == 9
    expect(page.locator(".wbsdk-callinfo")).to_contain_text(f"From {MR_LU}")
    expect(page.locator(".cb-number")).to_have_text(MR_LU)
    # Clicking a number now says why it cannot dial.
    crm.locator("a.phone", has_text=MISS_LU).click()
    expect(crm.locator(".dial-reason")).to_contain_text("on a call")
    shots(page, "mid-call")
    page.wait_for_timeout(1200)  # talk for a moment: the duration is at least a second

    # Hang up and add a note: the call shows on Mr Lu's page with its duration.
    page.click(HANG_UP)
    wait_status(page, ended)
    expect(pop).to_have_attribute("data-outcome", "completed")
    expect(pop.locator(".wb-pop-outcome")).to_have_text(re.compile(r"^Completed, [1-9]\d* s$"))
    expect(page.locator(".wb-wrapup .wb-wrapup-outcome")).to_have_text(
        re.compile(r"^Completed, [1-9]\d* s$")
    )
    page.fill(".wb-wrapup textarea", "Asked for the 2018 demo invoice")
    page.get_by_role("button", name="Save notes").click()
    expect(page.locator(".wb-wrapup-status")).to_have_text("Saved.")
    expect(page.locator(".wb-wrapup")).to_have_count(0)  # saved: the form goes
    page.locator(".topbar").get_by_role("link", name="Customers").click()
    crm.get_by_role("link", name="Mr Lu", exact=True).click()
    row = crm.locator("#calls tbody tr").first
    expect(row).to_contain_text("Asked for the 2018 demo invoice")
    expect(row).to_contain_text("completed")
    expect(row.locator(".duration")).to_have_text(re.compile(r"^[1-9]\d* s$"))
    # The call bar's Softphone button shows the SDK's own panel (changeVisible) and hides it.
    expect(page.locator("#softphone-panel")).to_be_hidden()
    page.click("#softphone-toggle")
    expect(page.locator(".wbsdk")).to_be_visible()
    page.click("#softphone-toggle")
    expect(page.locator("#softphone-panel")).to_be_hidden()
    assert page.get_attribute(".wbsdk", "hidden") is not None  # changeVisible(false)
    shots(page, "call-logged")
    logged(page)
    record = CallRecord.objects.get(direction="inbound")
    assert record.contact_id.startswith("job-") == v2  # 2.x: the call's id is its jobId
    # 2.x: the end of the call made the server read CCC's detail record right away
    assert record.ccc_state == ("confirmed" if v2 else "")
    assert record.customer.name == "Mr Lu" and record.agent.username == "edward"
    assert record.caller == MR_LU and record.duration >= 1 and record.answered_at

    # Click-to-dial Miss Lu (on 2.x from after-call work): the simulator sees the outbound call
    # and plays her answering.
    page.locator(".topbar").get_by_role("link", name="Customers").click()
    crm.locator("a.phone", has_text=MISS_LU).click()
    wait_status(page, 8)
    expect(page.locator(".cb-direction")).to_have_text("Outbound")
    expect(pop).to_contain_text(MISS_LU)
    expect(pop.locator(".wb-pop-customer")).to_have_text("Miss Lu \u00b7 Alibaba Cloud demo")
    row = simulator.call_row(MISS_LU)
    expect(row).to_have_class("ringing")
    expect(row).to_contain_text("outbound")
    row.locator("button.answer").click()
    wait_status(page, 10)
    shots(page, "outbound")
    page.click(HANG_UP)
    wait_status(page, ended)
    expect(pop).to_have_attribute("data-outcome", "completed")
    ready_again()
    logged(page)
    outbound = CallRecord.objects.get(direction="outbound")
    assert outbound.customer.name == "Miss Lu" and outbound.callee == MISS_LU

    # An unknown number: "unknown caller" and the new-customer form, prefilled.
    simulator.ring(STRANGER)
    wait_status(page, 6)
    expect(pop).to_contain_text("Unknown caller")
    expect(crm.get_by_role("heading", name="New customer")).to_be_visible()
    expect(crm.locator("input[name=phone]")).to_have_value(STRANGER)
    shots(page, "unknown-caller")
    simulator.call_row(STRANGER).locator("button.hangup").click()  # the caller gives up
    expect(pop).to_have_attribute("data-outcome", "missed")
    if page.evaluate("window.workbench.getStatusCode()") != 3:
        ready_again()
    crm.locator("input[name=name]").fill("Mr Stranger")
    crm.get_by_role("button", name="Create customer").click()
    expect(crm.get_by_role("heading", name="Mr Stranger")).to_be_visible()
    expect(crm.locator("#calls tbody tr").first).to_contain_text("missed")
    logged(page)
    missed = CallRecord.objects.get(caller=STRANGER)
    assert missed.customer == Customer.objects.get(name="Mr Stranger")

    # A withheld number: the pop says so and the frame leaves the last caller's page.
    simulator.ring("anonymous")
    wait_status(page, 6)
    expect(pop).to_have_attribute("data-kind", "anonymous")
    expect(pop).to_contain_text("Anonymous caller")
    expect(crm.get_by_role("heading", name="Customers")).to_be_visible()
    page.click(HANG_UP)
    expect(pop).to_have_attribute("data-outcome", "missed")
    logged(page)

    # Unlink on the profile page: the console shows the softphone as not linked.
    page.click(".usermenu summary")
    page.get_by_role("link", name="Profile").click()
    crm.get_by_role("button", name="Unlink the Alibaba Cloud account").click()
    expect(page.locator(".messages")).to_contain_text("revoked")
    expect(page.locator("#caller-context")).to_contain_text("Not linked")
    assert page.evaluate("typeof window.workbench") == "undefined"
    shots(page, "revoked")

    logged(page)
    assert CallRecord.objects.count() == 4
    assert page.problems == []
