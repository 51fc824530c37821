"""Calling the CCC OpenAPI as one agent, through aliyun-python-sdk-core.

Protocol (docs/ccc-openapi.md): Alibaba's OAuth token endpoint answers an ``access_token`` that
is either base64url (no padding) of ``{"AccessKeyId": "STS.…", "AccessKeySecret": "…",
"SecurityToken": "…"}`` (sometimes also ``Expiration``), or an opaque string. STS credentials
sign RPC calls with signature v1.0 (HMAC-SHA1, ``SecurityToken`` added as a parameter); an opaque
token is sent as ``SignatureType=BEARERTOKEN`` + ``BearerToken=<access_token>`` with no HMAC, as
Alibaba's Java CRM demo does with ``BearerTokenCredentials``. Sources: RAM doc 93696 (OAuth web
application), the CCC OpenAPI reference (product ``CCC``, versions 2017-07-05 and 2020-07-01,
``ccc.cn-shanghai.aliyuncs.com``), and the aliyun-python-sdk-core 2.16.1 source (``AcsClient``,
``SignerFactory``, ``RpcRequest``, ``rpc_signature_composer``).

Both modes use only the SDK's public API: an ``RpcRequest`` (its ``signer`` argument names the
signature algorithm) sent by an ``AcsClient`` built from an access key pair. That pair is the
agent's STS AccessKeyId/secret, or empty ones in bearer mode; the SDK's ``SignerFactory`` takes
an access key pair given to the client ahead of ``ALIYUN_ACCESS_KEY_ID``/``..._SECRET`` in the
environment, so the server's own keys can never replace the agent's credentials.

Only this module knows the shape of the access token. Every failure becomes one of the
exceptions below; no SDK or ``requests`` exception leaves it.
"""

import base64
import binascii
import http.cookiejar
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.http import protocol_type
from aliyunsdkcore.request import RpcRequest
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
    """The access token is unusable: empty, or STS JSON that lacks a credential."""


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
class BearerToken:
    """An opaque OAuth access token, sent as ``BearerToken``. ``repr`` hides it."""

    value: str = field(repr=False)


Credentials = StsCredentials | BearerToken


@dataclass(frozen=True)
class CccAnswer:
    """A successful OpenAPI answer: the decoded JSON object and its ``RequestId``."""

    body: dict[str, Any]
    request_id: str | None


def decode_sts_credentials(access_token: str) -> StsCredentials:
    """Return the STS credentials inside an Alibaba Cloud OAuth ``access_token``.

    The token is base64url (padding optional) of a JSON object with string ``AccessKeyId``,
    ``AccessKeySecret`` and ``SecurityToken`` (docs/ccc-openapi.md). Raises ``InvalidAccessToken``
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


def _looks_like_sts_json(access_token: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(access_token + "=" * (-len(access_token) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, TypeError):
        return False
    return isinstance(payload, dict) and "AccessKeyId" in payload


def credentials_for(access_token: str) -> Credentials:
    """Return how to call CCC with an OAuth ``access_token``: ``StsCredentials`` when it is the
    STS JSON of docs/ccc-openapi.md, else the token itself as a ``BearerToken`` (opaque tokens).

    Raises ``InvalidAccessToken`` for an empty token, one with characters that cannot travel
    in a URL parameter unchanged (control characters, spaces), or STS JSON lacking a field.
    """
    if _looks_like_sts_json(access_token):
        return decode_sts_credentials(access_token)
    if not access_token or not access_token.isprintable() or " " in access_token:
        raise InvalidAccessToken("the access token is empty or not a token")
    return BearerToken(access_token)


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


class _BearerTokenAlgorithm:
    """The ``signer`` an ``RpcRequest`` asks for its ``Signature*`` parameters, in bearer mode:
    ``SignatureType=BEARERTOKEN`` and no HMAC (an empty ``Signature``). Same interface as the
    SDK's ``aliyunsdkcore.auth.algorithm.sha_hmac1`` module."""

    @staticmethod
    def get_signer_name() -> str:
        return "HMAC-SHA1"

    @staticmethod
    def get_signer_version() -> str:
        return "1.0"

    @staticmethod
    def get_signer_type() -> str:
        return "BEARERTOKEN"

    @staticmethod
    def get_sign_string(source: str, secret: str) -> str:
        return ""


# How many agents' clients each process keeps (least recently used dropped first).
CLIENT_CACHE_SIZE = 256


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Refuses every cookie: the shared session must carry nothing from one agent's call into
    another's (the OpenAPI is authenticated by the signed query alone)."""

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False


_lock = threading.Lock()
_shared = {"pid": None, "session": None, "clients": OrderedDict()}


def _shared_state() -> dict:
    """This process's shared session and client cache, made anew after a fork (gunicorn loads
    the app before forking its workers: a pooled socket must never be shared by two processes)."""
    if _shared["pid"] != os.getpid():
        session = BoundedSession()
        session.cookies.set_policy(_NoCookies())
        _shared.update(pid=os.getpid(), session=session, clients=OrderedDict())
    return _shared


