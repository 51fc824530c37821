"""The public face of aliyun_oauth: link, use, refresh and revoke an agent's Alibaba Cloud
account. Other apps call :func:`get_valid_token` and :func:`account_summary` (and the
authentication backend :func:`with_linked_account`) only.

Protocol details live in :mod:`aliyun_oauth.client` (RFC 6749, RFC 7636, RFC 7009, RFC 9207,
OpenID Connect Core 1.0; Alibaba's profile in docs/oauth-protocol.md). Every setting is read at
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
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from aliyun_oauth import client
from aliyun_oauth.exceptions import (
    AliyunOAuthError,
    AuthorizationFailed,
    IdTokenInvalid,
    InvalidGrant,
    NotLinked,
    OAuthUpstreamError,
    RefreshUnavailable,
    RelinkRequired,
    TokenRequestRejected,
)
from aliyun_oauth.models import LinkedAccount, PendingAuthorization

__all__ = [
    "AliyunOAuthError",
    "AuthorizationFailed",
    "LinkResult",
    "NotLinked",
    "OAuthUpstreamError",
    "RefreshUnavailable",
    "RelinkRequired",
    "RevokeOutcome",
    "ValidToken",
    "account_summary",
    "complete_authorization",
    "get_valid_token",
    "refresh_now",
    "revoke_account",
    "start_authorization",
    "with_linked_account",
]

log = logging.getLogger(__name__)

# Session key of the pending authorizations: {state: {code_verifier, nonce, redirect_uri,
# created (epoch seconds)}}. Several tabs may link at once; the oldest are dropped beyond this.
# The session binds a state to this browser; a PendingAuthorization row makes it single-use.
PENDING_SESSION_KEY = "aliyun_oauth_pending"
MAX_PENDING = 5
ERROR_CODE_RE = re.compile(r"[a-z_]{1,64}")  # RFC 6749 §4.1.2.1 error codes
# The scope the softphone needs: CCC OpenAPI calls are refused without it.
SOFTPHONE_SCOPE = "/acs/ccc"


def _p() -> dict:
    return {"provider": client.provider_name()}


def _relink_message() -> str:
    return (
        _("%(provider)s no longer accepts your sign-in: link your %(provider)s account again.")
        % _p()
    )


def _not_linked_message() -> str:
    return _("No %(provider)s account is linked: link it on your profile page first.") % _p()


def _no_refresh_token_message() -> str:
    return (
        _(
            "%(provider)s issued no refresh token for this link, so it cannot be refreshed: "
            "link your account again when the token expires."
        )
        % _p()
    )


def _expired_without_refresh_token_message() -> str:
    return (
        _(
            "Your %(provider)s token has expired and %(provider)s issued no refresh token for "
            "this link: link your account again."
        )
        % _p()
    )


@dataclass(frozen=True)
class ValidToken:
    """An access token usable now: ``expires_at`` is its absolute expiry (aware, UTC);
    ``token_type`` as the provider said it ("AliyunSTS", "Bearer", ...)."""

    access_token: str
    expires_at: datetime
    token_type: str


@dataclass(frozen=True)
class LinkResult:
    """What :func:`complete_authorization` linked: ``missing_scopes`` were requested but not
    granted; ``notices`` are sentences for the agent about what the link cannot do (missing
    scopes, no refresh token). Empty ``notices``: a complete link."""

    subject: str
    missing_scopes: tuple[str, ...]
    has_refresh_token: bool
    notices: tuple[str, ...]


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
        raise AuthorizationFailed(_("The sign-in took too long and expired; please start again."))
    return entry


def _other_grant(replaced: LinkedAccount, new: LinkedAccount) -> bool:
    """Whether revoking ``replaced``'s tokens surely leaves ``new``'s intact. A provider may keep
    one grant per account and client and end all of it when any of its tokens is revoked
    (RFC 7009 §2.1), so only the tokens of another subject (another account, so another grant)
    are revoked; the same account's replaced tokens are just forgotten."""
    if replaced.subject != new.subject:
        return True
    log.info(
        "aliyun_oauth: re-link of subject %s: the replaced tokens are not revoked "
        "(they may share the new grant)",
        new.subject,
    )
    return False


