"""The admin in a real browser: import errors readable on the page (in Chinese for a Chinese
browser), table cells wrapping at word boundaries at 1024 px, CJK text still wrapping."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from customers.models import Customer
from customers.services import ensure_customer, log_call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Words of a table cell that a line break split in two (each word's text range drawn on more
# than one line); a hyphen is a word boundary. CJK runs are left out: they may break between any
# two characters.
SPLIT_WORDS = """(selector) => {
  const split = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[A-Za-z']+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set(
          [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))
        );
        if (lines.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""

LINES = """(cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  return new Set([...range.getClientRects()].filter((r) => r.width > 0)
    .map((r) => Math.round(r.top))).size;
}"""

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def supervisor_page(browser, base, locale="en-GB", width=1280):
    call_command("bootstrap_demo", "--force", stdout=io.StringIO())
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "supervisor-2018")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return page


def test_import_errors_are_shown_on_the_page_not_behind_a_hover(live_server, browser, tmp_path):
    page = supervisor_page(browser, live_server.url, locale="zh-CN")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,company,email,notes,phones\nLi Na,,not-an-email,,nonsense\n")
    page.goto(f"{live_server.url}/admin/customers/customer/import/")
    page.set_input_files("input[name=import_file]", str(bad))
    page.select_option("select[name=format]", label="csv")
    page.click("input[type=submit]")
    page.mouse.move(0, 0)  # the pointer nowhere near the row
    errors = page.locator(".import-preview .validation-error-container")
    expect(errors).to_have_count(1)
    # Readable where it stands: not a transparent overlay waiting for the pointer.
    expect(errors).to_have_css("opacity", "1")
    expect(errors).to_have_css("position", "static")
    expect(errors).to_be_in_viewport()
    expect(errors).to_contain_text("“nonsense”不是电话号码")  # ours, in Chinese
    expect(errors).to_contain_text("有效的")  # Django's e-mail message, in Chinese too
    page.context.close()


def test_admin_tables_wrap_at_word_boundaries_at_1024_px(live_server, browser):
    long_names = [
        (
            "Alexandria Montgomery Fitzgerald Worthington Featherstonehaugh",
            "Shanghai International Telecommunications Equipment Trading Corporation Branch",
        ),
        (
            "Maximiliano Bartholomew Constantinopolous Wolfeschlegelstein",
            "Zhejiang Cross-border Electronic Commerce Comprehensive Experimental Zone",
        ),
    ]
    for i, (name, company) in enumerate(long_names):
        ensure_customer(name, [f"+86 138 0013 800{i}"], company=company)
    chinese = "上海国际电信设备贸易有限公司第一分公司营业部客户服务中心呼叫中心坐席管理与质检部门"
    ensure_customer("王小明", ["+86 139 0013 9000"], company=chinese)
    page = supervisor_page(browser, live_server.url, width=1024)
    page.goto(f"{live_server.url}/admin/customers/customer/")
    expect(page.locator("#result_list")).to_contain_text("Featherstonehaugh")
    cells = "#result_list td, #result_list th"
    assert page.evaluate(SPLIT_WORDS, cells) == []
    cjk = page.locator("#result_list td", has_text=chinese)
    assert cjk.evaluate(LINES) > 1  # CJK text still wraps inside its column
    assert page.evaluate(OVERFLOW) == 0  # and the page does not scroll sideways

    page.context.close()


CLIPPED = """() => {
  const box = document.querySelector('#changelist .results').getBoundingClientRect();
  return [...document.querySelectorAll('#result_list thead th')]
    .filter((th) => th.getBoundingClientRect().right > box.right + 1)
    .map((th) => th.textContent.trim());
}"""


def test_admin_lists_show_every_column_at_1024_px(live_server, browser):
    """Beside the navigation sidebar the filter column left the lists too narrow at 1024 px: the
    demo customers' phone numbers were cut off. The filters now go above the list."""
    page = supervisor_page(browser, live_server.url, locale="zh-CN", width=1024)
    page.goto(f"{live_server.url}/admin/customers/customer/")
    expect(page.locator("#result_list")).to_be_visible()
    assert page.evaluate(CLIPPED) == []
    assert page.locator("#result_list .phone").first.evaluate(LINES) == 1  # a number never wraps
    edward = get_user_model().objects.get(username__iexact="edward")
    mr_lu = Customer.objects.get(name="Mr Lu")
    call = {"contact_id": "c-1024", "direction": "inbound", "caller": "+86 21 5000 1234"}
    log_call(edward, event="ringing", customer_id=mr_lu.pk, callee="8001", **call)
    log_call(edward, event="released", notes="Asked for the invoice", **call)
    for lang in ("zh-CN", "en-GB"):  # English titles are longer ("Wrap-up notes")
        if lang != "zh-CN":
            page = supervisor_page(browser, live_server.url, locale=lang, width=1024)
        page.goto(f"{live_server.url}/admin/customers/callrecord/")
        expect(page.locator("#result_list")).to_be_visible()
        assert page.evaluate(CLIPPED) == [], lang