def _new_client(key_id: str, secret: str) -> AcsClient:
    client = AcsClient(
        ak=key_id,
        secret=secret,
        region_id=settings.ALIYUN_CCC_REGION,
        auto_retry=False,
        max_retry_time=0,
        connect_timeout=settings.ALIYUN_CONNECT_TIMEOUT,
        timeout=settings.ALIYUN_READ_TIMEOUT,
        verify=settings.ALIYUN_CA_BUNDLE or True,
    )
    client.session.close()
    return client


def make_client(credentials: Credentials) -> AcsClient:
    """Return an ``AcsClient`` that signs as ``credentials``, reused across calls.

    STS: the client holds the STS AccessKeyId/secret as its access key pair (the
    ``SecurityToken`` is a parameter of the request, see ``build_request``). Bearer: an empty
    pair, the request's algorithm signs nothing (the token is a request parameter). A pair given
    to the client always wins over the environment's ``ALIYUN_ACCESS_KEY_ID``/``..._SECRET`` in
    the SDK's ``SignerFactory``; those are refused anyway (``CredentialOverrideError``, see
    ``guard_environment``).

    Speed without mixing credentials: building an ``AcsClient`` re-reads the SDK's endpoint
    data (milliseconds), so each process keeps up to ``CLIENT_CACHE_SIZE`` clients keyed by the
    exact access key pair and the settings they were built with: a client only ever signs with
    the pair it was built with, and the SDK's signer and ``do_action`` keep no per-call state on
    the client, so threads share it. Every client sends through one ``BoundedSession`` per process
    (HTTP keep-alive to the endpoint; answers bounded by ``ALIYUN_UPSTREAM_DEADLINE`` s and
    ``ALIYUN_MAX_ANSWER_BYTES``; cookies refused). Region, timeouts (``ALIYUN_CONNECT_TIMEOUT``/
    ``ALIYUN_READ_TIMEOUT``, seconds) and the CA bundle (``ALIYUN_CA_BUNDLE``; empty = the
    system's CAs) come from settings; retries are off.
    """
    guard_environment()
    if isinstance(credentials, StsCredentials):
        key_id, secret = credentials.access_key_id, credentials.access_key_secret
    else:
        key_id, secret = "", ""
    key = (
        key_id,
        secret,
        settings.ALIYUN_CCC_REGION,
        settings.ALIYUN_CONNECT_TIMEOUT,
        settings.ALIYUN_READ_TIMEOUT,
        settings.ALIYUN_CA_BUNDLE,
    )
    with _lock:
        state = _shared_state()
        clients = state["clients"]
        client = clients.get(key)
        if client is not None:
            clients.move_to_end(key)
            return client
    client = _new_client(key_id, secret)  # outside the lock: the slow part
    client.session = state["session"]
    with _lock:
        clients[key] = client
        while len(clients) > CLIENT_CACHE_SIZE:
            clients.popitem(last=False)
    return client


def build_request(
    action: str,
    parameters: dict[str, str],
    credentials: Credentials | None = None,
    version: str | None = None,
) -> RpcRequest:
    """Return a new RPC request for ``action`` with ``parameters`` as query parameters.

    ``credentials`` add ``SecurityToken`` (STS) or ``BearerToken`` with the bearer algorithm.
    Endpoint (``ALIYUN_CCC_ENDPOINT``, ``host[:port][/prefix]``), protocol and API version
    (``version``, default ``ALIYUN_CCC_API_VERSION``) come from settings; the method is POST,
    the answer format JSON.
    """
    bearer = isinstance(credentials, BearerToken)
    request = RpcRequest(
        PRODUCT,
        version or settings.ALIYUN_CCC_API_VERSION,
        action,
        signer=_BearerTokenAlgorithm if bearer else sha_hmac1,
    )
    request.set_endpoint(settings.ALIYUN_CCC_ENDPOINT)
    request.set_method("POST")
    request.set_accept_format("JSON")
    request.set_protocol_type(
        protocol_type.HTTPS if settings.ALIYUN_CCC_PROTOCOL == "https" else protocol_type.HTTP
    )
    for name, value in parameters.items():
        request.add_query_param(name, value)
    # Added last, so that no request parameter can replace them.
    if isinstance(credentials, StsCredentials):
        request.add_query_param("SecurityToken", credentials.security_token)
    elif bearer:
        request.add_query_param("BearerToken", credentials.value)
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


def call(
    credentials: Credentials, action: str, parameters: dict[str, str], version: str | None = None
) -> CccAnswer:
    """Call OpenAPI ``action`` (API ``version``, default ``ALIYUN_CCC_API_VERSION``) once as
    ``credentials`` and return its answer.

    Raises ``UpstreamError`` for an HTTP error status or a 200 answer with ``Success: false``,
    ``UpstreamTimeout`` past the connect/read timeout, ``UpstreamUnavailable`` when the endpoint
    cannot be reached or does not answer a JSON object, ``CredentialOverrideError`` (see
    ``guard_environment``). Nothing is retried.
    """
    client = make_client(credentials)
    request = build_request(action, parameters, credentials, version)
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
