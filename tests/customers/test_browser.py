"""The customer list in a real browser: sign in as the seed's "Edward", search a number."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_edward_signs_in_and_finds_mr_lu_by_number(live_server, page):
    call_command("bootstrap_demo", "--force", stdout=io.StringIO())
    page.goto(f"{live_server.url}/customers/")
    assert "/login/" in page.url  # sign-in first
    page.fill("input[name=username]", "Edward")
    page.fill("input[name=password]", "1234")
    page.click("button[type=submit]")
    page.wait_for_url("**/customers/")
    assert page.locator("table.customers tbody tr").count() == 25
    assert page.locator("a[rel=next]").is_visible()

    page.fill("input[name=q]", "135 0123 45678")
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    rows = page.locator("table.customers tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").first.inner_text() == "Mr Lu"
    phone = rows.first.locator(".phone")
    assert phone.get_attribute("data-number") == "+86135012345678"

    page.click(".usermenu summary")  # the one "Sign out" is in the user menu
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/login/")
    assert page.problems == []
