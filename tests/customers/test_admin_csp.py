"""The admin's customer pages (changelist, import, export: django-import-export's templates) work
under the Content-Security-Policy, in a real browser, with no CSP violation logged."""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_as_supervisor(page, base):
    call_command("bootstrap_demo", "--force", stdout=io.StringIO())
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "supervisor-2018")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def violations(page) -> list[str]:
    """CSP violations as Chromium logs them (errors: the page fixture fails on them too)."""
    return [p for p in page.problems if "Content Security Policy" in p]


def test_admin_customer_pages_log_no_csp_violation(live_server, page):
    sign_in_as_supervisor(page, live_server.url)
    seen = {}
    for path in ("", "customer/import/", "customer/export/", "customer/", "phonenumber/"):
        page.goto(f"{live_server.url}/admin/customers/{path}")
        page.wait_for_load_state("load")
        seen[path] = violations(page)
        page.problems.clear()
    assert seen == {path: [] for path in seen}


def test_export_select_all_toggles_every_field(live_server, page):
    sign_in_as_supervisor(page, live_server.url)
    page.goto(f"{live_server.url}/admin/customers/customer/export/")
    fields = page.locator("input[name^=customerresource_]")
    assert fields.count() == 6
    toggle = page.locator("input.select-toggle")
    toggle.uncheck()
    assert [fields.nth(i).is_checked() for i in range(6)] == [False] * 6
    toggle.check()
    assert [fields.nth(i).is_checked() for i in range(6)] == [True] * 6
    # The label names the toggle: clicking it toggles too.
    page.click("label[for=select-all-toggle]")
    assert not toggle.is_checked()
    assert [fields.nth(i).is_checked() for i in range(6)] == [False] * 6
    assert violations(page) == []


def test_import_preview_and_confirmation_log_no_csp_violation(live_server, page, tmp_path):
    sign_in_as_supervisor(page, live_server.url)
    good = tmp_path / "customers.csv"
    good.write_text("name,company,email,notes,phones\nWu Tao,Tea,,,+86 139-0013-9000\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,company,email,notes,phones\nLi Na,,not-an-email,,nonsense\n")
    url = f"{live_server.url}/admin/customers/customer/import/"
    page.goto(url)
    page.set_input_files("input[name=import_file]", str(bad))
    page.select_option("select[name=format]", label="csv")
    page.click("input[type=submit]")
    expect(page.locator("body")).to_contain_text("Some rows did not pass validation")
    page.goto(url)
    page.set_input_files("input[name=import_file]", str(good))
    page.select_option("select[name=format]", label="csv")
    page.click("input[type=submit]")
    expect(page.locator("td ins", has_text="Wu Tao")).to_be_visible()  # the preview's diff
    page.click("input[type=submit][value='Confirm import']")
    expect(page.locator("body")).to_contain_text("Import finished")
    assert violations(page) == []
