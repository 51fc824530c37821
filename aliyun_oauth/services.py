"""The public face of aliyun_oauth: link, use, refresh and revoke an agent's Alibaba Cloud
account. Other apps call :func:`get_valid_token` and :func:`account_summary` only.

Protocol details live in :mod:`aliyun_oauth.client` (RFC 6749, RFC 7636, RFC 7009, OpenID
Connect Core 1.0; Alibaba's profile in docs/PROTOCOL.md §1). Every setting is read at
call time; every datetime is timezone-aware UTC.
"""

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aliyun_oauth import client
from aliyun_oauth.exceptions import (
    AliyunOAuthError,
    AuthorizationFailed,
    IdTokenInvalid,
    InvalidGrant,
    NotLinked,
    OAuthUpstreamError,
    RelinkRequired,
    TokenRequestRejected,
)
from aliyun_oauth.models import LinkedAccount, PendingAuthorization

__all__ = [
    "AliyunOAuthError",
    "AuthorizationFailed",
    "NotLinked",
    "OAuthUpstreamError",
    "RelinkRequired",
    "RevokeOutcome",
    "ValidToken",
    "account_summary",
    "complete_authorization",
    "get_valid_token",
    "refresh_now",
    "revoke_account",
    "start_authorization",
]

log = logging.getLogger(__name__)

# Session key of the pending authorizations: {state: {code_verifier, nonce, redirect_uri,
# created (epoch seconds)}}. Several tabs may link at once; the oldest are dropped beyond this.
# The session binds a state to this browser; a PendingAuthorization row makes it single-use.
PENDING_SESSION_KEY = "aliyun_oauth_pending"
MAX_PENDING = 5
ERROR_CODE_RE = re.compile(r"[a-z_]{1,64}")  # RFC 6749 §4.1.2.1 error codes
RELINK_MESSAGE = (
    "Alibaba Cloud no longer accepts your sign-in: link your Alibaba Cloud account again."
)
NOT_LINKED_MESSAGE = "No Alibaba Cloud account is linked: use “Retrieval Aliyun Token” first."


@dataclass(frozen=True)
class ValidToken:
    """An access token usable now: ``expires_at`` is its absolute expiry (aware, UTC);
    ``token_type`` as the provider said it ("AliyunSTS", "Bearer", ...)."""

    access_token: str
    expires_at: datetime
    token_type: str


@dataclass(frozen=True)
class RevokeOutcome:
    """What :func:`revoke_account` did: ``upstream_revoked`` is False when the provider could
    not be told (the local link is removed anyway); ``message`` is for the agent."""

    upstream_revoked: bool
    message: str


# --- Linking: authorize + callback ----------------------------------------------------------


def _well_formed(entry) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("created"), int | float)
        and all(isinstance(entry.get(k), str) for k in ("code_verifier", "nonce", "redirect_uri"))
    )


def _pending(session: MutableMapping) -> dict:
    """The session's unexpired, well-formed pending authorizations."""
    pending = session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return {}
    oldest = time.time() - settings.ALIYUN_OAUTH_STATE_LIFETIME
    return {s: e for s, e in pending.items() if _well_formed(e) and e["created"] >= oldest}


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _consume_state(state: str) -> bool:
    """Consume the server-side record of ``state`` with one conditional DELETE: True for exactly
    one caller, however many identical callbacks run at once; False when already consumed."""
    deleted, _ = PendingAuthorization.objects.filter(state_hash=_state_hash(state)).delete()
    return deleted > 0


def start_authorization(session: MutableMapping, redirect_uri: str) -> str:
    """Begin linking: remember a fresh state, PKCE code_verifier and nonce in ``session`` (the
    browser binding), record the state server-side (single use, see PendingAuthorization) and
    return the provider's authorize URL to redirect the browser to.

    The pending authorization lives ``ALIYUN_OAUTH_STATE_LIFETIME`` seconds and is single-use;
    up to MAX_PENDING may be pending at once (several tabs). Raises OAuthUpstreamError when the
    provider settings (or discovery document) are unusable.
    """
    cfg = client.provider_config()
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    code_verifier = client.new_code_verifier()
    url = client.authorization_url(cfg, redirect_uri, state, code_verifier, nonce)
    now = timezone.now()
    lifetime = timedelta(seconds=settings.ALIYUN_OAUTH_STATE_LIFETIME)
    PendingAuthorization.objects.filter(created_at__lt=now - lifetime).delete()  # expired ones
    PendingAuthorization.objects.create(state_hash=_state_hash(state), created_at=now)
    pending = _pending(session)
    pending[state] = {
        "code_verifier": code_verifier,
        "nonce": nonce,
        "redirect_uri": redirect_uri,
        "created": time.time(),
    }
    newest = sorted(pending.items(), key=lambda item: item[1]["created"])[-MAX_PENDING:]
    session[PENDING_SESSION_KEY] = dict(newest)
    return url


