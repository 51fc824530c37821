"""Calling the CCC OpenAPI with one agent's STS credentials, through aliyun-python-sdk-core.

Protocol (docs/PROTOCOL.md §1 and §4): Alibaba's OAuth token endpoint answers an
``access_token`` that is base64url (no padding) of ``{"AccessKeyId": "STS.…",
"AccessKeySecret": "…", "SecurityToken": "…"}`` (sometimes also ``Expiration``). Those STS
credentials sign RPC calls with signature v1.0 (HMAC-SHA1, ``SecurityToken`` added as a
parameter), which is what the SDK's
``StsTokenCredential`` does. Sources: RAM doc 93696 (OAuth web application), the CCC OpenAPI
reference (product ``CCC``, version 2017-07-05, ``ccc.cn-shanghai.aliyuncs.com``), and the
aliyun-python-sdk-core 2.16.1 source (``AcsClient``, ``SignerFactory``).

Only this module knows the shape of the access token. Every failure becomes one of the
exceptions below; no SDK or ``requests`` exception leaves it.
"""

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from typing import Any

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.auth.signers.sts_token_signer import StsTokenSigner
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.http import protocol_type
from aliyunsdkcore.request import CommonRequest
from django.conf import settings

from crmdemo.request_id import upstream_headers
from crmdemo.upstream import BoundedSession

# aliyun-python-sdk-core's SignerFactory signs with these instead of the credential it is given
# when both are in the environment: every agent's call would run as the server's account.
OVERRIDE_ENVIRONMENT_VARIABLES = ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET")

PRODUCT = "CCC"


class CccClientError(Exception):
    """Base of everything this module raises."""


class InvalidAccessToken(CccClientError):
    """The access token does not carry STS credentials in the shape of docs/PROTOCOL.md §1."""


class CredentialOverrideError(CccClientError):
    """``ALIYUN_ACCESS_KEY_ID``/``ALIYUN_ACCESS_KEY_SECRET`` are set in the process environment,
    so the SDK would sign with them instead of the agent's credentials: nothing is called."""