def compare_scopes(requested: str, granted: str | None, what: str) -> tuple[str, ...]:
    """Compare the granted scope with the requested one (RFC 6749 §3.3: an omitted ``scope``
    means as requested). Logs a narrower grant at WARNING and a wider one at INFO; returns the
    requested scopes that were not granted, sorted."""
    if granted is None:
        return ()
    wanted, got = set(requested.split()), set(granted.split())
    missing, extra = tuple(sorted(wanted - got)), tuple(sorted(got - wanted))
    if missing:
        log.warning("aliyun_oauth: %s granted less than requested: missing %s", what, missing)
    if extra:
        log.info("aliyun_oauth: %s granted more than requested: also %s", what, extra)
    return missing


def _scope_notice(missing: tuple[str, ...]) -> str:
    text = _("%(provider)s did not grant the scope %(scopes)s.") % {
        **_p(),
        "scopes": ", ".join(missing),
    }
    if SOFTPHONE_SCOPE in missing:
        text += " " + _(
            "The softphone needs %(scope)s: ask your administrator to grant it to the "
            "application, then link again."
        ) % {"scope": SOFTPHONE_SCOPE}
    return text


def _check_iss(cfg, params: dict[str, str]) -> None:
    """RFC 9207 §2.4: an ``iss`` in the authorization response must be our issuer exactly; it
    must be there when the provider advertises it (mix-up defence)."""
    iss = params.get("iss")
    if iss is None and not cfg.iss_required:
        return
    if iss != cfg.issuer:
        log.warning(
            "aliyun_oauth: authorization response refused: iss=%.200r, expected %s",
            iss,
            cfg.issuer,
        )
        raise AuthorizationFailed(
            _("The answer did not come from %(provider)s (issuer mismatch); please start again.")
            % _p()
        )