def _take_pending(session: MutableMapping, state: str | None) -> dict | None:
    """Remove and return the pending authorization for ``state`` (single use)."""
    raw = session.get(PENDING_SESSION_KEY)
    entry = raw.pop(state, None) if isinstance(raw, dict) and state else None
    if isinstance(raw, dict):
        session[PENDING_SESSION_KEY] = raw
    if not _well_formed(entry):
        return None
    if entry["created"] < time.time() - settings.ALIYUN_OAUTH_STATE_LIFETIME:
        raise AuthorizationFailed("The sign-in took too long and expired; please start again.")
    return entry


def _other_grant(replaced: LinkedAccount, new: LinkedAccount) -> bool:
    """Whether revoking ``replaced``'s tokens would leave ``new``'s intact (never revoke a
    refresh_token or access token that the new link still holds)."""
    if replaced.refresh_token:
        return replaced.refresh_token != new.refresh_token
    return replaced.access_token != new.access_token


def complete_authorization(user, session: MutableMapping, params: dict[str, str]) -> None:
    """Finish linking from the provider's authorization response ``params`` (``code``,
    ``state``, or ``error``/``error_description``), for ``user`` in this ``session``.

    Consumes the state first, atomically (one conditional DELETE of its PendingAuthorization:
    of identical concurrent callbacks only one goes on), exchanges the code with its
    code_verifier, verifies the id_token (nonce included), reads userinfo and stores the tokens
    encrypted, replacing any earlier link; the replaced tokens are then revoked upstream (best
    effort, after the commit). Stores nothing on failure; when the id_token or userinfo fails
    after the exchange, the unstored tokens are revoked (best effort).

    Raises AuthorizationFailed (provider error, missing/unknown/used/expired state, missing code,
    IdTokenInvalid), TokenRequestRejected (e.g. replayed code), OAuthUpstreamError.
    """
    state = params.get("state") or None
    entry = _take_pending(session, state)
    if entry is not None and not _consume_state(state):
        entry = None  # a concurrent or replayed callback already used this state
    error = params.get("error")
    if error:
        log.info("aliyun_oauth: authorization answered error=%r", error[:100])
        if entry is None or not ERROR_CODE_RE.fullmatch(error):
            # Anyone can POST to the callback: show provider text only for our own request.
            raise AuthorizationFailed("Alibaba Cloud sign-in failed; please start again.")
        if error == "access_denied":
            raise AuthorizationFailed("Alibaba Cloud sign-in was cancelled or refused.")
        description = (params.get("error_description") or "")[:300]
        suffix = f": {description}" if description else "."
        raise AuthorizationFailed(f"Alibaba Cloud sign-in failed ({error[:100]}){suffix}")
    if not state:
        raise AuthorizationFailed("The answer from Alibaba Cloud has no state; please start again.")
    if entry is None:
        raise AuthorizationFailed(
            "This sign-in is unknown, already used, or was started in another browser; "
            "please start again."
        )
    code = params.get("code")
    if not code:
        raise AuthorizationFailed("The answer from Alibaba Cloud has no authorization code.")

    cfg = client.provider_config()
    tokens = client.exchange_code(cfg, code, entry["redirect_uri"], entry["code_verifier"])
    try:
        if not tokens.id_token:
            raise IdTokenInvalid("Alibaba Cloud answered without an id_token.")
        claims = client.verify_id_token(cfg, tokens.id_token, entry["nonce"])
        try:
            # Also proves the new access token works before anything is stored.
            info = client.userinfo(cfg, tokens.access_token)
        except TokenRequestRejected as exc:
            log.warning("aliyun_oauth: userinfo refused the new token (%s)", exc.error)
            raise AuthorizationFailed(
                "Alibaba Cloud refused the token it had just issued; please start again."
            ) from exc
    except AliyunOAuthError as exc:
        log.warning("aliyun_oauth: link failed after the code exchange: %s", type(exc).__name__)
        _revoke_quietly(cfg, tokens.refresh_token, tokens.access_token)
        raise
    if info.get("sub") != claims["sub"]:  # OIDC Core §5.3.2: ignore another subject's claims
        info = {}
    display = {**claims, **info}
    now = timezone.now()
    account = LinkedAccount(
        token_type=tokens.token_type,
        scope=(tokens.scope if tokens.scope is not None else cfg.scope)[:1024],
        expires_at=now + timedelta(seconds=tokens.expires_in),
        issued_at=now,
        linked_at=now,
        subject=str(claims["sub"])[:255],
        upn=str(display.get("upn") or display.get("login_name") or "")[:255],
        name=str(display.get("name") or "")[:255],
        aid=str(display.get("aid") or "")[:64],
        uid=str(display.get("uid") or "")[:64],
    )
    account.access_token = tokens.access_token
    account.refresh_token = tokens.refresh_token or ""
    account.id_token = tokens.id_token
    fields = {
        f.attname: getattr(account, f.attname)
        for f in LinkedAccount._meta.concrete_fields
        if f.attname not in ("id", "user_id")
    }
    with transaction.atomic():
        replaced = LinkedAccount.objects.select_for_update().filter(user=user).first()
        LinkedAccount.objects.update_or_create(user=user, defaults=fields)
        if replaced is not None and _other_grant(replaced, account):
            old = (replaced.refresh_token, replaced.access_token)
            transaction.on_commit(lambda: _revoke_quietly(cfg, *old))
    log.info("aliyun_oauth: user %s linked Alibaba Cloud subject %s", user.pk, account.subject)