class UpstreamError(CccClientError):
    """The OpenAPI answered with an error (HTTP 4xx/5xx, or HTTP 200 with ``Success: false``).

    ``http_status`` is the upstream's HTTP status (for a 200 answer, its ``HttpStatusCode`` when
    it has one),
    ``code``/``message``/``request_id`` come from its error envelope (``Code``, ``Message``,
    ``RequestId``); ``body`` is the decoded answer when there was one.
    """

    def __init__(
        self,
        http_status: int,
        code: str,
        message: str,
        request_id: str | None,
        body: dict | None = None,
    ):
        super().__init__(f"{code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.body = body


class UpstreamTimeout(CccClientError):
    """The OpenAPI did not answer within the connect or read timeout."""


class UpstreamUnavailable(CccClientError):
    """The OpenAPI could not be reached (DNS, refused connection, TLS), or answered something that
    is not a JSON object. The message never contains the request URL (it carries the
    SecurityToken)."""


@dataclass(frozen=True)
class StsCredentials:
    """One agent's STS credentials. ``repr`` shows only the AccessKeyId."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)


@dataclass(frozen=True)
class CccAnswer:
    """A successful OpenAPI answer: the decoded JSON object and its ``RequestId``."""

    body: dict[str, Any]
    request_id: str | None


def decode_sts_credentials(access_token: str) -> StsCredentials:
    """Return the STS credentials inside an Alibaba Cloud OAuth ``access_token``.

    The token is base64url (padding optional) of a JSON object with string ``AccessKeyId``,
    ``AccessKeySecret`` and ``SecurityToken`` (docs/PROTOCOL.md §1). Raises ``InvalidAccessToken``
    otherwise; the message never contains the token.
    """
    try:
        raw = base64.urlsafe_b64decode(access_token + "=" * (-len(access_token) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidAccessToken("the access token is not base64url JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidAccessToken("the access token is not a JSON object")
    values = [payload.get(k) for k in ("AccessKeyId", "AccessKeySecret", "SecurityToken")]
    if not all(isinstance(v, str) and v for v in values):
        raise InvalidAccessToken(
            "the access token lacks AccessKeyId, AccessKeySecret or SecurityToken"
        )
    return StsCredentials(*values)


def credential_override_variables() -> list[str]:
    """Return the names of the SDK's credential-override variables set in ``os.environ``."""
    return [name for name in OVERRIDE_ENVIRONMENT_VARIABLES if name in os.environ]


def guard_environment() -> None:
    """Raise ``CredentialOverrideError`` when the SDK would ignore the credential it is given.

    aliyun-python-sdk-core 2.16.1 ``SignerFactory.get_signer`` uses ``ALIYUN_ACCESS_KEY_ID`` and
    ``ALIYUN_ACCESS_KEY_SECRET`` from the environment ahead of the ``credential`` argument. Any of
    the two being set (even empty) is refused: it is a misconfiguration either way.
    """
    names = credential_override_variables()
    if names:
        raise CredentialOverrideError(
            f"{' and '.join(names)} set in the environment would replace the agent's "
            "credentials in aliyun-python-sdk-core; unset them"
        )


def make_client(credentials: StsCredentials) -> AcsClient:
    """Build an ``AcsClient`` that signs with ``credentials`` (``StsTokenCredential``).

    Region, timeouts (``ALIYUN_CONNECT_TIMEOUT``/``ALIYUN_READ_TIMEOUT``, seconds; the whole
    answer within ``ALIYUN_UPSTREAM_DEADLINE`` s and ``ALIYUN_MAX_ANSWER_BYTES``) and the CA
    bundle (``ALIYUN_CA_BUNDLE``; empty = the system's CAs) come from settings; automatic retries
    are off. Raises ``CredentialOverrideError`` (see ``guard_environment``), checked both before
    and after the SDK picks its signer.
    """
    guard_environment()
    client = AcsClient(
        region_id=settings.ALIYUN_CCC_REGION,
        credential=StsTokenCredential(
            credentials.access_key_id, credentials.access_key_secret, credentials.security_token
        ),
        auto_retry=False,
        max_retry_time=0,
        connect_timeout=settings.ALIYUN_CONNECT_TIMEOUT,
        timeout=settings.ALIYUN_READ_TIMEOUT,
        verify=settings.ALIYUN_CA_BUNDLE or True,
    )
    # The signer is chosen in the constructor; make sure it is the agent's STS signer.
    if not isinstance(client._signer, StsTokenSigner):
        raise CredentialOverrideError("aliyun-python-sdk-core did not pick the STS signer")
    # The SDK sends through client.session: answers bounded in size and total time.
    client.session.close()
    client.session = BoundedSession()
    return client


def build_request(action: str, parameters: dict[str, str]) -> CommonRequest:
    """Return a new RPC ``CommonRequest`` for ``action`` with ``parameters`` as query parameters.

    Endpoint (``ALIYUN_CCC_ENDPOINT``, ``host[:port][/prefix]``), protocol and API version come
    from settings; the method is POST, the answer format JSON.
    """
    request = CommonRequest(
        domain=settings.ALIYUN_CCC_ENDPOINT,
        version=settings.ALIYUN_CCC_API_VERSION,
        action_name=action,
        product=PRODUCT,
    )
    request.set_method("POST")
    request.set_accept_format("JSON")
    request.set_protocol_type(
        protocol_type.HTTPS if settings.ALIYUN_CCC_PROTOCOL == "https" else protocol_type.HTTP
    )
    for name, value in parameters.items():
        request.add_query_param(name, value)
    # The CRM's request id as an HTTP header: RPC signatures cover the query only, so it changes
    # nothing Alibaba checks (crmdemo.request_id).
    for name, value in upstream_headers().items():
        request.add_header(name, value)
    return request


def _decode_json_object(body: bytes | None) -> dict | None:
    try:
        value = json.loads((body or b"").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def call(credentials: StsCredentials, action: str, parameters: dict[str, str]) -> CccAnswer:
    """Call OpenAPI ``action`` once, signed with ``credentials``, and return its answer.

    Raises ``UpstreamError`` for an HTTP error status or a 200 answer with ``Success: false``,
    ``UpstreamTimeout`` past the connect/read timeout, ``UpstreamUnavailable`` when the endpoint
    cannot be reached or does not answer a JSON object, ``CredentialOverrideError`` (see
    ``guard_environment``). Nothing is retried.
    """
    client = make_client(credentials)
    request = build_request(action, parameters)
    try:
        body = client.do_action_with_exception(request)
    except ServerException as exc:
        status = exc.get_http_status() or 502
        code, message = str(exc.get_error_code()), str(exc.get_error_msg())
        if code == "SDK.UnknownServerError":  # no JSON error envelope: do not echo the page
            message = f"the CCC OpenAPI answered HTTP {status} without an error code"
        raise UpstreamError(
            http_status=status, code=code, message=message[:500], request_id=exc.get_request_id()
        ) from None
    except ClientException as exc:
        # The SDK's message for network errors contains the signed URL, SecurityToken included:
        # it is neither kept nor logged.
        if exc.get_error_code() == "SDK.HttpError" and "timed out" in exc.get_error_msg():
            raise UpstreamTimeout(f"{action}: no answer from the CCC OpenAPI in time") from None
        if exc.get_error_code() == "SDK.HttpError" and "too large" in exc.get_error_msg():
            raise UpstreamUnavailable(f"{action}: the CCC OpenAPI answered too much") from None
        raise UpstreamUnavailable(
            f"{action}: the CCC OpenAPI could not be reached ({exc.get_error_code()})"
        ) from None
    except Exception as exc:  # an SDK fault must not become a 500 (e.g. its SignatureDoesNotMatch
        # handling indexes the upstream message blindly).
        raise UpstreamUnavailable(
            f"{action}: the CCC client failed ({type(exc).__name__})"
        ) from None
    finally:
        client.session.close()

    decoded = _decode_json_object(body)
    if decoded is None:
        raise UpstreamUnavailable(f"{action}: the CCC OpenAPI answered something that is not JSON")
    request_id = decoded.get("RequestId")
    if decoded.get("Success") is False:
        reported = decoded.get("HttpStatusCode")
        raise UpstreamError(
            http_status=reported if isinstance(reported, int) else 200,
            code=str(decoded.get("Code") or "UnknownError"),
            message=str(decoded.get("Message") or "the CCC OpenAPI reported a failure")[:500],
            request_id=request_id,
            body=decoded,
        )
    return CccAnswer(body=decoded, request_id=request_id)
