"""/aliyun/ccc/api/debug: DEBUG-only developer page, through the same checks as the API."""

import re


def test_debug_page_is_404_without_debug(make_agent, settings):
    settings.DEBUG = False
    edward = make_agent("edward")
    response = edward.http.get(f"{edward.crm_url}/aliyun/ccc/api/debug", timeout=10)
    assert response.status_code == 404


def test_debug_page_requires_login(sandbox, settings, transactional_db):
    import requests

    settings.DEBUG = True
    response = requests.get(
        f"{sandbox.crm_url}/aliyun/ccc/api/debug", allow_redirects=False, timeout=10
    )
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


def test_debug_page_shows_raw_and_converted_answers(make_agent, sandbox, settings):
    settings.DEBUG = True
    edward = make_agent("edward")
    url = f"{edward.crm_url}/aliyun/ccc/api/debug"
    page = edward.http.get(url, timeout=10)
    assert page.status_code == 200
    assert '<option value="ListSkillGroupsOfUser"' in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = edward.http.post(
        url,
        data={"csrfmiddlewaretoken": token, "action": "ListSkillGroupsOfUser", "request": "{}"},
        headers={"Referer": url},
        timeout=10,
    )
    assert answer.status_code == 200
    assert "HTTP 200" in answer.text
    assert "&quot;SkillLevels&quot;: {" in answer.text  # raw
    assert "&quot;skillLevels&quot;: [" in answer.text  # converted
    assert sandbox.ccc_answers() == [200]

    refused = edward.http.post(
        url,
        data={"csrfmiddlewaretoken": token, "action": "DeleteInstance", "request": "{}"},
        timeout=10,
    )
    assert "HTTP 403" in refused.text and "ActionNotAllowed" in refused.text
    broken = edward.http.post(
        url,
        data={"csrfmiddlewaretoken": token, "action": "ListSkillGroupsOfUser", "request": "{"},
        timeout=10,
    )
    assert "HTTP 400" in broken.text and "InvalidRequest" in broken.text
    assert sandbox.ccc_answers() == [200]  # the refused requests reached nothing
