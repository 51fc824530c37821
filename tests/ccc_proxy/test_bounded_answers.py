"""A CCC OpenAPI answer larger than ALIYUN_MAX_ANSWER_BYTES is the proxy's own 502, never passed
to the browser; one that drips past ALIYUN_UPSTREAM_DEADLINE is its 504. The upstream is a local
misbehaving server (tests/hostile_server.py)."""

import pytest

from aliyun_oauth import services as oauth_services
from ccc_proxy import client
from tests.hostile_server import HEADER_DRIP_BYTES, HostileServer

CREDENTIALS = client.StsCredentials("STS.test", "secret", "token")
SKILLS = {"RequestId": "R", "Success": True, "Code": "OK", "SkillLevels": {"SkillLevel": []}}


@pytest.fixture
def edward(make_agent):
    return make_agent("edward")


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_SECRET", raising=False)


def _point_at(settings, hostile):
    settings.ALIYUN_CCC_ENDPOINT = hostile.host + "/ccc"
    settings.ALIYUN_CCC_PROTOCOL = "http"


@pytest.mark.parametrize("mode", ["huge", "huge-declared"])
def test_a_200_mib_ccc_answer_is_the_proxys_502(edward, settings, mode):
    with HostileServer(mode) as hostile:
        _point_at(settings, hostile)
        response = edward.call("ListSkillGroupsOfUser", {})
        assert hostile.requests == 1
    assert response.status_code == 502, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["errorCode"] == "UpstreamUnavailable"
    assert len(response.content) < 1000


def test_a_ccc_answer_dripping_past_the_deadline_is_a_timeout(settings):
    settings.ALIYUN_READ_TIMEOUT = 1.0
    settings.ALIYUN_UPSTREAM_DEADLINE = 0.5
    with HostileServer("drip", body=SKILLS, drip_interval=0.02) as hostile:
        _point_at(settings, hostile)
        with pytest.raises(client.UpstreamTimeout):
            client.call(CREDENTIALS, "ListSkillGroupsOfUser", {"InstanceId": "i"})
        assert 0 < hostile.sent < len(str(SKILLS))


def test_a_ccc_answer_dripping_its_headers_past_the_deadline_is_the_proxys_504(edward, settings):
    # The status line and headers arrive one byte every 10 ms: each read is quick, the headers
    # take 10 s. The proxy must give up at the deadline, while the headers are still coming.
    settings.ALIYUN_READ_TIMEOUT = 1.0
    settings.ALIYUN_UPSTREAM_DEADLINE = 0.3
    token = oauth_services.get_valid_token(edward.user).access_token
    with HostileServer("header-drip", body=SKILLS, drip_interval=0.01) as hostile:
        _point_at(settings, hostile)
        response = edward.call("ListSkillGroupsOfUser", {})
        # The proxy hung up near the deadline (about 30 bytes), long before the headers ended.
        assert 0 < hostile.sent < HEADER_DRIP_BYTES / 3
    assert response.status_code == 504, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["errorCode"] == "UpstreamTimeout"
    assert oauth_services.get_valid_token(edward.user).access_token == token  # nothing stored


def test_a_ccc_answer_dripping_its_headers_is_a_timeout_in_the_client(settings):
    settings.ALIYUN_READ_TIMEOUT = 1.0
    settings.ALIYUN_UPSTREAM_DEADLINE = 0.3
    with HostileServer("header-drip", body=SKILLS, drip_interval=0.01) as hostile:
        _point_at(settings, hostile)
        with pytest.raises(client.UpstreamTimeout):
            client.call(CREDENTIALS, "ListSkillGroupsOfUser", {"InstanceId": "i"})
        assert 0 < hostile.sent < HEADER_DRIP_BYTES / 3


def test_a_ccc_answer_within_the_limits_is_read(settings):
    settings.ALIYUN_UPSTREAM_DEADLINE = 30
    with HostileServer("drip", body=SKILLS, drip_interval=0) as hostile:
        _point_at(settings, hostile)
        answer = client.call(CREDENTIALS, "ListSkillGroupsOfUser", {"InstanceId": "i"})
    assert answer.body == SKILLS
