"""The proxy against the sandbox CCC OpenAPI on the live server, with the unmodified
aliyun-python-sdk-core signing: what reaches the sandbox is counted at the live server
(``sandbox.ccc_answers()``: the status of each request the CCC OpenAPI answered)."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from aliyun_oauth.models import LinkedAccount

# Minimal parameters of each 1.x softphone action the sandbox implements.
ACTIONS = {
    "RequestLoginInfo": {},
    "RefreshToken": {},
    "ListSkillGroupsOfUser": {},
    "GetConfig": {"name": "AutoAnswer", "objectType": "Instance", "objectId": "x"},
    "ListConfig": {},
    "GetServiceExtensions": {"serviceType": "Transfer"},
    "ListRecentCallRecords": {"pageNumber": 1, "pageSize": 10},
    "GetNumberRegionInfo": {"number": "13501234567"},
    "ListOutboundPhoneNumberOfUser": {},
    "ListAgentStates": {},
    "GetTURNServerList": {},
    "ListAgentDevices": {},
}


@pytest.fixture
def edward(make_agent):
    return make_agent("edward")


def test_linked_agent_gets_own_converted_skill_groups(edward, sandbox):
    response = edward.call("ListSkillGroupsOfUser", {"instanceId": "ccc-sandbox-instance"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["code"] == "OK" and body["requestId"]
    names = [level["skill"]["skillGroupName"] for level in body["skillLevels"]]
    assert names == ["Sales", "Support"]
    first = body["skillLevels"][0]
    assert first["skillLevelId"].endswith("-8001")  # edward's extension: signed as edward
    assert isinstance(first["skill"]["outboundPhoneNumbers"], list)
    assert first["skill"]["outboundPhoneNumbers"][0]["number"]
    assert sandbox.ccc_answers() == [200]


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_softphone_actions_pass_through_the_sandbox(edward, sandbox, action):
    response = edward.call(action, ACTIONS[action])
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    assert sandbox.ccc_answers() == [200]


def test_login_info_names_the_calling_agent(make_agent):
    for name in ("edward", "sissi"):
        info = make_agent(name).call("RequestLoginInfo", {}).json()["loginInfo"]
        assert info["userName"] == name
        assert isinstance(info["roles"], list)


def test_sandbox_error_keeps_code_status_and_request_id(edward, sandbox):
    response = edward.call("GetConfig", {})  # Name, ObjectType, ObjectId missing
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "MissingParameter"
    assert '"Name"' in body["message"]
    assert len(body["requestId"]) == 36  # the sandbox's RequestId, not a local one
    assert sandbox.ccc_answers() == [400]


def test_refusals_reach_nothing(make_agent, sandbox):
    edward = make_agent("edward")
    sissi = make_agent("sissi", linked=False)
    assert edward.call("DeleteInstance", {}).status_code == 403
    assert edward.call("ListSkillGroupsOfUser", raw=b"[]").status_code == 400
    assert edward.call("ListSkillGroupsOfUser", {"instanceId": "other"}).status_code == 403
    assert edward.call("ListSkillGroupsOfUser", {}, headers={"X-CSRFToken": ""}).status_code == 403
    assert sissi.call("ListSkillGroupsOfUser", {}).status_code == 401
    assert sandbox.ccc_answers() == []


def test_expired_sts_is_refreshed_and_retried(make_agent, sandbox, settings, clock):
    # STS credentials that live 60 s at the sandbox, which the CRM believes valid for a day;
    # a minute later (within the OpenAPI's 15-minute Timestamp window) the sandbox refuses them.
    settings.SANDBOX_ACCESS_TOKEN_LIFETIME = 60
    edward = make_agent("edward")
    LinkedAccount.objects.filter(user=edward.user).update(
        expires_at=timezone.now() + timedelta(days=1)
    )
    clock.advance(61)
    response = edward.call("ListSkillGroupsOfUser", {})
    assert response.status_code == 200, response.text
    assert sandbox.tokens_issued() == 2  # the link, then a refresh issued new credentials
    assert sandbox.ccc_answers() == [400, 200]  # InvalidSecurityToken.Expired, then the retry


@pytest.mark.postgres  # concurrent requests: SQLite's shared in-memory test database locks up
@pytest.mark.django_db(transaction=True)
def test_two_agents_concurrently_never_cross_credentials(make_agent, sandbox):
    agents = {"edward": make_agent("edward"), "sissi": make_agent("sissi")}
    jobs = [name for _ in range(6) for name in agents]

    def login_name(name):
        response = agents[name].call("RequestLoginInfo", {})
        assert response.status_code == 200, response.text
        return name, response.json()["loginInfo"]["userName"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(login_name, jobs))
    assert results == [(name, name) for name in jobs]
    assert sandbox.ccc_answers() == [200] * len(jobs)


@pytest.mark.browser
def test_done_when_in_the_browser(make_agent, page, sandbox):
    """The issue's "Done when", from a logged-in browser page with fetch()."""
    make_agent("edward")
    make_agent("sissi", linked=False)

    def sign_in(name):
        page.context.clear_cookies()
        page.goto(f"{sandbox.crm_url}/login/")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", f"{name}-pw-2026")
        page.click("button[type=submit]")
        page.wait_for_url(f"{sandbox.crm_url}/")
        page.wait_for_load_state("networkidle")  # the workbench's softphone has loaded

    fetch = """async ([action, body, type]) => {
        const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        const r = await fetch('/aliyun/ccc/api?action=' + action, {method: 'POST',
            headers: {'X-CSRFToken': token, 'Content-Type': type},
            body: typeof body === 'string' ? body : new Uint8Array(body)});
        return [r.status, await r.json()];
    }"""
    form = "application/x-www-form-urlencoded"
    sign_in("edward")
    answered_before = len(sandbox.ccc_answers())  # the workbench's own softphone calls
    request = "request=" + json.dumps({"instanceId": "ccc-sandbox-instance"})
    status, body = page.evaluate(fetch, ["ListSkillGroupsOfUser", request, form])
    assert status == 200, body
    assert [s["skill"]["skillGroupName"] for s in body["skillLevels"]] == ["Sales", "Support"]
    assert body["skillLevels"][0]["skillLevelId"].endswith("-8001")

    status, body = page.evaluate(fetch, ["NoSuchAction", "request={}", form])
    assert (status, body["errorCode"]) == (403, "ActionNotAllowed")
    for raw, type_ in [
        ("", form),
        ("request=not-json", form),
        ("request=[1]", form),
        ("", "application/json"),
        ("{nope", "application/json"),
        ("42", "application/json"),
        ([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D], "application/json"),
    ]:
        status, body = page.evaluate(fetch, ["ListSkillGroupsOfUser", raw, type_])
        assert status == 400, (raw, body)
        assert body["errorCode"] in {"MissingRequest", "InvalidRequest"}

    sign_in("sissi")
    status, body = page.evaluate(fetch, ["ListSkillGroupsOfUser", "request={}", form])
    assert (status, body["errorCode"], body["linkUrl"]) == (401, "NotAuthenticated", "/aliyun/auth")
    assert sandbox.ccc_answers()[answered_before:] == [200]  # only the first call reached it
    # The browser reports each deliberate 4xx as a failed resource load; nothing else may fail.
    assert [p for p in page.problems if "Failed to load resource" not in p] == []


