"""A new user's findings, in Chromium: long text never widens a page, Unicode digits pop the
customer, over-long numbers are still logged, double clicks place one call, the frame never keeps
another caller's customer, and the open softphone panel hides no CRM column."""

import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import CallRecord, Customer
from customers.services import ensure_customer
from tests.workbench.conftest import (
    HANG_UP,
    logged,
    sign_in,
    wait_status,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MR_LU, MISS_LU = "135012345678", "135012345679"


def overflow(target) -> int:
    """How many CSS px the document is wider than its window (0 when nothing spills out)."""
    return target.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_long_notes_names_and_numbers_wrap_everywhere(page, demo, browser, django_user_model):
    mr_lu = Customer.objects.get(name="Mr Lu")
    mr_lu.name = "Mr Lu " + "L" * 300
    mr_lu.save()
    agent = django_user_model.objects.get(username="edward")
    CallRecord.objects.create(
        agent=agent,
        customer=mr_lu,
        direction="inbound",
        caller="1" * 63 + "\u2026",
        contact_id="c-long",
        started_at=timezone.now(),
        notes="x" * 4925,
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, demo.crm_url)
    page.goto(f"{demo.crm_url}/customers/{mr_lu.pk}/")
    expect(page.locator("td.notes")).to_contain_text("xxxx")
    assert overflow(page) == 0

    page.goto(f"{demo.crm_url}/?page=/customers/{mr_lu.pk}/")
    frame = page.frame_locator("#crm-frame")
    expect(frame.locator("td.notes")).to_contain_text("xxxx")
    assert overflow(page) == 0
    assert overflow(page.frame(name="crm")) == 0

    django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    admin = context.new_page()
    admin.goto(f"{demo.crm_url}/admin/login/")
    admin.fill("#id_username", "boss")
    admin.fill("#id_password", "pw-boss-1")
    admin.click("input[type=submit]")
    admin.goto(f"{demo.crm_url}/admin/customers/customer/{mr_lu.pk}/change/")
    expect(admin.locator("td.field-notes")).to_contain_text("xxxx")
    assert overflow(admin) == 0
    admin.goto(f"{demo.crm_url}/admin/customers/customer/?q=Lu")
    assert overflow(admin) == 0
    context.close()
    assert page.problems == []


@pytest.mark.parametrize("number", ["１３５０１２３４５６７８", "١٣٥٠١٢٣٤٥٦٧٨"])
def test_unicode_digits_pop_the_customer_the_server_finds(ready, simulator, number):
    page, pop = ready, ready.locator("#screen-pop")
    simulator.ring(number)
    wait_status(page, 6)
    expect(pop).to_have_attribute("data-kind", "customer")
    expect(pop).to_contain_text("Mr Lu")
    expect(page.frame_locator("#crm-frame").get_by_role("heading", name="Mr Lu")).to_be_visible()
    assert page.problems == []


def test_a_caller_number_the_server_refuses_is_anonymous_and_blanks_the_frame(ready, simulator):
    page, pop = ready, ready.locator("#screen-pop")
    crm = page.frame_locator("#crm-frame")
    simulator.ring(MR_LU)
    wait_status(page, 6)
    expect(crm.get_by_role("heading", name="Mr Lu")).to_be_visible()
    page.click(HANG_UP)
    wait_status(page, 3)
    # The simulator rings only plain numbers: the lookup is asked about one the server refuses
    # (over 20 digits), and the real server answers its 400.
    page.route(
        "**/customers/lookup?*",
        lambda route: route.continue_(
            url=re.sub(r"number=[^&]*", "number=" + "1" * 101, route.request.url)
        ),
    )
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    expect(pop).to_have_attribute("data-kind", "anonymous")
    expect(pop).to_contain_text("not a phone number")
    expect(crm.get_by_role("heading", name="Mr Lu")).to_have_count(0)
    expect(crm.locator("table.customers")).to_be_visible()  # the customer list to search
    page.click(HANG_UP)
    wait_status(page, 3)
    logged(page)
    assert [p for p in page.problems if "status of 400" not in p] == []  # Chromium logs the 400


def test_chooser_replaces_the_previous_callers_page_with_the_matches(ready, simulator):
    page, pop = ready, ready.locator("#screen-pop")
    crm = page.frame_locator("#crm-frame")
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    expect(crm.get_by_role("heading", name="Miss Lu")).to_be_visible()
    page.click(HANG_UP)
    wait_status(page, 3)
    ensure_customer("Mr Lu's brother", ["+86 135 0123 45678"])
    simulator.ring(MR_LU)
    wait_status(page, 6)
    expect(pop).to_have_attribute("data-kind", "chooser")
    expect(crm.get_by_role("heading", name=re.compile("2 customers with"))).to_be_visible()
    expect(crm.get_by_role("heading", name="Miss Lu")).to_have_count(0)
    page.click(HANG_UP)
    wait_status(page, 3)
    logged(page)
    assert page.problems == []


def test_an_over_long_caller_is_logged_and_log_notices_end_with_the_call(ready, simulator):
    page, notice = ready, ready.locator("#wb-notice")
    # The simulator rings only plain numbers: the call-log posts carry the caller the test wants,
    # and the real server answers them.
    caller = {"number": "135\u0000"}  # refused by the server: a call-log notice

    def rewrite(route):
        body = json.loads(route.request.post_data)
        body["caller"] = caller["number"]
        route.continue_(post_data=json.dumps(body))

    page.route("**/customers/calls/log", rewrite)
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    expect(notice).to_contain_text("Call log: caller contains control characters")
    expect(notice).to_have_attribute("data-kind", "error")
    page.click(HANG_UP)
    wait_status(page, 3)
    logged(page)

    caller["number"] = "1" * 101
    simulator.ring(MISS_LU)
    wait_status(page, 6)
    expect(notice).to_be_empty()  # the last call's trouble is gone with the new call
    page.click(HANG_UP)
    wait_status(page, 3)
    expect(page.locator("#screen-pop")).to_have_attribute("data-outcome", "missed")
    logged(page)
    expect(notice).to_be_empty()
    record = CallRecord.objects.get()
    assert record.caller == "1" * 63 + "\u2026" and record.outcome == CallRecord.MISSED
    assert [p for p in page.problems if "status of 400" not in p] == []  # the refused posts


def test_double_click_places_one_call_and_calling_is_not_an_error(ready, demo):
    page, crm = ready, ready.frame_locator("#crm-frame")
    notice = page.locator("#wb-notice")
    crm.locator("a.phone", has_text=MISS_LU).dblclick()
    wait_status(page, 8)
    # The call bar says "Calling…" as the call's state, not as an error.
    expect(page.locator(".cb-phase")).to_have_text("Calling\u2026")
    expect(notice).not_to_have_attribute("data-kind", "error")
    expect(crm.locator(".dial-reason")).to_have_count(0)
    expect(page.locator("#softphone")).not_to_contain_text("already on a call")
    page.click(HANG_UP)
    wait_status(page, 3)
    logged(page)
    assert CallRecord.objects.count() == 1
    assert page.problems == []


def test_nothing_covers_the_crm_frame_and_it_takes_the_rest_of_the_width(ready):
    page = ready
    frame = page.locator("#crm-frame")
    for width in (1024, 1280, 1440):
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(100)
        box = frame.bounding_box()
        # The frame reaches the right edge and has at least 70% of the width (the context
        # column the rest), and what is at its right edge is the frame itself.
        assert box["x"] + box["width"] >= width - 1 and box["width"] >= 0.7 * width, (width, box)
        top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).id",
            [box["x"] + box["width"] - 20, box["y"] + box["height"] / 2],
        )
        assert top == "crm-frame", (width, top)
    # The SDK's own panel opens on demand over the page, and closes again.
    page.click("#softphone-toggle")
    expect(page.locator("#softphone-panel")).to_be_visible()
    page.click("#softphone-toggle")
    expect(page.locator("#softphone-panel")).to_be_hidden()
    assert page.problems == []
