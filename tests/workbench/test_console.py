"""The README journey in the agent console, in a real browser, in zh-hans and in English (CCC
2.x, the default): sign in, link the cloud account, go Ready in the call bar, an inbound call
pops Mr Lu, Answer, the timer runs, Hang up, after-call work with its wrap-up form, save the
notes; click-to-dial Miss Lu; the profile page from the user menu. The layout is checked at
1024, 1280 and 1440 px (no page-level horizontal scroll; call bar, timer and primary action on
screen; no table clipped in the CRM frame) and at 390 px (the call bar usable).

With ``CONSOLE_SCREENSHOTS=<folder>`` it also saves the README's screenshots there
(``scripts/screenshots.sh``).
"""

import os
import re

import pytest
from django.utils import translation
from django.utils.translation import trans_real
from playwright.sync_api import expect

from customers.models import CallRecord
from customers.services import ensure_customer
from tests.workbench.conftest import (
    EDWARD_UPN,
    HANG_UP,
    go_ready,
    link_sandbox_account,
    logged,
    sign_in,
    wait_status,
)

pytestmark = [pytest.mark.browser, pytest.mark.ccc2x, pytest.mark.django_db(transaction=True)]

MR_LU, MISS_LU = "135012345678", "135012345679"
WIDTHS = (1024, 1280, 1440)
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
PAGE_WORDS = {"Answer", "Profile", "Ready"}

# Page-level horizontal scroll, and tables in the CRM frame wider than the frame.
LAYOUT = """() => {
  const frame = document.getElementById("crm-frame");
  const doc = frame && frame.contentDocument;
  const clipped = doc ? [...doc.querySelectorAll("table")].filter((t) => {
    const box = t.getBoundingClientRect(), holder = t.parentElement;
    return box.width > 0 && (box.right > doc.documentElement.clientWidth + 1 ||
      t.scrollWidth > holder.clientWidth + 1);
  }).map((t) => [t.className, Math.round(t.getBoundingClientRect().right), t.scrollWidth,
    t.parentElement.clientWidth]) : [];
  return {
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
    frameScroll: doc ? doc.documentElement.scrollWidth : 0,
    frameWidth: doc ? doc.documentElement.clientWidth : 0, clipped: clipped,
  };
}"""


def on_screen(page, selector):
    """The element is visible and wholly inside the viewport."""
    locator = page.locator(selector)
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    view = page.viewport_size
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= view["width"] + 0.5, (
        selector,
        box,
        view,
    )
    assert box["y"] >= 0 and box["y"] + box["height"] <= view["height"] + 0.5, (selector, box)


def check_layout(page, widths=WIDTHS):
    for width in widths:
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(150)
        found = page.evaluate(LAYOUT)
        assert found["scroll"] <= found["inner"], (width, found)
        assert found["frameScroll"] <= found["frameWidth"], (width, found)
        assert not found["clipped"], (width, found)
        for part in ("#callbar", "#cb-primary", ".cb-timer", "#cb-state"):
            on_screen(page, part)
    page.set_viewport_size({"width": 1280, "height": 800})