# --- Using the link ----------------------------------------------------------------------------


def _valid(row: LinkedAccount) -> ValidToken:
    return ValidToken(row.access_token, row.expires_at, row.token_type)


def _near_expiry(row: LinkedAccount) -> bool:
    leeway = timedelta(seconds=settings.ALIYUN_OAUTH_REFRESH_LEEWAY)
    return row.expires_at <= timezone.now() + leeway


def _refresh_under_lock(user, should_refresh: Callable[[LinkedAccount], bool]) -> ValidToken:
    """Lock the user's row (SELECT ... FOR UPDATE); if ``should_refresh(row)`` still holds,
    refresh upstream and save. Concurrent callers queue on the lock and see the fresh row, so a
    rotating refresh_token is used exactly once. On SQLite the transaction is IMMEDIATE (settings:
    ``transaction_mode``), so the database write lock serializes callers the same way.
    """
    cfg = client.provider_config()
    with transaction.atomic():
        row = LinkedAccount.objects.select_for_update().filter(user=user).first()
        token = _refresh_row(cfg, row, should_refresh)
    if token is None:  # raised after the transaction so that the deletion is committed
        log.info("aliyun_oauth: refresh_token of user %s refused; link removed", user.pk)
        raise RelinkRequired(RELINK_MESSAGE)
    return token


def _refresh_row(cfg, row, should_refresh) -> ValidToken | None:
    """Refresh ``row`` if ``should_refresh(row)``; None when the grant is dead (row deleted)."""
    if row is None:
        raise NotLinked(NOT_LINKED_MESSAGE)
    if not should_refresh(row):
        return _valid(row)
    used = row.refresh_token_encrypted
    tokens = None  # without a refresh_token only a new link helps
    if used:
        try:
            tokens = client.refresh(cfg, row.refresh_token)
        except InvalidGrant:
            pass
        except TokenRequestRejected as exc:
            raise OAuthUpstreamError(str(exc)) from exc
    if tokens is None:
        # Re-read first: a new grant stored meanwhile (a re-link) must not be deleted.
        current = LinkedAccount.objects.filter(pk=row.pk).first()
        if current is not None and current.refresh_token_encrypted != used:
            return _valid(current)
        LinkedAccount.objects.filter(pk=row.pk, refresh_token_encrypted=used).delete()
        return None
    now = timezone.now()
    row.access_token = tokens.access_token
    row.token_type = tokens.token_type
    row.expires_at = now + timedelta(seconds=tokens.expires_in)
    row.issued_at = now
    if tokens.scope is not None:
        row.scope = tokens.scope[:1024]
    if tokens.refresh_token:
        row.refresh_token = tokens.refresh_token
    if tokens.id_token:
        _maybe_keep_id_token(cfg, row, tokens.id_token)
    row.save()
    return _valid(row)


