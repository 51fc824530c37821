"""Break-it findings in the agent console, in Chromium (CCC 2.x): a call survives the language
switch and a reload (the softphone state is restored per tab, the timer keeps the call's start);
a second console tab of the agent stays passive until chosen; signing out during a call asks;
a customer created from "Unknown caller" names the call; on hold the card agrees with itself; in
after-call work the primary action is Ready."""

import re

import pytest
from django.utils import translation
from django.utils.translation import trans_real
from playwright.sync_api import expect

from tests.workbench.conftest import wait_status

pytestmark = [pytest.mark.browser, pytest.mark.ccc2x, pytest.mark.django_db(transaction=True)]

MR_LU = "135012345678"


def on_call(page, simulator, number=MR_LU):
    simulator.ring(number)
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)


def switch_language(page, code):
    page.locator(".usermenu summary").click()
    page.select_option(".langswitch select[name=language]", code)
    page.locator(".langswitch button[type=submit]").click()


def test_language_switch_and_reload_keep_the_call_and_status(ready, simulator):
    page = ready
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.accept()))
    on_call(page, simulator)
    expect(page.locator(".cb-timer")).to_have_text(re.compile(r"^00:0[6-9]$"), timeout=9000)

    switch_language(page, "zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert dialogs == [], dialogs  # no "leave site?"
    wait_status(page, 9)  # resumed without choosing Ready
    expect(page.locator(".cb-name")).to_have_text("Mr Lu")
    # The timer goes on from the call's answer, not from 0: it shows at least the 6 s it had
    # before the switch at once (a timer restarted from 0 would need 6 s to get there).
    timer = page.locator(".cb-timer")
    expect(timer).to_have_attribute("data-running", "true")
    seconds = int(timer.inner_text().split(":")[-1])
    assert seconds >= 6, timer.inner_text()

    # A plain reload keeps the agent signed in: Ready stays Ready, after-call work ends Ready
    # (click-to-dial works), instead of Offline.
    page.click("#cb-primary[data-action=hangup]")
    page.wait_for_function("() => [3, 5].includes(window.workbench.getStatusCode())")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-softphone", "ready", timeout=10_000)
    on_call(page, simulator)
    page.click("#cb-primary[data-action=hangup]")
    wait_status(page, 5)
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-softphone", "ready", timeout=10_000)
    assert dialogs == [], dialogs


def test_second_tab_stays_passive_until_chosen(ready, simulator, demo):
    page = ready
    on_call(page, simulator)
    second = page.context.new_page()
    second.goto(demo.crm_url + "/")
    expect(second.locator(".cb-tabs")).to_contain_text("The console is open in another tab")
    second.wait_for_timeout(1500)
    assert second.evaluate("window.workbench.getStatusCode()") == -1  # not registered
    assert page.evaluate("window.workbench.getStatusCode()") == 9
    expect(page.locator(".cb-tabs")).to_be_hidden()

    second.get_by_role("button", name="Use this tab").click()
    wait_status(second, 9)
    expect(second.locator(".cb-tabs")).to_be_hidden()
    expect(page.locator(".cb-tabs")).to_contain_text("used in another tab")
    expect(page.locator("#cb-state")).to_be_disabled()
    second.click("#cb-primary[data-action=hangup]")
    wait_status(second, 5)


def test_sign_out_during_a_call_asks_first(ready, simulator):
    page = ready
    on_call(page, simulator)
    asked = []
    page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.locator(".usermenu summary").click()
    page.locator("form.signout button").click()
    page.wait_for_timeout(500)
    assert asked and "signing out" in asked[0], asked
    expect(page.locator("#callbar")).to_be_visible()
    wait_status(page, 9)


def test_customer_created_from_unknown_caller_names_the_call(ready, simulator):
    page = ready
    on_call(page, simulator, "13900001111")
    expect(page.locator(".cb-name")).to_have_text("Unknown caller")
    crm = page.frame_locator("#crm-frame")
    crm.locator("input[name=name]").fill("Mrs Wang")
    crm.locator("input[name=name]").press("Enter")
    expect(page.locator(".cb-name")).to_have_text("Mrs Wang")
    expect(page.locator("#screen-pop .wb-pop-title")).to_contain_text("Mrs Wang")


def test_hold_card_agrees_and_after_call_work_offers_ready(ready, simulator):
    page = ready
    on_call(page, simulator)
    pop = page.locator("#screen-pop")
    expect(pop.locator(".wb-pop-outcome")).to_have_text("On the call")
    page.click(".cb-hold")
    wait_status(page, 12)
    expect(pop.locator(".wb-pop-title")).to_contain_text("On hold")
    expect(pop.locator(".wb-pop-outcome")).to_have_text("On hold")
    page.click(".cb-hold")
    wait_status(page, 9)
    page.click("#cb-primary[data-action=hangup]")
    wait_status(page, 5)
    expect(pop.locator(".wb-pop-outcome")).to_have_text(re.compile(r"^Completed, \d+ s$"))
    primary = page.locator("#cb-primary")
    expect(primary).to_have_attribute("data-action", "ready")
    expect(primary).to_be_enabled()
    primary.click()
    wait_status(page, 3)
    # Ready again: the bar no longer shows the finished call (the card still does).
    expect(page.locator(".cb-phase")).to_have_text("No call")
    expect(page.locator(".cb-name")).to_have_text("")

    # In Chinese the outcome and its duration are joined by a full-width comma.
    js = trans_real.DjangoTranslation("zh-hans", domain="djangojs")
    with translation.override("zh-hans"):
        said = js.gettext("%(outcome)s, %(duration)s")
    assert said == "%(outcome)s\uff0c%(duration)s"


def test_after_call_work_in_chinese_at_1024_px(ready, simulator):
    page = ready
    page.set_viewport_size({"width": 1280, "height": 800})
    switch_language(page, "zh-hans")  # Ready again by itself
    expect(page.locator("html")).to_have_attribute("data-softphone", "ready", timeout=10_000)
    on_call(page, simulator)
    page.wait_for_timeout(1200)
    page.click("#cb-primary[data-action=hangup]")
    wait_status(page, 5)
    pop = page.locator("#screen-pop")
    expect(pop.locator(".wb-pop-outcome")).to_have_text(re.compile(r"^已完成，\d+ 秒$"))
    expect(page.locator("#cb-primary")).to_have_text("就绪")
    page.set_viewport_size({"width": 1024, "height": 800})
    page.wait_for_timeout(200)
    rows = page.evaluate(
        """() => ["#cb-state", ".cb-timer", "#cb-primary"].map((s) => {
          const box = document.querySelector(s).getBoundingClientRect();
          return [s, Math.round(box.top + box.height / 2)];
        })"""
    )
    middles = [middle for _, middle in rows]
    assert max(middles) - min(middles) <= 12, rows  # one row: the timer keeps its place


def test_the_callers_card_shows_notes_and_recent_calls_and_follows_saved_notes(ready, simulator):
    from customers.models import Customer

    Customer.objects.filter(name="Mr Lu").update(notes="VIP: prefers afternoon calls")
    page = ready
    on_call(page, simulator)
    pop = page.locator("#screen-pop")
    expect(pop.locator(".wb-pop-notes")).to_have_text("VIP: prefers afternoon calls")
    expect(pop.locator(".wb-pop-calls li").first).to_contain_text("inbound")
    page.click("#cb-primary[data-action=hangup]")
    wait_status(page, 5)
    form = page.locator(".wb-wrapup").first
    form.locator("textarea").fill("Asked for the December invoice")
    form.get_by_role("button", name="Save notes").click()
    expect(form.locator(".wb-wrapup-status")).to_have_text("Saved.")
    # The card follows: the newest call now carries the note just saved.
    expect(pop.locator(".wb-pop-calls li").first).to_contain_text("Asked for the December invoice")
