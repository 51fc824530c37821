"""End to end: STS credentials from the sandbox's OAuth token endpoint sign CCC calls made with
the unmodified aliyun-python-sdk-core; refresh and revoke reach the CCC OpenAPI."""

import base64
import json

import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ServerException

from tests.aliyun_sandbox.ccc_support import call_sdk, common_params, raw_call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch):
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_SECRET", raising=False)


def sts(access_token: str) -> dict:
    creds = json.loads(base64.urlsafe_b64decode(access_token + "=" * (-len(access_token) % 4)))
    creds["token"] = access_token
    return creds


def test_token_refresh_and_revoke_reach_the_ccc_openapi(sandbox, token_for):
    token = token_for()
    creds = sts(token["access_token"])
    levels = call_sdk(sandbox, creds, "ListSkillGroupsOfUser")["SkillLevels"]["SkillLevel"]
    assert [lvl["Skill"]["SkillGroupId"] for lvl in levels] == ["skg-sales", "skg-support"]
    info = call_sdk(sandbox, creds, "RequestLoginInfo")["LoginInfo"]
    assert (info["UserName"], info["Extension"]) == ("edward", "8001")  # the seeded agent

    # The same access token as a bearer token.
    params = common_params(creds, "ListConfig", AccessKeyId=None, SecurityToken=None)
    params.update(SignatureType="BEARERTOKEN", BearerToken=creds["token"])
    assert raw_call(sandbox, params, sign=False).status_code == 200

    refreshed = requests.post(
        f"{sandbox.oauth_url}/v1/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
        timeout=10,
    ).json()
    new = sts(refreshed["access_token"])
    assert new["AccessKeyId"] != creds["AccessKeyId"]
    assert call_sdk(sandbox, new, "ListConfig")["Success"] is True

    revoked = requests.post(
        f"{sandbox.oauth_url}/v1/revoke",
        data={
            "token": token["refresh_token"],
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
        timeout=10,
    )
    assert revoked.status_code == 200
    for stale in (creds, new):
        with pytest.raises(ServerException) as exc:
            call_sdk(sandbox, stale, "ListSkillGroupsOfUser")
        assert (exc.value.get_http_status(), exc.value.get_error_code()) == (
            400,
            "InvalidSecurityToken.Expired",
        )
