"""The workbench's glue in Chromium, case by case: screen pop for several matches, anonymous
callers and stale lookups; click-to-dial refusals; the leave-during-a-call guard; standalone
CRM pages."""

import re

import pytest
from playwright.sync_api import expect

from customers.models import CallRecord, Customer
from customers.services import ensure_customer
from tests.workbench.conftest import (
    HANG_UP,
    link_sandbox_account,
    logged,
    open_softphone,
    sign_in,
    wait_status,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MR_LU, MISS_LU = "135012345678", "135012345679"


@pytest.mark.parametrize("version", [pytest.param("2x", marks=pytest.mark.ccc2x), "1x"])
def test_several_matches_offer_a_chooser_and_the_choice_is_logged(ready, simulator, shots, version):
    page, crm, pop = ready, ready.frame_locator("#crm-frame"), ready.locator("#screen-pop")
    brother = ensure_customer("Mr Lu's brother", ["+86 135 0123 45678"])[0]
    simulator.ring(MR_LU)
    wait_status(page, 6)
    expect(pop).to_contain_text("2 customers have this number")
    pop.get_by_role("button", name=re.compile("Mr Lu's brother")).click()
    expect(crm.get_by_role("heading", name="Mr Lu's brother")).to_be_visible()
    shots(page, "chooser")
    page.click(HANG_UP)
    wait_status(page, 3)
    expect(pop).to_have_attribute("data-outcome", "missed")  # the call log has the hang-up
    expect(page.locator(".wb-wrapup")).to_be_visible()
    logged(page)
    record = CallRecord.objects.get()
    assert record.customer == brother and record.outcome == CallRecord.MISSED

    # Notes typed but not saved when the next call rings are saved, not lost.
    page.fill(".wb-wrapup textarea", "Brother called, will call again")
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    expect(pop).to_contain_text("Miss Lu")
    expect(pop).to_have_attribute("data-outcome", "ringing")  # the new call's first event
    logged(page)
    record.refresh_from_db()
    assert record.notes == "Brother called, will call again"
    assert page.problems == []


def test_anonymous_and_empty_caller_numbers_say_so(ready):
    page, pop = ready, ready.locator("#screen-pop")
    # The sandbox cannot withhold a number; the hook is fired as the SDK would fire it.
    for caller in ("", "anonymous"):
        page.evaluate(
            "c => window.workbench.config.onCallComing('conn-' + c, c, '02150001234',"
            " 'contact-' + c, 'skg-sales')",
            caller,
        )
        expect(pop).to_contain_text("Anonymous caller")
        expect(pop).to_contain_text("withheld")
    crm = ready.frame_locator("#crm-frame")
    expect(crm.get_by_role("heading", name="Customers")).to_be_visible()  # nothing popped
    assert page.problems == []


def test_a_late_lookup_of_an_earlier_call_never_pops_its_customer(ready, simulator):
    page, crm, pop = ready, ready.frame_locator("#crm-frame"), ready.locator("#screen-pop")
    # Hold back the lookup of Mr Lu's call until after the next call has popped.
    page.evaluate(
        """() => {
          const fetch0 = window.fetch;
          window.slowDone = false;
          window.fetch = (url, init) => String(url).includes("number=135012345678")
            ? new Promise(r => setTimeout(r, 4000)).then(() => fetch0(url, init))
                .finally(() => { window.slowDone = true; })
            : fetch0(url, init);
        }"""
    )
    simulator.ring(MR_LU)
    wait_status(page, 6)
    simulator.call_row(MR_LU).locator("button.hangup").click()  # Mr Lu gives up
    wait_status(page, 3)
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    expect(pop).to_contain_text("Miss Lu")
    expect(crm.get_by_role("heading", name="Miss Lu")).to_be_visible()
    page.wait_for_function("() => window.slowDone", timeout=10_000)
    page.wait_for_timeout(300)
    expect(pop).not_to_contain_text("Mr Lu")
    expect(crm.get_by_role("heading", name="Miss Lu")).to_be_visible()
    assert page.problems == []


def test_click_to_dial_says_why_it_cannot_call(page, demo):
    crm = page.frame_locator("#crm-frame")
    sign_in(page, demo.crm_url)
    crm.locator("a.phone", has_text=MISS_LU).click()
    expect(crm.locator(".dial-reason")).to_contain_text("Not linked")

    link_sandbox_account(page, demo)
    page.wait_for_selector(".wbsdk-groups input", state="attached")
    crm.locator("a.phone", has_text=MISS_LU).click()
    expect(crm.locator(".dial-reason")).to_contain_text("You are offline")
    open_softphone(page)  # the SDK's own panel: 1.x signs in without going Ready
    page.click(".wbsdk-signin")
    wait_status(page, 2)
    page.click("#softphone-toggle")
    crm.locator("a.phone", has_text=MISS_LU).click()
    expect(crm.locator(".dial-reason")).to_contain_text("choose Ready")
    page.select_option("#cb-state", "ready")
    wait_status(page, 3)
    page.select_option("#cb-state", "break:rest")
    wait_status(page, 4)
    crm.locator("a.phone", has_text=MISS_LU).click()  # allowed on a break
    wait_status(page, 8)
    page.click(HANG_UP)
    wait_status(page, 4)
    expect(page.locator("#screen-pop")).to_have_attribute("data-outcome", "no_answer")
    logged(page)
    assert CallRecord.objects.get().callee == MISS_LU
    assert page.problems == []


def test_leaving_during_a_call_asks_first(ready, simulator):
    page = ready
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    # The console's own links do not leave it: the frame shows the customer list instead.
    page.locator(".topbar").get_by_role("link", name="Console").click()
    page.wait_for_timeout(500)
    assert dialogs == []
    page.evaluate("window.location.assign('/customers/')")  # a top-level navigation
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert page.evaluate("window.workbench.getStatusCode()") == 9  # stayed, call alive
    page.click(HANG_UP)
    wait_status(page, 3)
    page.reload()  # not on a call: no question
    assert dialogs == ["beforeunload"]
    assert page.problems == []


def test_standalone_crm_pages_work_and_point_to_the_workbench(page, demo):
    sign_in(page, demo.crm_url)
    miss_lu = Customer.objects.get(name="Miss Lu")
    page.goto(f"{demo.crm_url}/customers/{miss_lu.pk}/")
    expect(page.locator(".topbar")).to_be_visible()
    page.locator("a.phone", has_text=MISS_LU).click()
    reason = page.locator(".dial-reason")
    expect(reason).to_contain_text("Calls are made from the console's call bar")
    reason.get_by_role("link", name="Open the console").click()
    expect(page.locator("#callbar")).to_be_visible()
    frame = page.frame_locator("#crm-frame")
    expect(frame.get_by_role("heading", name="Miss Lu")).to_be_visible()
    expect(frame.locator(".topbar")).to_be_hidden()  # framed pages drop their top bar
    assert page.problems == []