def shot(page, name, lang, width=1280):
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    if not folder:
        return
    page.set_viewport_size({"width": width, "height": 800})
    page.wait_for_timeout(300)
    page.screenshot(path=os.path.join(folder, f"console-{name}-{lang}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


@pytest.mark.parametrize("lang", list(LOCALES))
def test_console_journey(browser, demo, simulator, lang):
    # The page's words come from Django's catalogue, the call bar's from the JavaScript one.
    js = trans_real.DjangoTranslation(lang, domain="djangojs")
    with translation.override(lang):
        words = {
            w: translation.gettext(w) if w in PAGE_WORDS else js.gettext(w)
            for w in (
                "Answer",
                "Hang up",
                "Incoming call",
                "On the call",
                "After-call work",
                "Save notes",
                "Saved.",
                "Profile",
                "Ready",
            )
        }
        provider = translation.gettext("Alibaba Cloud")
        link = translation.gettext("Link your %(provider)s account") % {"provider": provider}
    if lang != "en":  # the zh-hans catalogue has them all
        untranslated = [w for w, said in words.items() if w == said]
        assert not untranslated, untranslated
    context = browser.new_context(
        locale=LOCALES[lang], viewport={"width": 1280, "height": 800}, timezone_id="Asia/Shanghai"
    )
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page = context.new_page()
    crm = page.frame_locator("#crm-frame")
    pop = page.locator("#screen-pop")

    # Sign in: the console, in the browser's language, not linked yet.
    page.goto(demo.crm_url + "/login/")
    page.fill("#id_username", "edward")
    page.fill("#id_password", "1234")
    page.locator("main button[type=submit]").click()
    expect(page.locator("#callbar")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#cb-state")).to_be_disabled()
    expect(page.locator("html")).not_to_have_attribute("data-softphone", "ready")

    # Link the sandbox cloud account.
    page.locator("#caller-context").get_by_role("link", name=link).click()
    page.fill("#username", EDWARD_UPN)
    page.fill("#password", "1234")
    page.locator("button[value=signin]").click()
    page.locator("button[value=allow]").click()
    expect(page).to_have_url(re.compile(re.escape(demo.crm_url) + r"/(\?.*)?$"))
    page.wait_for_selector(".wbsdk-groups input", state="attached")

    # Ready from the call bar's selector: the softphone signs in and says it is ready.
    page.select_option("#cb-state", "ready")
    wait_status(page, 3)
    expect(page.locator("html")).to_have_attribute("data-softphone", "ready")
    check_layout(page)

    # An inbound call: Mr Lu pops beside his record; the one primary action is Answer.
    simulator.ring(MR_LU)
    wait_status(page, 6)
    expect(page.locator("html")).to_have_attribute("data-softphone", "")
    expect(page.locator(".cb-name")).to_have_text("Mr Lu")
    expect(page.locator(".cb-phase")).to_have_text(words["Incoming call"])
    expect(page.locator("#cb-primary")).to_have_text(words["Answer"])
    expect(pop).to_contain_text("Mr Lu")
    expect(crm.get_by_role("heading", name="Mr Lu")).to_be_visible()

    # Answer: the primary action becomes Hang up, the card and bar say "on the call", the timer
    # runs.
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    expect(page.locator("#cb-primary")).to_have_text(words["Hang up"])
    expect(page.locator(".cb-phase")).to_have_text(words["On the call"])
    expect(pop.locator(".wb-pop-title")).to_contain_text(words["On the call"])
    # The record beside never contradicts the call: its recent calls now say "talking".
    expect(crm.locator("#calls tbody tr").first).to_have_class("talking")
    expect(page.locator(".cb-hold")).to_be_enabled()
    expect(page.locator(".cb-mute")).to_be_enabled()
    first = page.locator(".cb-timer").inner_text()
    expect(page.locator(".cb-timer")).not_to_have_text(first, timeout=3000)
    expect(page.locator(".cb-timer")).to_have_text(re.compile(r"^00:0[1-9]$"))
    # Mute, then unmute; the keypad opens only on demand.
    expect(page.locator("#cb-keypad-pop")).to_be_hidden()
    page.click(".cb-mute")
    expect(page.locator(".cb-mute")).to_have_attribute("aria-pressed", "true")
    page.click(".cb-mute")
    expect(page.locator(".cb-mute")).to_have_attribute("aria-pressed", "false")
    check_layout(page)
    shot(page, "call", lang)
    for width in WIDTHS:
        if width != 1280:
            shot(page, "call", lang, width)

    # 390 px (a phone): the call bar is still usable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(150)
    found = page.evaluate(LAYOUT)
    assert found["scroll"] <= found["inner"], found
    for part in ("#cb-primary", ".cb-timer", "#cb-state", ".cb-hold"):
        on_screen(page, part)
    shot(page, "call", lang, 390)
    page.set_viewport_size({"width": 1280, "height": 800})

    # Hang up: after-call work, its wrap-up form; the notes are saved and shown on his page.
    page.click("#cb-primary[data-action=hangup]")
    wait_status(page, 5)
    form = page.locator(".wb-wrapup").first
    expect(form).to_be_visible()
    expect(page.locator(".cb-phase")).to_have_text(words["After-call work"])
    # The primary action ends the after-call work (Ready), never a disabled "Answer".
    expect(page.locator("#cb-primary")).to_have_attribute("data-action", "ready")
    expect(page.locator("#cb-primary")).to_have_text(words["Ready"])
    expect(page.locator("#cb-primary")).to_be_enabled()
    expect(crm.locator("#calls tbody tr").first).to_have_class("completed")
    form.locator("textarea").fill("客户询问发票 / asked for the invoice")
    check_layout(page)
    shot(page, "after-call-work", lang)
    form.get_by_role("button", name=words["Save notes"]).click()
    expect(form.locator(".wb-wrapup-status")).to_have_text(words["Saved."])
    expect(crm.locator("#calls tbody tr").first).to_contain_text("asked for the invoice")
    logged(page)
    record = CallRecord.objects.get(direction="inbound")
    assert record.notes == "客户询问发票 / asked for the invoice"

    # Click-to-dial Miss Lu from the customer list in the frame.
    page.select_option("#cb-state", "ready")
    wait_status(page, 3)
    page.locator(".topbar nav a[target=crm]").click()
    crm.locator("a.phone", has_text=MISS_LU).first.click()
    wait_status(page, 8)
    expect(page.locator(".cb-name")).to_have_text("Miss Lu")
    expect(page.locator("#cb-primary")).to_have_text(words["Hang up"])
    simulator.call_row(MISS_LU).locator("button.answer").click()
    wait_status(page, 10)
    page.click("#cb-primary[data-action=hangup]")
    wait_status(page, 5)
    logged(page)
    assert CallRecord.objects.get(direction="outbound").callee == MISS_LU

    # The profile page, from the user menu, opens in the frame: the call bar stays.
    page.click(".usermenu summary")
    page.locator(".usermenu").get_by_role("link", name=re.compile(words["Profile"])).click()
    expect(crm.locator("#aliyun-account .aliyun-upn")).to_have_text(EDWARD_UPN)
    expect(page.locator("#callbar")).to_be_visible()
    check_layout(page)
    shot(page, "profile", lang)
    context.close()


@pytest.fixture
def console(page, demo):
    """Edward's console in English at 1280 px, linked and Ready."""
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, demo.crm_url)
    link_sandbox_account(page, demo)
    go_ready(page)
    return page


def test_long_rtl_names_and_numbers_never_break_the_call_bar(console, simulator):
    page = console
    name = "\u0645\u062d\u0645\u062f \u0639\u0628\u062f \u0627\u0644\u0644\u0647 " * 12 + "Lu"
    ensure_customer(name, ["13800138000"], company="Ltd " * 40)
    simulator.ring("13800138000")
    wait_status(page, 6)
    expect(page.locator(".cb-name")).to_have_text(name.strip())
    expect(page.locator(".cb-number")).to_have_text("138 0013 8000")  # national grouping
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    check_layout(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(150)
    found = page.evaluate(LAYOUT)
    assert found["scroll"] <= found["inner"], found
    for part in ("#cb-primary", ".cb-timer", "#cb-state"):
        on_screen(page, part)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click(HANG_UP)
    wait_status(page, 5)
    logged(page)


def test_wrap_up_draft_survives_a_reload_and_another_tab_is_detected(console, simulator, demo):
    page = console
    simulator.ring(MR_LU)
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    page.click(HANG_UP)
    wait_status(page, 5)
    page.fill(".wb-wrapup textarea", "Wants a call back on Monday")
    # A reload (not on a call: no question) brings the unsaved notes back in their form.
    page.reload()
    form = page.locator(".wb-wrapup")
    expect(form).to_have_count(1)
    expect(form.locator("textarea")).to_have_value("Wants a call back on Monday")
    expect(form).to_contain_text("Mr Lu")
    # A second tab of the same agent shows the same draft; typing there is said here.
    other = page.context.new_page()
    other.goto(demo.crm_url + "/")
    other.fill(".wb-wrapup textarea", "Wants a call back on Tuesday")
    expect(form.locator(".wb-wrapup-status")).to_contain_text("another tab")
    other.close()
    form.get_by_role("button", name="Save notes").click()
    expect(form.locator(".wb-wrapup-status")).to_have_text("Saved.")
    expect(page.locator(".wb-wrapup")).to_have_count(0)
    logged(page)
    assert CallRecord.objects.get().notes == "Wants a call back on Monday"
    page.reload()  # saved: nothing comes back
    expect(page.locator("#callbar")).to_be_visible()
    expect(page.locator(".wb-wrapup")).to_have_count(0)


def test_a_queued_call_never_wipes_the_notes_being_typed(console, simulator):
    page, pop = console, console.locator("#screen-pop")
    simulator.ring(MR_LU)
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    simulator.ring(MISS_LU)  # the next caller waits in the queue
    page.click(HANG_UP)
    wait_status(page, 5)
    page.fill(".wb-wrapup textarea", "Invoice question")
    page.select_option("#cb-state", "ready")  # Ready: the queued call rings at once
    wait_status(page, 6)
    expect(pop).to_contain_text("Miss Lu")
    expect(page.locator(".cb-name")).to_have_text("Miss Lu")
    logged(page)
    first = CallRecord.objects.get(caller=MR_LU)
    assert first.notes == "Invoice question"  # saved, not lost
    page.click(HANG_UP)
    logged(page)


def test_a_dial_failure_says_what_failed_and_clears_calling(console, demo):
    page, crm = console, console.frame_locator("#crm-frame")
    notice = page.locator("#wb-notice")

    def refuse(route):
        route.fulfill(
            status=502,
            content_type="application/json",
            body='{"RequestId": "r-1", "Code": "ServiceUnavailable", "Message": "CCC is down"}',
        )

    page.route("**/aliyun/ccc/api?action=MakeCall*", refuse)
    crm.locator("a.phone", has_text=MISS_LU).first.click()
    # An unknown code: the upstream Message only as a detail.
    expect(notice).to_contain_text(
        "The call could not be made: the service refused it (ServiceUnavailable: CCC is down)"
    )
    expect(notice).to_have_attribute("data-kind", "error")
    expect(notice).not_to_contain_text("Calling")
    expect(page.locator(".cb-phase")).not_to_contain_text("Calling")
    # Nothing stays pending: the next click dials.
    page.unroute("**/aliyun/ccc/api?action=MakeCall*")
    crm.locator("a.phone", has_text=MISS_LU).first.click()
    wait_status(page, 8)
    page.click(HANG_UP)
    logged(page)
    page.problems.clear()  # the browser logged the refused request's 502