def _maybe_keep_id_token(cfg, row: LinkedAccount, id_token: str) -> None:
    """Store a refreshed id_token only if it verifies and names the same subject."""
    try:
        claims = client.verify_id_token(cfg, id_token, nonce=None)
    except AliyunOAuthError as exc:
        log.warning("aliyun_oauth: refreshed id_token ignored: %s", exc)
        return
    if str(claims.get("sub")) == row.subject:
        row.id_token = id_token


def get_valid_token(user, rejected_token: str | None = None) -> ValidToken:
    """Return the user's access token, refreshed first when it expires within
    ``ALIYUN_OAUTH_REFRESH_LEEWAY`` seconds.

    The refresh happens under a row lock, so N concurrent callers cause one upstream refresh.
    Pass ``rejected_token`` when the upstream just refused that access token: if it is still the
    stored one it is refreshed now; if the stored one already differs, the stored one is
    returned. Never assumes anything about the token's content.

    Raises NotLinked (nothing linked), RelinkRequired (the provider answered invalid_grant to the
    refresh: the link is removed), OAuthUpstreamError (provider unreachable, 5xx, unreadable,
    other refusals). All subclass AliyunOAuthError.
    """
    row = LinkedAccount.objects.filter(user=user).first()
    if row is None:
        raise NotLinked(NOT_LINKED_MESSAGE)

    def should_refresh(r: LinkedAccount) -> bool:
        if rejected_token is not None and hmac.compare_digest(
            rejected_token.encode(), r.access_token.encode()
        ):
            return True
        return _near_expiry(r)

    if not should_refresh(row):
        return _valid(row)
    return _refresh_under_lock(user, should_refresh)


def refresh_now(user) -> ValidToken:
    """Refresh the user's access token now ("Refresh Aliyun Token"); same errors as
    :func:`get_valid_token`."""
    return _refresh_under_lock(user, lambda row: True)


def _revoke(cfg, refresh_token: str | None, access_token: str) -> None:
    """Revoke a grant upstream (RFC 7009): its refresh_token, which ends its access tokens too
    (§2.1), or the access token when there is no refresh_token. Raises AliyunOAuthError."""
    if refresh_token:
        client.revoke(cfg, refresh_token, "refresh_token")
    else:
        client.revoke(cfg, access_token, "access_token")


def _revoke_quietly(cfg, refresh_token: str | None, access_token: str) -> None:
    """:func:`_revoke` for tokens the CRM no longer keeps: failures are logged, not raised."""
    try:
        _revoke(cfg, refresh_token, access_token)
    except AliyunOAuthError as exc:
        log.warning("aliyun_oauth: revoking discarded tokens failed: %s", exc)


def revoke_account(user) -> RevokeOutcome:
    """Unlink ("Revoke Aliyun Token"): revoke the refresh_token upstream (RFC 7009; the access
    token when no refresh_token exists), best effort, then delete the local row whatever the
    upstream said. Raises NotLinked when nothing is linked."""
    row = LinkedAccount.objects.filter(user=user).first()
    if row is None:
        raise NotLinked(NOT_LINKED_MESSAGE)
    try:
        _revoke(client.provider_config(), row.refresh_token, row.access_token)
        outcome = RevokeOutcome(True, "Your Alibaba Cloud token was revoked and unlinked.")
    except AliyunOAuthError as exc:
        log.warning("aliyun_oauth: upstream revoke for user %s failed: %s", user.pk, exc)
        outcome = RevokeOutcome(
            False,
            "Alibaba Cloud could not be told to revoke the token "
            f"({exc}), but it was removed from the CRM.",
        )
    LinkedAccount.objects.filter(pk=row.pk).delete()
    return outcome


def account_summary(user) -> dict | None:
    """The linked account for display, or None: ``{"upn", "name", "aid", "uid", "created_at",
    "expires_at", "linked_at", "scope"}``; ``created_at`` is when the current access token was
    issued, datetimes are aware UTC. Never contains a token value."""
    if not getattr(user, "is_authenticated", False):
        return None
    row = LinkedAccount.objects.filter(user=user).first()
    if row is None:
        return None
    return {
        "upn": row.upn,
        "name": row.name,
        "aid": row.aid,
        "uid": row.uid,
        "created_at": row.issued_at,
        "expires_at": row.expires_at,
        "linked_at": row.linked_at,
        "scope": row.scope,
    }
