"""Authenticating CCC OpenAPI (RPC) requests the way Alibaba Cloud's API gateway does.

Protocol: Alibaba Cloud RPC signature v1.0 ("签名机制", https://help.aliyun.com/document_detail/315526.html;
the same algorithm in aliyun-python-sdk-core 2.16.1, ``aliyunsdkcore/auth/composer/
rpc_signature_composer.py``; docs/PROTOCOL.md §4):

    canonical  = "&".join(pe(k) + "=" + pe(v) for k, v in sorted(params) if k != "Signature")
    to_sign    = HTTP_METHOD + "&" + pe("/") + "&" + pe(canonical)
    Signature  = base64(HMAC-SHA1(AccessKeySecret + "&", to_sign))

where ``pe`` is RFC 3986 percent-encoding (only ``A-Z a-z 0-9 - _ . ~`` left as they are, UTF-8)
and ``params`` are all query parameters plus the form body parameters. STS credentials add
``SecurityToken``. The alternative ``SignatureType=BEARERTOKEN`` carries an OAuth access_token
in ``BearerToken`` and no HMAC.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from django.db import IntegrityError, transaction
from django.utils import timezone

from aliyun_sandbox.models import AccessToken, UsedNonce, token_hash
from aliyun_sandbox.oauth.tokens import resolve_bearer, resolve_sts
from aliyun_sandbox.router import SANDBOX_DB

# How far the Timestamp may be from the server's clock, either way (Alibaba: 15 minutes).
TIMESTAMP_WINDOW = timedelta(minutes=15)
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class OpenApiError(Exception):
    """An error the OpenAPI answers in its standard envelope.

    ``code`` is Alibaba's error code (``SignatureDoesNotMatch``), ``status`` the HTTP status.
    """

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def missing(name: str) -> OpenApiError:
    """The gateway's answer to a mandatory parameter that is absent or empty."""
    return OpenApiError(
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not '
        "supplied.",
        400,
    )


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 ``value`` as the RPC signature requires."""
    return quote(value, safe="~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    """Return the v1.0 string-to-sign for ``params`` (``Signature`` itself excluded)."""
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}"
        for k, v in sorted(params.items())
        if k != "Signature"
    )
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def sign(secret: str, text: str) -> str:
    """Return base64(HMAC-SHA1(secret + "&", text)), the v1.0 ``Signature``."""
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _check_timestamp(value: str, now: datetime) -> None:
    try:
        when = datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise OpenApiError(
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
            400,
        ) from None
    if abs(now - when) > TIMESTAMP_WINDOW:
        raise OpenApiError(
            "IllegalTimestamp",
            f'The input parameter "Timestamp" ({value}) is not valid or has expired; '
            "it must be within 15 minutes of the server's time (UTC).",
            400,
        )


def _consume_nonce(nonce: str, now: datetime) -> None:
    """Record ``nonce`` as used (replay protection). Nonces older than the timestamp window
    are pruned by ``sandbox_cleanup``: a replay that old is refused for its timestamp anyway."""
    if len(nonce) > 128:
        raise OpenApiError(
            "InvalidParameter", 'The parameter "SignatureNonce" is longer than 128.', 400
        )
    try:
        with transaction.atomic(using=SANDBOX_DB):
            UsedNonce.objects.create(nonce=nonce, seen_at=now)
    except IntegrityError:
        raise OpenApiError(
            "SignatureNonceUsed", "Specified signature nonce was used already.", 400
        ) from None


@dataclass(frozen=True)
class Caller:
    """Who signed a request: the sandbox access token (its ``user`` is the RAM user)."""

    token: AccessToken


def _expired() -> OpenApiError:
    return OpenApiError("InvalidSecurityToken.Expired", "Specified SecurityToken is expired.", 400)


def authenticate(method: str, params: dict[str, str], now: datetime | None = None) -> Caller:
    """Verify the signature part of an RPC request and return who sent it.

    ``params`` are the query and form parameters merged. Checks, in the gateway's order:
    Timestamp present and within 15 minutes (``IllegalTimestamp``); SignatureNonce present;
    then either BEARERTOKEN (``BearerToken`` resolved to an active sandbox access token) or
    HMAC-SHA1 v1.0 with an STS AccessKeyId issued by the sandbox (``InvalidAccessKeyId.NotFound``
    404), its SecurityToken (``InvalidSecurityToken.MismatchWithAccessKey``), still active
    (``InvalidSecurityToken.Expired``), and the Signature (``SignatureDoesNotMatch``, whose
    message carries the server's string-to-sign as Alibaba's does). The nonce is consumed only
    once the request is authentic (``SignatureNonceUsed`` on replay).

    Raises :class:`OpenApiError`.
    """
    now = now or timezone.now()
    for name in ("Timestamp", "SignatureNonce"):
        if not params.get(name):
            raise missing(name)
    _check_timestamp(params["Timestamp"], now)

    if params.get("SignatureType", "") == "BEARERTOKEN":
        bearer = params.get("BearerToken", "")
        if not bearer:
            raise missing("BearerToken")
        row = resolve_bearer(bearer, now)
        if row is None:
            if AccessToken.objects.filter(token_hash=token_hash(bearer)).exists():
                raise _expired()
            raise OpenApiError(
                "InvalidBearerToken.NotFound", "Specified BearerToken is not found.", 401
            )
        _consume_nonce(params["SignatureNonce"], now)
        return Caller(token=row)

    for name in ("AccessKeyId", "Signature", "SignatureMethod"):
        if not params.get(name):
            raise missing(name)
    if params["SignatureMethod"] != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
        raise OpenApiError(
            "InvalidParameter",
            "Only SignatureMethod HMAC-SHA1 with SignatureVersion 1.0 is supported.",
            400,
        )
    row = resolve_sts(params["AccessKeyId"])
    if row is None:
        raise OpenApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    security_token = params.get("SecurityToken", "")
    if not security_token:
        raise missing("SecurityToken")
    if not hmac.compare_digest(token_hash(security_token), row.security_token_hash):
        raise OpenApiError(
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
            400,
        )
    if not row.is_active(now):
        raise _expired()
    expected_to_sign = string_to_sign(method, params)
    if not hmac.compare_digest(sign(row.access_key_secret, expected_to_sign), params["Signature"]):
        # Alibaba echoes its string-to-sign (to debug canonicalisation); the sandbox masks the
        # SecurityToken in it, since clients tend to log this message.
        shown = expected_to_sign.replace(percent_encode(percent_encode(security_token)), "***")
        raise OpenApiError(
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation. server string to sign "
            f"is:{shown}",
            400,
        )
    _consume_nonce(params["SignatureNonce"], now)
    return Caller(token=row)
