"""ccc_proxy.client without the network: token decoding, the SDK client it builds, the env guard."""

import base64
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from aliyunsdkcore.auth.credentials import AccessKeyCredential
from aliyunsdkcore.auth.signers.access_key_signer import AccessKeySigner
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
        assert (acs.get_access_key(), acs.get_access_secret()) == ("STS.id", "s")
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
    assert one.endpoint == "ccc.cn-shanghai.aliyuncs.com"
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


def signed_query(credentials, parameters=None, version="2020-07-01") -> dict[str, str]:
    """The query the SDK sends for ``credentials``: built by ``build_request`` and signed by the
    signer of the ``AcsClient`` that ``make_client`` builds (its public ``sign``)."""
    request = client.build_request("GetLoginDetails", parameters or {}, credentials, version)
    acs = client.make_client(credentials)
    try:
        signer = AccessKeySigner(AccessKeyCredential(acs.get_access_key(), acs.get_access_secret()))
        _, url = signer.sign(acs.get_region_id(), request)
    finally:
        acs.session.close()
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_sts_mode_signs_hmac_with_the_security_token(monkeypatch):
    for name in client.OVERRIDE_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    query = signed_query(client.StsCredentials("STS.agent", "agent-secret", "CAIS-agent"))
    assert query["AccessKeyId"] == "STS.agent" and query["SecurityToken"] == "CAIS-agent"
    assert query["SignatureMethod"] == "HMAC-SHA1" and query["SignatureType"] == ""
    assert query["Signature"] and "BearerToken" not in query
    assert query["Version"] == "2020-07-01"


def test_bearer_mode_sends_the_token_without_hmac(monkeypatch):
    for name in client.OVERRIDE_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    query = signed_query(client.BearerToken("ot-opaque-token"))
    assert query["SignatureType"] == "BEARERTOKEN" and query["BearerToken"] == "ot-opaque-token"
    assert query["AccessKeyId"] == "" and query["Signature"] == ""
    assert "SecurityToken" not in query
    assert "ot-opaque" not in repr(client.BearerToken("ot-opaque-token"))


@pytest.mark.parametrize(
    "credentials",
    [client.StsCredentials("STS.agent", "agent-secret", "CAIS-agent"), client.BearerToken("ot-1")],
)
def test_environment_keys_never_replace_the_agents_credentials(monkeypatch, fake_ccc, credentials):
    """Even past the refusal (guard_environment), what reaches the OpenAPI carries the agent's
    credentials: the client is built from the agent's own pair, which aliyun-python-sdk-core's
    SignerFactory prefers to the environment's keys."""
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_ID", "LTAI-server")
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_SECRET", "server-secret")
    monkeypatch.setattr(client, "guard_environment", lambda: None)
    fake_ccc.handler = lambda params: (200, {"RequestId": "R", "Code": "OK", "Data": {}})
    answer = client.call(credentials, "GetLoginDetails", {"InstanceId": "i"}, "2020-07-01")
    assert answer.request_id == "R"
    (sent,) = fake_ccc.requests
    assert "LTAI-server" not in sent.values()
    if isinstance(credentials, client.BearerToken):
        assert (sent["SignatureType"], sent["BearerToken"]) == ("BEARERTOKEN", "ot-1")
        assert not sent.get("AccessKeyId") and "SecurityToken" not in sent
    else:
        assert (sent["AccessKeyId"], sent["SecurityToken"]) == ("STS.agent", "CAIS-agent")


@pytest.mark.parametrize("token", ["ot-opaque", "abc.def.ghi", "x" * 40])
def test_opaque_tokens_are_bearer_and_sts_json_is_sts(token):
    assert client.credentials_for(token) == client.BearerToken(token)
    sts = b64url(json.dumps(GOOD).encode())
    assert client.credentials_for(sts) == client.StsCredentials("STS.id", "s3cret", "CAIS-tok")


@pytest.mark.parametrize(
    "token", ["", "has space", "tab\there", b64url(json.dumps({"AccessKeyId": "STS.id"}).encode())]
)
def test_unusable_tokens_are_refused(token):
    with pytest.raises(client.InvalidAccessToken):
        client.credentials_for(token)


def test_request_parameters_cannot_replace_the_credentials(monkeypatch):
    for name in client.OVERRIDE_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    query = signed_query(client.BearerToken("ot-real"), {"BearerToken": "ot-forged"})
    assert query["BearerToken"] == "ot-real"
