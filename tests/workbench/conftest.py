"""Fixtures of the workbench's browser tests: the demo data, the sandbox, helpers to drive the
softphone and the call simulator, and numbered screenshots in test-artifacts/."""

import io
import os
import re
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.core.management import call_command
from playwright.sync_api import expect

EDWARD_UPN = "edward@crmdemo.onaliyun.com"
# The call bar's hang-up: the primary action while on a call, "Decline" while ringing.
HANG_UP = "#cb-primary[data-action=hangup], .cb-decline:visible"
ARTIFACTS = "test-artifacts"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test's sandbox makes new signing keys: no JWKS cached by an earlier test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(sandbox, settings, monkeypatch):
    """``bootstrap_demo --force`` against the live sandbox: edward/sissi in the Agents group,
    Mr Lu, Miss Lu and the demo customers, and the sandbox's cloud users."""
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_SECRET", raising=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ALIYUN_OAUTH_ALLOW_HTTP = True  # the live server speaks plain HTTP
    settings.SANDBOX_ANSWER_DELAY = 60  # the simulated remote party answers by hand here
    call_command("bootstrap_demo", "--force", stdout=io.StringIO())
    return sandbox


@pytest.fixture
def shots(request):
    """``shots(page, name)`` saves test-artifacts/<test>-NN-<name>.png (git-ignored)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    counter = iter(range(1, 100))
    test = re.sub(r"\W+", "-", request.node.name).strip("-")

    def shot(page, name):
        page.screenshot(path=f"{ARTIFACTS}/{test}-{next(counter):02d}-{name}.png")

    return shot


def sign_in(page, crm_url, username="edward", password="1234"):
    """Sign in to the CRM in the browser; ends on the workbench."""
    # The sandbox's pages have no favicon; its 404 would count as a console error.
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page.goto(crm_url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#callbar")).to_be_visible()
    expect(page.locator(".usermenu summary")).to_have_text(username)


def link_sandbox_account(page, sandbox, upn=EDWARD_UPN, password="1234"):
    """From the console: "Link your Alibaba Cloud account", sign in at the sandbox, consent;
    ends on the console with the account shown on the profile page."""
    page.locator("#caller-context").get_by_role(
        "link", name="Link your Alibaba Cloud account"
    ).click()
    expect(page).to_have_url(re.compile(re.escape(sandbox.signin_url)))
    if page.locator("#username").count():
        page.fill("#username", upn)
        page.fill("#password", password)
        page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(re.compile(re.escape(sandbox.crm_url) + r"/(\?.*)?$"))
    expect(page.locator("#cb-state")).to_be_enabled()
    profile = page.context.new_page()
    profile.goto(sandbox.crm_url + "/profile/")
    expect(profile.locator("#aliyun-account .aliyun-upn")).to_have_text(upn)
    profile.close()


def logged(page):
    """Wait until the workbench has no call-log post in flight, so the database may be read.

    (The live server's SQLite test database is shared in memory: a read during a write fails.)
    """
    page.wait_for_function("() => window.crmWorkbench && window.crmWorkbench.pending() === 0")


def wait_status(page, code, timeout=10_000):
    """Wait until the softphone's status code (docs/PROTOCOL.md §2) is ``code``."""
    try:
        page.wait_for_function(
            f"() => window.workbench && window.workbench.getStatusCode() === {code}",
            timeout=timeout,
        )
    except Exception:
        status = page.evaluate("window.workbench && window.workbench.getStatusCode()")
        pytest.fail(f"softphone status {code} never came (now {status}); {page.problems}")


def go_ready(page):
    """Choose Ready in the call bar: the softphone signs in to its skill groups and goes Ready
    (status 3); the console says so with ``data-softphone="ready"``."""
    page.wait_for_selector(".wbsdk-groups input", state="attached")
    page.select_option("#cb-state", "ready")
    wait_status(page, 3)
    expect(page.locator("html")).to_have_attribute("data-softphone", "ready")


def open_softphone(page):
    """Open the SDK's own panel (skill groups, its buttons) from the call bar."""
    if page.locator("#softphone-panel").is_hidden():
        page.click("#softphone-toggle")
    expect(page.locator("#softphone-panel")).to_be_visible()


@pytest.fixture
def simulator(browser, demo, crm_sign_in):
    """The sandbox's call simulator page in its own browser context (own window, so the
    workbench page keeps running its timers at full speed), signed in to the CRM."""
    context = browser.new_context()
    context.add_cookies([crm_sign_in.cookie("localhost")])
    sim = context.new_page()
    sim.goto(f"{demo.base_url}/simulator/")

    def ring(caller, upn=EDWARD_UPN):
        sim.select_option("select[name=agent]", upn)
        sim.fill("input[name=caller]", caller)
        sim.click("form.ring button[type=submit]")
        expect(sim.locator("p.error")).to_have_count(0)

    def call_row(number):
        return sim.locator("#calls tbody tr", has=sim.locator(f"td:text-is('{number}')")).first

    yield SimpleNamespace(page=sim, ring=ring, call_row=call_row)
    context.close()


@pytest.fixture
def ready(page, demo):
    """Edward signed in, linked and ready on the workbench."""
    sign_in(page, demo.crm_url)
    link_sandbox_account(page, demo)
    go_ready(page)
    return page
