"""Issuing and resolving the sandbox's access tokens and the STS credentials inside them.

Alibaba Cloud's token endpoint answers ``access_token`` = base64url (no padding) of the JSON
``{"AccessKeyId": "STS.…", "AccessKeySecret": "…", "SecurityToken": "…", "Expiration": "…"}``
(observed; see docs/PROTOCOL.md §1). These STS credentials sign CCC OpenAPI calls
(signature v1.0, docs/PROTOCOL.md §4). The sandbox issues the same shape and keeps what it needs
to verify those signatures later. With ``SANDBOX_ACCESS_TOKEN_FORMAT = "opaque"`` it issues
opaque access tokens instead (random text, no credentials inside), which clients send as
``BearerToken`` (``SignatureType=BEARERTOKEN``), so that both of the CCC proxy's signing modes
can be run.
"""

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from aliyun_sandbox.models import AccessToken, CloudUser, RefreshToken, token_hash


@dataclass(frozen=True)
class IssuedAccessToken:
    """An access token just issued: ``value`` is the string handed to the client once."""

    value: str
    row: AccessToken
    expires_in: int  # seconds


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue_access_token(
    user: CloudUser,
    client_id: str,
    scope: str = "",
    refresh_token: RefreshToken | None = None,
    lifetime: int | None = None,
) -> IssuedAccessToken:
    """Mint STS credentials for ``user`` and wrap them as an Alibaba-style access_token (or, with
    ``settings.SANDBOX_ACCESS_TOKEN_FORMAT == "opaque"``, hand out an opaque token for them).

    ``lifetime`` is in seconds (default ``settings.SANDBOX_ACCESS_TOKEN_LIFETIME``). The
    ``Expiration`` inside the token is UTC ISO 8601 (``2026-11-29T14:00:00Z``).
    """
    lifetime = settings.SANDBOX_ACCESS_TOKEN_LIFETIME if lifetime is None else lifetime
    now = timezone.now()
    expires_at = now + timedelta(seconds=lifetime)
    access_key_id = "STS." + secrets.token_urlsafe(18).replace("-", "A").replace("_", "B")
    access_key_secret = secrets.token_urlsafe(30)
    security_token = "CAIS" + secrets.token_urlsafe(96)
    payload = {
        "AccessKeyId": access_key_id,
        "AccessKeySecret": access_key_secret,
        "SecurityToken": security_token,
        "Expiration": expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    value = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    if settings.SANDBOX_ACCESS_TOKEN_FORMAT == "opaque":
        value = "ot-" + secrets.token_urlsafe(32)
    row = AccessToken.objects.create(
        token_hash=token_hash(value),
        client_id=client_id,
        user=user,
        refresh_token=refresh_token,
        scope=scope,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        security_token_hash=token_hash(security_token),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedAccessToken(value=value, row=row, expires_in=lifetime)


def resolve_bearer(value: str, now: datetime | None = None) -> AccessToken | None:
    """Return the active AccessToken whose string is ``value``, or None (unknown, expired or
    revoked, itself or through its refresh token)."""
    row = (
        AccessToken.objects.select_related("user", "refresh_token")
        .filter(token_hash=token_hash(value))
        .first()
    )
    return row if row and row.is_active(now) else None


def resolve_sts(access_key_id: str) -> AccessToken | None:
    """Return the AccessToken that issued STS ``access_key_id`` (active or not), or None.

    Callers check ``row.is_active()`` and compare the SecurityToken with
    ``token_hash(security_token) == row.security_token_hash``, so that they can answer
    ``InvalidSecurityToken.Expired`` and ``InvalidAccessKeyId.NotFound`` distinctly.
    """
    return (
        AccessToken.objects.select_related("user", "refresh_token")
        .filter(access_key_id=access_key_id)
        .first()
    )
