"""Helpers for the CCC sandbox tests: cloud users, STS credentials, SDK and raw RPC clients.

The raw client signs with its own implementation of signature v1.0 (written from Alibaba's
public description, not from the sandbox's code), so the tests check the sandbox against an
independent computation.
"""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import requests
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from aliyun_sandbox.models import CloudUser
from aliyun_sandbox.oauth.tokens import issue_access_token

INSTANCE = "ccc-sandbox-instance"


def make_user(name="edward", **extra) -> CloudUser:
    fields = {
        "upn": f"{name}@crmdemo.onaliyun.com",
        "display_name": name.title(),
        "uid": str(abs(hash(name)) % 10**16),
        "aid": "1234567890123456",
    }
    fields.update(extra)
    user = CloudUser(**fields)
    user.set_password("pw")
    user.save()
    return user


def sts_for(user, scope="openid aliuid profile /acs/ccc", lifetime=None) -> dict:
    """Issue an access token and return its decoded STS credentials plus ``token``/``row``."""
    issued = issue_access_token(user, "crmdemo-sandbox", scope=scope, lifetime=lifetime)
    padded = issued.value + "=" * (-len(issued.value) % 4)
    creds = json.loads(base64.urlsafe_b64decode(padded))
    creds["token"] = issued.value
    creds["row"] = issued.row
    return creds


def sdk_client(creds) -> AcsClient:
    cred = StsTokenCredential(
        creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"]
    )
    return AcsClient(region_id="cn-shanghai", credential=cred, timeout=10)


def sdk_request(endpoint, action, method="GET", body=None, **params) -> CommonRequest:
    req = CommonRequest(domain=endpoint, version="2017-07-05", action_name=action, product="CCC")
    req.set_protocol_type("http")
    req.set_method(method)
    params.setdefault("InstanceId", INSTANCE)
    for key, value in params.items():
        req.add_query_param(key, value)
    for key, value in (body or {}).items():
        req.add_body_params(key, value)
    return req


def send(creds, request) -> dict:
    """Send ``request`` with a fresh AcsClient, closing its keep-alive connections after."""
    client = sdk_client(creds)
    try:
        return json.loads(client.do_action_with_exception(request))
    finally:
        client.session.close()


def call_sdk(sandbox, creds, action, **params) -> dict:
    return send(creds, sdk_request(sandbox.ccc_endpoint, action, **params))


def pe(value: str) -> str:
    return quote(value, safe="~")


def independent_signature(method: str, params: dict, secret: str) -> str:
    canonical = "&".join(f"{pe(k)}={pe(v)}" for k, v in sorted(params.items()))
    text = method + "&%2F&" + pe(canonical)
    return base64.b64encode(
        hmac.new((secret + "&").encode(), text.encode(), hashlib.sha1).digest()
    ).decode()


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def common_params(creds, action, **extra) -> dict:
    params = {
        "Action": action,
        "Version": "2017-07-05",
        "Format": "JSON",
        "RegionId": "cn-shanghai",
        "Timestamp": now_stamp(),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "AccessKeyId": creds["AccessKeyId"],
        "SecurityToken": creds["SecurityToken"],
        "InstanceId": INSTANCE,
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def raw_call(sandbox, params, method="GET", secret=None, sign=True, form=None):
    """Sign ``params`` (+ ``form`` body) independently and send them; returns the response."""
    params = dict(params)
    if sign:
        params["Signature"] = independent_signature(method, {**params, **(form or {})}, secret)
    url = f"{sandbox.base_url}/ccc/"
    if method == "GET":
        return requests.get(url, params=params, timeout=10)
    return requests.post(url, params=params, data=form or {}, timeout=10)