def complete_authorization(user, session: MutableMapping, params: dict[str, str]) -> LinkResult:
    """Finish linking from the provider's authorization response ``params`` (``code``,
    ``state``, ``iss``, or ``error``/``error_description``), for ``user`` in this ``session``.

    Consumes the state first, atomically (one conditional DELETE of its PendingAuthorization:
    of identical concurrent callbacks only one goes on), checks the RFC 9207 ``iss``, exchanges
    the code with its code_verifier, verifies the id_token (nonce included), reads userinfo
    (when the provider has it) and stores the tokens encrypted, replacing any earlier link; a
    replaced link of another account is then revoked upstream (best effort, after the commit).
    Stores nothing on failure; when the token type is unusable or the id_token or userinfo fails
    after the exchange, the unstored tokens are revoked (best effort).

    Returns a LinkResult (missing scopes, whether a refresh_token came, notices for the agent).
    Raises AuthorizationFailed (provider error, missing/unknown/used/expired state, missing code,
    issuer mismatch, IdTokenInvalid), TokenRequestRejected (e.g. replayed code),
    OAuthUpstreamError.
    """
    state = params.get("state") or None
    entry = _take_pending(session, state)
    if entry is not None and not _consume_state(state):
        entry = None  # a concurrent or replayed callback already used this state
    cfg = client.provider_config()
    error = params.get("error")
    if error:
        log.info("aliyun_oauth: authorization answered error=%r", error[:100])
        if entry is None or not ERROR_CODE_RE.fullmatch(error):
            # Anyone can POST to the callback: show provider text only for our own request.
            raise AuthorizationFailed(_("%(provider)s sign-in failed; please start again.") % _p())
        _check_iss(cfg, params)
        if error == "access_denied":
            raise AuthorizationFailed(_("%(provider)s sign-in was cancelled or refused.") % _p())
        description = (params.get("error_description") or "")[:300]
        values = {**_p(), "error": error[:100], "description": description}
        if description:
            raise AuthorizationFailed(
                _("%(provider)s sign-in failed (%(error)s): %(description)s") % values
            )
        raise AuthorizationFailed(_("%(provider)s sign-in failed (%(error)s).") % values)
    if not state:
        raise AuthorizationFailed(
            _("The answer from %(provider)s has no state; please start again.") % _p()
        )
    if entry is None:
        raise AuthorizationFailed(
            _(
                "This sign-in is unknown, already used, or was started in another browser; "
                "please start again."
            )
        )
    _check_iss(cfg, params)
    code = params.get("code")
    if not code:
        raise AuthorizationFailed(
            _("The answer from %(provider)s has no authorization code.") % _p()
        )

    tokens = client.exchange_code(cfg, code, entry["redirect_uri"], entry["code_verifier"])
    try:
        if not client.token_type_known(tokens.token_type):
            raise AuthorizationFailed(
                _("%(provider)s issued a token of type “%(type)s”, which this CRM cannot use.")
                % {**_p(), "type": tokens.token_type}
            )
        if not tokens.id_token:
            raise IdTokenInvalid(_("%(provider)s answered without an id_token.") % _p())
        claims = client.verify_id_token(cfg, tokens.id_token, entry["nonce"])
        info = {}
        if cfg.userinfo_endpoint:
            try:
                # Also proves the new access token works before anything is stored.
                info = client.userinfo(cfg, tokens.access_token)
            except TokenRequestRejected as exc:
                raise AuthorizationFailed(
                    _("%(provider)s refused the token it had just issued; please start again.")
                    % _p()
                ) from exc
    except AliyunOAuthError as exc:
        log.warning("aliyun_oauth: link failed after the code exchange: %s", type(exc).__name__)
        _revoke_quietly(cfg, tokens.refresh_token, tokens.access_token)
        raise
    if info.get("sub") != claims["sub"]:  # OIDC Core §5.3.2: ignore another subject's claims
        info = {}
    display = {**claims, **info}
    missing = compare_scopes(cfg.scope, tokens.scope, f"link of user {user.pk}")
    now = timezone.now()
    name_claim = next(
        (
            display[k]
            for k in ("upn", "login_name", "preferred_username", "email")
            if display.get(k)
        ),
        "",
    )
    account = LinkedAccount(
        token_type=tokens.token_type,
        scope=(tokens.scope if tokens.scope is not None else cfg.scope)[:1024],
        expires_at=now + timedelta(seconds=tokens.expires_in),
        issued_at=now,
        linked_at=now,
        subject=str(claims["sub"])[:255],
        upn=str(name_claim)[:255],
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
    log.info("aliyun_oauth: user %s linked subject %s", user.pk, account.subject)
    notices = []
    if missing:
        notices.append(_scope_notice(missing))
    if not tokens.refresh_token:
        log.warning(
            "aliyun_oauth: link of user %s got no refresh_token (a standard OpenID provider "
            "issues one only for offline_access with prompt=consent)",
            user.pk,
        )
        notices.append(_no_refresh_token_message())
    return LinkResult(account.subject, missing, bool(tokens.refresh_token), tuple(notices))


# --- Using the link ----------------------------------------------------------------------------


def _valid(row: LinkedAccount) -> ValidToken:
    return ValidToken(row.access_token, row.expires_at, row.token_type)


def refresh_leeway(row: LinkedAccount) -> timedelta:
    """How long before expiry ``row`` is refreshed: ``ALIYUN_OAUTH_REFRESH_LEEWAY`` seconds,
    but at most half the token's lifetime, so a short-lived token is not refreshed on every
    call."""
    lifetime = (row.expires_at - row.issued_at).total_seconds()
    return timedelta(seconds=max(0, min(settings.ALIYUN_OAUTH_REFRESH_LEEWAY, lifetime / 2)))


def _near_expiry(row: LinkedAccount) -> bool:
    return row.expires_at <= timezone.now() + refresh_leeway(row)


def _refresh_under_lock(
    user, should_refresh: Callable[[LinkedAccount], bool], forced: bool = False
) -> ValidToken:
    """Lock the user's row (SELECT ... FOR UPDATE); if ``should_refresh(row)`` still holds,
    refresh upstream and save. Concurrent callers queue on the lock and see the fresh row, so a
    rotating refresh_token is used exactly once. On SQLite the transaction is IMMEDIATE (settings:
    ``transaction_mode``), so the database write lock serializes callers the same way.
    ``forced``: the agent asked for a refresh (a link without refresh_token says so).
    """
    cfg = client.provider_config()
    with transaction.atomic():
        row = LinkedAccount.objects.select_for_update().filter(user=user).first()
        token = _refresh_row(cfg, row, should_refresh, forced)
    if isinstance(token, OAuthUpstreamError):  # raised after the transaction: the save commits
        raise token
    if token is None:  # raised after the transaction so that the deletion is committed
        log.info("aliyun_oauth: refresh_token of user %s refused; link removed", user.pk)
        raise RelinkRequired(_relink_message())
    if token is _NO_REFRESH_TOKEN:
        log.info("aliyun_oauth: user %s has no refresh_token; expired link removed", user.pk)
        raise RelinkRequired(_expired_without_refresh_token_message())
    return token


# _refresh_row's answer for an expired or refused link that never had a refresh_token.
_NO_REFRESH_TOKEN = object()


def _refresh_row(cfg, row, should_refresh, forced=False):
    """Refresh ``row`` if ``should_refresh(row)``: a ValidToken; None when the grant is dead
    (row deleted); _NO_REFRESH_TOKEN when the row never had a refresh_token and its access token
    is expired or was refused (row deleted). Raises RefreshUnavailable for a ``forced`` refresh
    of a link without refresh_token whose access token still works; returns (not raises) an
    OAuthUpstreamError for an unusable token_type, after saving a rotated refresh_token."""
    if row is None:
        raise NotLinked(_not_linked_message())
    if not should_refresh(row):
        return _valid(row)
    used = row.refresh_token_encrypted
    if not used:
        # No request is sent: nothing was refused. The access token works until it expires.
        if row.expires_at > timezone.now():
            if forced:
                raise RefreshUnavailable(_no_refresh_token_message())
            return _valid(row)
        LinkedAccount.objects.filter(pk=row.pk, refresh_token_encrypted=used).delete()
        return _NO_REFRESH_TOKEN
    tokens = None
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
    if tokens.refresh_token:
        row.refresh_token = tokens.refresh_token  # a rotated one: the old one is dead now
    if not client.token_type_known(tokens.token_type):
        row.save(update_fields=["refresh_token_encrypted"])
        # Returned, not raised: raising inside the caller's transaction would roll back the
        # rotated refresh_token, and the old one is already dead at the provider.
        return OAuthUpstreamError(
            _("%(provider)s issued a token of type “%(type)s”, which this CRM cannot use.")
            % {**_p(), "type": tokens.token_type}
        )
    now = timezone.now()
    row.access_token = tokens.access_token
    row.token_type = tokens.token_type
    row.expires_at = now + timedelta(seconds=tokens.expires_in)
    row.issued_at = now
    if tokens.scope is not None:
        compare_scopes(cfg.scope, tokens.scope, f"refresh of link {row.pk}")
        row.scope = tokens.scope[:1024]
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


def with_linked_account(users):
    """``users`` (a QuerySet of the user model) loading each user's linked account in the same
    query (a LEFT JOIN), for the authentication backend: the softphone proxy's
    :func:`get_valid_token` then needs no query of its own. The row stays encrypted."""
    return users.select_related("aliyun_account")


_NOT_LOADED = object()


def _take_loaded_row(user):
    """The linked account loaded with ``user`` (:func:`with_linked_account`): the row, None
    when the user has none, ``_NOT_LOADED`` when it was not loaded. Taken once: a later call in
    the same request (the retry after a refused token, a refresh) reads the row anew."""
    relation = LinkedAccount.user.field.remote_field  # the user's side: user.aliyun_account
    if not isinstance(user, relation.model) or not relation.is_cached(user):
        return _NOT_LOADED
    row = relation.get_cached_value(user)
    relation.delete_cached_value(user)
    return row


def get_valid_token(user, rejected_token: str | None = None) -> ValidToken:
    """Return the user's access token, refreshed first when it expires within
    ``ALIYUN_OAUTH_REFRESH_LEEWAY`` seconds.

    The refresh happens under a row lock, so N concurrent callers cause one upstream refresh.
    Pass ``rejected_token`` when the upstream just refused that access token: if it is still the
    stored one it is refreshed now; if the stored one already differs, the stored one is
    returned. Never assumes anything about the token's content.

    Raises NotLinked (nothing linked), RelinkRequired (the provider answered invalid_grant to the
    refresh, or the link has no refresh_token and its token expired or was refused: the link is
    removed), OAuthUpstreamError (provider unreachable, 5xx, unreadable, other refusals, an
    unknown token_type). All subclass AliyunOAuthError.

    A row loaded with the user (:func:`with_linked_account`, at the start of the request) is
    used once instead of a query when no token was rejected.
    """
    row = _take_loaded_row(user) if rejected_token is None else _NOT_LOADED
    if row is _NOT_LOADED:
        row = LinkedAccount.objects.filter(user=user).first()
    if row is None:
        raise NotLinked(_not_linked_message())

    def rejected(r: LinkedAccount) -> bool:
        return rejected_token is not None and hmac.compare_digest(
            rejected_token.encode(), r.access_token.encode()
        )

    def should_refresh(r: LinkedAccount) -> bool:
        return rejected(r) or _near_expiry(r)

    if not row.refresh_token_encrypted and rejected(row):
        # Refused upstream and nothing to refresh it with: only a new link helps.
        LinkedAccount.objects.filter(pk=row.pk, refresh_token_encrypted="").delete()
        raise RelinkRequired(_expired_without_refresh_token_message())

    if not should_refresh(row):
        return _valid(row)
    return _refresh_under_lock(user, should_refresh)


def refresh_now(user) -> ValidToken:
    """Refresh the user's access token now ("Refresh Aliyun Token"); same errors as
    :func:`get_valid_token`, plus RefreshUnavailable when the link has no refresh_token (the
    provider issued none; nothing is sent, the link stays until its token expires)."""
    return _refresh_under_lock(user, lambda row: True, forced=True)


def _revoke(cfg, refresh_token: str | None, access_token: str) -> bool:
    """Revoke a grant upstream (RFC 7009): its refresh_token, which ends its access tokens too
    (§2.1), or the access token when there is no refresh_token. False when the provider offers
    no revocation endpoint (nothing sent). Raises AliyunOAuthError."""
    if not cfg.revocation_endpoint:
        log.info("aliyun_oauth: the provider offers no revocation endpoint; nothing revoked")
        return False
    if refresh_token:
        client.revoke(cfg, refresh_token, "refresh_token")
    else:
        client.revoke(cfg, access_token, "access_token")
    return True


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
        raise NotLinked(_not_linked_message())
    try:
        if _revoke(client.provider_config(), row.refresh_token, row.access_token):
            outcome = RevokeOutcome(
                True, _("Your %(provider)s token was revoked and unlinked.") % _p()
            )
        else:
            outcome = RevokeOutcome(
                False,
                _(
                    "%(provider)s does not support revoking tokens, so the link was removed "
                    "from the CRM only; end the CRM's access in your %(provider)s account "
                    "settings if needed."
                )
                % _p(),
            )
    except AliyunOAuthError as exc:
        log.warning("aliyun_oauth: upstream revoke for user %s failed: %s", user.pk, exc)
        outcome = RevokeOutcome(
            False,
            _(
                "%(provider)s could not be told to revoke the token (%(error)s), but it was "
                "removed from the CRM."
            )
            % {**_p(), "error": exc},
        )
    LinkedAccount.objects.filter(pk=row.pk).delete()
    return outcome


def account_summary(user) -> dict | None:
    """The linked account for display, or None: ``{"upn", "name", "aid", "uid", "created_at",
    "expires_at", "linked_at", "scope", "missing_scopes", "refreshable", "provider"}``;
    ``created_at`` is when the current access token was issued, datetimes are aware UTC;
    ``missing_scopes`` lists requested scopes not granted; ``refreshable`` is False without a
    refresh_token. Never contains a token value."""
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
        "missing_scopes": sorted(set(settings.ALIYUN_OAUTH_SCOPE.split()) - set(row.scope.split())),
        "refreshable": bool(row.refresh_token_encrypted),
        "provider": client.provider_name(),
    }


@dataclass(frozen=True)
class LinkedAgent:
    """A CRM user with a linked cloud account: ``user`` (the Django user), ``upn`` (e.g.
    ``edward@crmdemo.onaliyun.com``) and ``uid`` (the cloud user id), either may be empty."""

    user: object
    upn: str
    uid: str


def linked_agents(usernames: list[str] | None = None) -> list[LinkedAgent]:
    """The users with a linked account (only those named in ``usernames``, case-insensitive,
    when given), ordered by username. No token is read or refreshed here."""
    rows = LinkedAccount.objects.select_related("user").order_by("user__username")
    if usernames:
        wanted = Q()
        for name in usernames:
            wanted |= Q(user__username__iexact=name)
        rows = rows.filter(wanted)
    return [LinkedAgent(user=row.user, upn=row.upn, uid=row.uid) for row in rows]