SOFTPHONE_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<div id="softphone"></div>
<script src="/static/aliyun_sandbox/workbench-sdk.js"></script>
<script>
  window.errors = [];
  window.workbench = new WorkbenchSdk({
    dom: "softphone", instanceId: "ccc-sandbox-instance", ajaxPath: "/aliyun/ccc/api",
    ajaxMethod: "post", header: true,
    ajaxHeaders: {"X-CSRFToken": document.cookie.match(/csrftoken=([^;]+)/)[1]},
    onErrorNotify: function (error) { window.errors.push(error); }
  });
</script></body></html>"""


@pytest.mark.browser
@pytest.mark.bypass_csp
def test_softphone_sdk_through_the_proxy(make_agent, page, sandbox):
    """The softphone SDK (the sandbox's stand-in, unmodified) starts through the real proxy: it
    loads the agent's login info and skill groups, converted as it expects."""
    edward = make_agent("edward")
    page.context.add_cookies(
        [
            {"name": name, "value": edward.http.cookies.get(name), "url": sandbox.crm_url}
            for name in ("sessionid", "csrftoken")
        ]
    )
    seen = []
    page.on(
        "response",
        lambda r: (
            seen.append((r.url.split("action=")[1], r.status))
            if "/aliyun/ccc/api" in r.url
            else None
        ),
    )
    # A page of the CRM's site without the workbench's own softphone, rewritten (an inline script:
    # hence bypass_csp, as the CRM's own pages refuse inline scripts).
    page.goto(f"{sandbox.crm_url}/login/")
    page.set_content(SOFTPHONE_PAGE)
    page.wait_for_function("() => document.querySelectorAll('.wbsdk-groups input').length === 2")
    assert page.evaluate("window.errors") == [], page.problems
    assert ("RequestLoginInfo", 200) in seen and ("ListSkillGroupsOfUser", 200) in seen
    assert all(status == 200 for _, status in seen), seen
    assert sandbox.ccc_answers() == [200] * len(seen)
    assert page.problems == []
