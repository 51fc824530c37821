"""Upstream answers are bounded: a token, userinfo, JWKS or discovery answer larger than
ALIYUN_MAX_ANSWER_BYTES, or one that drips past ALIYUN_UPSTREAM_DEADLINE, is the product's own
502 and nothing is stored. The upstream is a local misbehaving server (tests/hostile_server.py)."""

import pytest

from aliyun_oauth import client as oauth_client
from aliyun_oauth.exceptions import OAuthUpstreamError
from aliyun_oauth.models import LinkedAccount
from tests.aliyun_oauth.conftest import auth_params, start_link
from tests.hostile_server import HEADER_DRIP_BYTES, HostileServer
from workbench.devcert import ensure_dev_certificate

pytestmark = pytest.mark.django_db


def _link(client, provider):
    params = auth_params(start_link(client))
    provider.nonce = params["nonce"]
    return client.post(
        "/aliyun/auth/callback", {"code": "code-1234567890", "state": params["state"]}
    )


@pytest.mark.parametrize("mode", ["huge", "huge-declared"])
def test_a_200_mib_token_answer_is_a_502_and_nothing_is_stored(
    fake_provider, edward_client, settings, mode
):
    with HostileServer(mode) as hostile:
        settings.ALIYUN_OAUTH_TOKEN_URL = hostile.url + "/token"
        response = _link(edward_client, fake_provider)
        assert hostile.requests == 1
    assert response.status_code == 502, response.content[:300]
    assert "Nothing was stored" in response.content.decode()
    assert not LinkedAccount.objects.exists()


def test_a_token_answer_dripping_past_the_deadline_is_a_502(fake_provider, edward_client, settings):
    # A valid answer, one byte every 20 ms: every read is far within the read timeout, the whole
    # answer takes seconds. Without a total deadline the account would be linked.
    settings.ALIYUN_READ_TIMEOUT = 1.0
    settings.ALIYUN_UPSTREAM_DEADLINE = 0.5
    answer = fake_provider.token_answer()
    with HostileServer("drip", body=answer, drip_interval=0.02) as hostile:
        settings.ALIYUN_OAUTH_TOKEN_URL = hostile.url + "/token"
        response = _link(edward_client, fake_provider)
        assert 0 < hostile.sent < len(str(answer))
    assert response.status_code == 502, response.content[:300]
    assert "did not answer in time" in response.content.decode()
    assert not LinkedAccount.objects.exists()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_token_answer_dripping_its_headers_past_the_deadline_is_a_502(
    fake_provider, edward_client, settings, tmp_path, scheme
):
    # The status line and headers arrive one byte every 10 ms: each read is quick, the headers
    # take 10 s. The deadline must end the call while the headers are still coming, not after.
    settings.ALIYUN_READ_TIMEOUT = 1.0
    settings.ALIYUN_UPSTREAM_DEADLINE = 0.3
    tls = None
    if scheme == "https":  # the socket the deadline shuts down is wrapped in TLS after connect
        tls = ensure_dev_certificate(tmp_path)
        settings.ALIYUN_CA_BUNDLE = str(tls[0])
    answer = fake_provider.token_answer()
    with HostileServer("header-drip", body=answer, drip_interval=0.01, tls=tls) as hostile:
        settings.ALIYUN_OAUTH_TOKEN_URL = hostile.url + "/token"
        response = _link(edward_client, fake_provider)
        # The client hung up near the deadline (about 30 bytes), long before the headers ended.
        assert 0 < hostile.sent < HEADER_DRIP_BYTES / 3
    assert response.status_code == 502, response.content[:300]
    assert "did not answer in time" in response.content.decode()
    assert not LinkedAccount.objects.exists()


@pytest.mark.parametrize("endpoint", ["userinfo", "jwks", "discovery"])
def test_huge_userinfo_jwks_and_discovery_answers_are_refused(fake_provider, settings, endpoint):
    settings.ALIYUN_MAX_ANSWER_BYTES = 64 * 1024
    with HostileServer("huge") as hostile:
        url = f"{hostile.url}/{endpoint}"
        with pytest.raises(OAuthUpstreamError):
            if endpoint == "userinfo":
                settings.ALIYUN_OAUTH_USERINFO_URL = url
                oauth_client.userinfo(oauth_client.provider_config(), "at-1")
            elif endpoint == "jwks":
                settings.ALIYUN_OAUTH_JWKS_URL = url
                oauth_client._jwks(url, refetch=True)
            else:
                settings.ALIYUN_OAUTH_DISCOVERY_URL = url + "/.well-known/openid-configuration"
                oauth_client.provider_config()
        assert hostile.sent < 64 * 1024 * 1024  # it stopped reading long before the end


def test_answers_within_the_limits_still_link(fake_provider, edward_client, settings):
    settings.ALIYUN_MAX_ANSWER_BYTES = 16 * 1024
    response = _link(edward_client, fake_provider)
    assert response.status_code == 302
    assert LinkedAccount.objects.count() == 1
