"""The sandbox's pages (Alibaba Cloud's sign-in and consent stand-ins, the call simulator) and its
JavaScript (the simulator's script, the stand-in softphone SDK) in zh-hans and English. The
sandbox add-on carries its own catalogue (aliyun_sandbox/locale/)."""

import json
from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse
from playwright.sync_api import expect

from aliyun_sandbox.models import AgentState
from aliyun_sandbox.telephony import simulator
from tests.aliyun_sandbox.ccc_support import make_user

pytestmark = pytest.mark.django_db(transaction=True)

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_the_javascript_catalogue_speaks_the_page_language(client):
    after_call_work = json.dumps("话后处理")  # as the catalogue writes it: JSON escapes
    zh = client.get(reverse("javascript-catalog"), **ZH)
    assert zh.status_code == 200
    assert f'"After-call work": {after_call_work}' in zh.content.decode()
    assert after_call_work not in client.get(reverse("javascript-catalog"), **EN).content.decode()


def test_the_sandbox_sign_in_pages_speak_the_browser_language(sandbox):
    # An authorize request without a client: the sign-in error page (nothing is sent back).
    url = f"{sandbox.base_url}/signin/oauth2/v1/auth"
    zh = requests.get(url, headers={"Accept-Language": "zh-CN"}, timeout=10)
    en = requests.get(url, headers={"Accept-Language": "en"}, timeout=10)
    assert zh.status_code == en.status_code == 400
    assert "无法完成此登录请求" in zh.text and "RAM 用户登录" in zh.text
    assert "This sign-in request cannot be completed" in en.text and "RAM 用户" not in en.text


@pytest.mark.browser
def test_sandbox_pages_and_the_simulator_script_speak_chinese(sandbox, browser, crm_sign_in):
    edward = make_user("edward", ccc_user_id="agent-edward-0001", extension="8001")
    simulator.set_agent_status(edward, AgentState.READY, ["skg-sales"])
    simulator.ring_agent(edward, "13501234567")
    context = browser.new_context(locale="zh-CN")
    context.add_cookies([crm_sign_in.cookie(urlsplit(sandbox.base_url).hostname)])
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{sandbox.base_url}/simulator/")
    expect(page.get_by_role("heading", name="呼叫坐席")).to_be_visible()
    # Only simulator.js draws the buttons of a call, with words from the JavaScript catalogue.
    expect(page.get_by_role("button", name="挂断")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert problems == []
    context.close()


def test_the_simulator_says_why_it_cannot_ring_in_the_page_language(sandbox, crm_sign_in):
    edward = make_user("edward", ccc_user_id="agent-edward-0001", extension="8001")
    session = crm_sign_in.session()
    session.get(f"{sandbox.base_url}/simulator/", timeout=10)
    token = session.cookies["csrftoken"]
    form = {"csrfmiddlewaretoken": token, "agent": edward.upn, "caller": "13501234567"}
    headers = {"Referer": f"{sandbox.base_url}/simulator/", "Accept-Language": "zh-CN"}
    answer = session.post(f"{sandbox.base_url}/simulator/ring", data=form, headers=headers)
    assert answer.status_code == 409
    assert f"{edward.upn} 未示闲（状态 OFFLINE）" in answer.text  # the status: CCC's word
