"""The whole link flow in headless Chromium: the CRM on http://127.0.0.1:PORT, the sandbox
provider on http://localhost:PORT (another site), so the form_post callback is cross-site."""

import re

import pytest
from playwright.sync_api import expect

from aliyun_oauth.models import LinkedAccount
from tests.aliyun_oauth.conftest import EDWARD_UPN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _link_from_home(page, sandbox, sign_in: bool):
    page.locator("#caller-context").get_by_role(
        "link", name="Link your Alibaba Cloud account"
    ).click()
    expect(page).to_have_url(re.compile(re.escape(sandbox.signin_url)))
    if sign_in:
        page.fill("#username", EDWARD_UPN)
        page.fill("#password", "1234")
        page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(sandbox.crm_url + "/")
    # The workbench mounts the softphone once linked: let its first proxy calls finish before
    # the next click, or a revoke would answer one of them 401 (a console error).
    page.wait_for_load_state("networkidle")


def _profile(page):
    """The profile page, opened from the user menu in the console's frame: its account block."""
    page.click(".usermenu summary")
    page.get_by_role("link", name="Profile").click()
    return page.frame_locator("#crm-frame").locator("#aliyun-account")


def test_edward_links_refreshes_revokes_and_links_again(oauth_sandbox, edward, page):
    # Neither site has a favicon yet; its 404 would count as a console error.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    callbacks = []
    page.on(
        "request", lambda r: callbacks.append(r.url) if "/aliyun/auth/callback" in r.url else None
    )
    page.goto(oauth_sandbox.crm_url + "/login/")
    page.fill("#id_username", "edward")
    page.fill("#id_password", "1234")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#callbar")).to_be_visible()
    block = _profile(page)
    expect(block).to_contain_text("Alibaba Cloud account")
    expect(block).to_contain_text("Not linked")

    _link_from_home(page, oauth_sandbox, sign_in=True)
    expect(page.locator(".messages")).to_contain_text("linked")
    expect(page.locator(".messages")).to_be_hidden(timeout=10_000)  # it goes away by itself
    block = _profile(page)
    expect(block.locator(".aliyun-upn")).to_have_text(EDWARD_UPN)
    expires = block.locator(".aliyun-expires")
    expect(expires).to_have_text(re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d$"))
    # Chromium left the Lax session cookie off the provider's cross-site POST (the callback only
    # answers the resubmit page when the cookie is missing); the same-site resubmission had it.
    assert [url.split("/aliyun/auth/callback")[1] for url in callbacks] == ["", "?resubmit=1"]
    first = LinkedAccount.objects.get(user=edward).access_token

    block.get_by_role("button", name="Renew the cloud sign-in").click()
    expect(page.locator(".messages")).to_contain_text("refreshed")
    page.wait_for_load_state("networkidle")
    # Back on the console with the profile page in its frame.
    expect(block.locator(".aliyun-upn")).to_have_text(EDWARD_UPN)
    assert LinkedAccount.objects.get(user=edward).access_token != first

    block.get_by_role("button", name="Unlink the Alibaba Cloud account").click()
    expect(page.locator(".messages")).to_contain_text("revoked")
    expect(block).to_contain_text("Not linked")
    assert not LinkedAccount.objects.filter(user=edward).exists()

    _link_from_home(page, oauth_sandbox, sign_in=False)  # still signed in at the sandbox
    expect(_profile(page).locator(".aliyun-upn")).to_have_text(EDWARD_UPN)
    assert page.problems == []
