"""ccc_proxy.client without the network: token decoding, the SDK client it builds, the env guard."""

import base64
import json

import pytest
from aliyunsdkcore.auth.signers.sts_token_signer import StsTokenSigner
from django.core import checks

from ccc_proxy import client


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


GOOD = {"AccessKeyId": "STS.id", "AccessKeySecret": "s3cret", "SecurityToken": "CAIS-tok"}


@pytest.mark.parametrize("pad", [False, True])
def test_decode_sts_credentials(pad):
    token = b64url(json.dumps({**GOOD, "Expiration": "2026-11-29T15:00:00Z"}).encode())
    if pad:
        token += "=" * (-len(token) % 4)
    creds = client.decode_sts_credentials(token)
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == (
        "STS.id",
        "s3cret",
        "CAIS-tok",
    )
    assert "s3cret" not in repr(creds) and "CAIS" not in repr(creds)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64 at all!",
        b64url(b"\xff\xfe"),
        b64url(b"not json"),
        b64url(b"[1, 2]"),
        b64url(json.dumps({"AccessKeyId": "STS.id"}).encode()),
        b64url(json.dumps({**GOOD, "SecurityToken": ""}).encode()),
        b64url(json.dumps({**GOOD, "AccessKeySecret": 5}).encode()),
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",  # an opaque/JWT access token
    ],
)
def test_undecodable_tokens_are_a_clear_error(token):
    with pytest.raises(client.InvalidAccessToken) as exc:
        client.decode_sts_credentials(token)
    if token:
        assert token not in str(exc.value)


def test_make_client_uses_sts_signer_settings_and_no_retry(settings, monkeypatch):
    for name in client.OVERRIDE_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings.ALIYUN_CCC_REGION = "cn-shanghai"
    settings.ALIYUN_CONNECT_TIMEOUT = 1.5
    settings.ALIYUN_READ_TIMEOUT = 7.0
    settings.ALIYUN_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
    acs = client.make_client(client.StsCredentials("STS.id", "s", "t"))
    try:
        assert isinstance(acs._signer, StsTokenSigner)
        assert acs.get_region_id() == "cn-shanghai"
        assert acs.is_auto_retry() is False
        assert (acs._connect_timeout, acs._read_timeout) == (1.5, 7.0)
        assert acs.get_verify() == "/etc/ssl/certs/ca-certificates.crt"
    finally:
        acs.session.close()
    settings.ALIYUN_CA_BUNDLE = ""
    acs = client.make_client(client.StsCredentials("STS.id", "s", "t"))
    assert acs.get_verify() is True
    acs.session.close()


def test_build_request_is_fresh_post_rpc_with_endpoint_from_settings(settings):
    settings.ALIYUN_CCC_ENDPOINT = "ccc.cn-shanghai.aliyuncs.com"
    settings.ALIYUN_CCC_PROTOCOL = "https"
    settings.ALIYUN_CCC_API_VERSION = "2017-07-05"
    one = client.build_request("ListSkillGroupsOfUser", {"InstanceId": "i"})
    two = client.build_request("ListSkillGroupsOfUser", {})
    assert one is not two and two.get_query_params() == {}
    assert one.get_domain() == "ccc.cn-shanghai.aliyuncs.com"
    assert one.get_method() == "POST" and one.get_protocol_type() == "https"
    assert one.get_version() == "2017-07-05" and one.get_query_params() == {"InstanceId": "i"}


@pytest.mark.parametrize(
    "env",
    [
        {"ALIYUN_ACCESS_KEY_ID": "LTAI", "ALIYUN_ACCESS_KEY_SECRET": "x"},
        {"ALIYUN_ACCESS_KEY_ID": "LTAI"},
        {"ALIYUN_ACCESS_KEY_SECRET": ""},
    ],
)
def test_environment_override_refused(monkeypatch, env):
    for name in client.OVERRIDE_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(client.CredentialOverrideError):
        client.make_client(client.StsCredentials("STS.id", "s", "t"))
    errors = [e for e in checks.run_checks() if e.id == "ccc_proxy.E001"]
    assert len(errors) == 1 and errors[0].level == checks.ERROR
    assert "LTAI" not in errors[0].msg  # names only, never values


def test_no_check_error_without_override(monkeypatch):
    for name in client.OVERRIDE_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert [e for e in checks.run_checks() if e.id.startswith("ccc_proxy.")] == []


def test_allowlist_check(settings):
    settings.CCC_PROXY_ALLOWED_ACTIONS = ["ListSkillGroupsOfUser", "bad action"]
    assert [e.id for e in checks.run_checks() if e.id.startswith("ccc_proxy.")] == [
        "ccc_proxy.E002"
    ]
