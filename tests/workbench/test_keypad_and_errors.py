"""The keypad dials what click-to-dial would (the server's normalization: Unicode digits, an
extension, PHONE_DEFAULT_REGION's dialling rules) and refuses what is no number in the agent's
language; the softphone's errors are told in the agent's language, chosen by their code."""

import re

import pytest
from playwright.sync_api import expect

from tests.workbench.conftest import HANG_UP, wait_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CJK = r"[\u4e00-\u9fff]"


def keypad_dial(page, typed):
    if page.locator("#cb-keypad-pop").is_hidden():
        page.click(".cb-keypad")
    page.fill(".cb-dial-number", typed)
    page.click(".cb-dial")


@pytest.mark.parametrize(
    "typed, dialled, shown",
    [
        ("+86 138-0013-8000 ext 12", "13800138000", "138 0013 8000"),
        (
            "\u0661\u0663\u0668\u0660\u0660\u0661\u0663\u0668\u0660\u0660\u0660",
            "13800138000",
            "138 0013 8000",
        ),
        ("+1 415-555-0100", "0014155550100", "+1 415-555-0100"),
    ],
)
def test_the_keypad_dials_the_servers_dial_string(ready, simulator, typed, dialled, shown):
    page = ready
    keypad_dial(page, typed)
    wait_status(page, 8)
    expect(simulator.call_row(dialled)).to_be_visible()
    expect(page.locator(".cb-number")).to_contain_text(shown)
    page.click(HANG_UP)
    wait_status(page, 3)  # never answered: no after-call work


@pytest.mark.parametrize("typed", ["abc", "1" * 40])
def test_the_keypad_refuses_what_is_no_number_in_english(ready, typed):
    page = ready
    keypad_dial(page, typed)
    notice = page.locator("#wb-notice")
    expect(notice).to_have_attribute("data-kind", "error")
    expect(notice).to_contain_text("Not dialled")
    expect(notice).to_contain_text("is not a phone number")
    expect(notice).not_to_contain_text(re.compile(CJK))
    page.wait_for_timeout(500)
    assert page.evaluate("window.workbench.getStatusCode()") == 3


@pytest.mark.ccc2x  # transfers are the 2.x softphone's
def test_a_transfer_to_an_offline_agent_is_told_in_english(ready, simulator):
    page = ready
    simulator.ring("13501234567")
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    page.click(".cb-transfer")
    page.fill(".cb-transfer-to", "sissi")
    page.locator("#cb-transfer-pop button[type=submit]").click()
    notice = page.locator("#wb-notice")
    expect(notice).to_contain_text("the agent is not ready")
    expect(notice).not_to_contain_text(re.compile(CJK))
    page.click(HANG_UP)
    wait_status(page, 5)
