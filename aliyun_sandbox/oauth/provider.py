"""The sandbox's OAuth 2.0 / OpenID Connect provider: the protocol logic behind views_oauth.

It mirrors Alibaba Cloud's web-application OAuth (RAM docs 93696 "Web应用登录阿里云", 93698
"通过OIDC获取用户信息"; observed shapes in docs/PROTOCOL.md §1) on top of the standards:
RFC 6749 (authorization code and refresh grants, errors), RFC 7636 (PKCE), RFC 7009 (revocation),
RFC 6750 (bearer use at userinfo), OpenID Connect Core 1.0 (id_token, userinfo) and Discovery 1.0,
and the OAuth 2.0 Form Post Response Mode.

Everything reads ``django.conf.settings`` at call time: the registered client is
``SANDBOX_CLIENT_ID`` / ``SANDBOX_CLIENT_SECRET`` with the exact ``SANDBOX_REDIRECT_URIS``; the
issuer is ``{SANDBOX_BASE_URL}/oauth``; lifetimes are ``SANDBOX_CODE_LIFETIME``,
``SANDBOX_ACCESS_TOKEN_LIFETIME`` and ``SANDBOX_REFRESH_TOKEN_LIFETIME`` (seconds). Codes and tokens
are stored hashed and never logged.

Every rejection raises :class:`OAuthError` (or :class:`AuthorizeErrorPage` at the authorize
endpoint) before anything is written, except the one the RFC asks for: a replayed code revokes the
tokens it was exchanged for.
"""

import base64
import binascii
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import unquote, urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aliyun_sandbox.models import (
    AccessToken,
    AuthorizationCode,
    CloudUser,
    RefreshToken,
    token_hash,
)
from aliyun_sandbox.oauth import keys
from aliyun_sandbox.oauth.tokens import issue_access_token, resolve_bearer
from aliyun_sandbox.router import SANDBOX_DB

log = logging.getLogger(__name__)

# Scopes of the sandbox's registered application (docs/PROTOCOL.md §1: openid, aliuid, profile, plus
# the /acs/ccc scope the CRM needs to call CCC). An authorize request without scope gets them all.
SUPPORTED_SCOPES = ("openid", "aliuid", "profile", "/acs/ccc")
# Alibaba's id_token lives 3600 s (exp - iat, observed).
ID_TOKEN_LIFETIME = 3600
# RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
PKCE_VALUE_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
MAX_NONCE_LENGTH = 512
# Bounds on what goes back into a redirect (Django refuses redirects past 16384 characters): the
# state in UTF-8 bytes (at most 3 characters each once percent-encoded), and the whole authorize
# URL, which the sign-in pages post back to and redirect to.
MAX_STATE_LENGTH = 2048
MAX_AUTHORIZE_URL_LENGTH = 8192
# How much of an unknown scope the invalid_scope error_description quotes.
MAX_QUOTED_SCOPE_LENGTH = 64
SESSION_KEY = "aliyun_sandbox.cloud_user_id"  # the cloud user signed in to the sandbox sign-in site


def new_request_id() -> str:
    """An Alibaba-style request id: an upper-case UUID4 string."""
    return str(uuid.uuid4()).upper()


# --- Errors --------------------------------------------------------------------------------------


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answered as JSON.

    ``error`` is the RFC code (``invalid_request``, ``invalid_client``, ``invalid_grant``,
    ``unsupported_grant_type``, ``invalid_scope``, ``invalid_token``, ``insufficient_scope``),
    ``status`` the HTTP status and ``headers`` extra response headers (``WWW-Authenticate``).
    """

    def __init__(self, error: str, description: str, status: int = 400, headers=None):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> dict:
        """``{"error", "error_description", "request_id"}``."""
        return {
            "error": self.error,
            "error_description": self.description,
            "request_id": new_request_id(),
        }


def _invalid_client(description: str) -> OAuthError:
    return OAuthError(
        "invalid_client",
        description,
        status=401,
        headers={"WWW-Authenticate": 'Basic realm="aliyun-sandbox"'},
    )


def _invalid_token(description: str) -> OAuthError:
    challenge = (
        f'Bearer realm="aliyun-sandbox", error="invalid_token", error_description="{description}"'
    )
    return OAuthError(
        "invalid_token", description, status=401, headers={"WWW-Authenticate": challenge}
    )


class AuthorizeErrorPage(Exception):
    """An authorize request answered on the sign-in site's own error page (HTTP 400), never at
    the redirect_uri: ``error`` is the RFC 6749 §4.1.2.1 code, ``str()`` the message."""

    error = "invalid_request"


class InvalidAuthorizeClient(AuthorizeErrorPage):
    """The authorize request names an unknown client or an unregistered redirect_uri: RFC 6749
    §4.1.2.1 forbids redirecting, so the user sees this message on the sign-in site (HTTP 400)."""


class AuthorizeRequestTooLong(AuthorizeErrorPage):
    """The authorize URL or its state is too long to be sent back in a redirect (see
    ``MAX_AUTHORIZE_URL_LENGTH``, ``MAX_STATE_LENGTH``): shown on the error page, since echoing
    it is what cannot be done."""


@dataclass
class AuthorizeRedirect:
    """An answer sent back to the client's redirect_uri: ``params`` (``code``/``state`` or
    ``error``/``error_description``/``state``) delivered by ``response_mode`` ``query`` (HTTP 302)
    or ``form_post`` (an auto-submitting HTML form)."""

    redirect_uri: str
    params: dict
    response_mode: str = "query"

    def location(self) -> str:
        """The redirect_uri with ``params`` added to its query (RFC 6749 §4.1.2)."""
        sep = "&" if urlsplit(self.redirect_uri).query else "?"
        return f"{self.redirect_uri}{sep}{urlencode(self.params)}"


class AuthorizeErrorRedirect(Exception):
    """An authorize request error that is reported to the (valid) redirect_uri."""

    def __init__(self, redirect: AuthorizeRedirect):
        super().__init__(redirect.params.get("error", ""))
        self.redirect = redirect


# --- Parameters ----------------------------------------------------------------------------------


def _param(params, name: str, required: bool = False) -> str | None:
    """One parameter of a QueryDict: duplicates are ``invalid_request`` (RFC 6749 §3.1), an empty
    value counts as absent, control characters are refused (no parameter may carry them)."""
    values = params.getlist(name)
    if len(values) > 1:
        raise OAuthError("invalid_request", f"Parameter {name} is repeated.")
    value = values[0] if values else ""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise OAuthError("invalid_request", f"Parameter {name} contains control characters.")
    if not value:
        if required:
            raise OAuthError("invalid_request", f"Missing parameter {name}.")
        return None
    return value


# --- The registered client ---------------------------------------------------------------------


def client_id() -> str:
    """The sandbox's one registered client id (``settings.SANDBOX_CLIENT_ID``)."""
    return settings.SANDBOX_CLIENT_ID


def _client_secret() -> str:
    return getattr(settings, "SANDBOX_CLIENT_SECRET", "") or ""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_allowed(uri: str) -> bool:
    """True when ``uri`` is, character for character, one of ``settings.SANDBOX_REDIRECT_URIS``
    and is HTTPS (or http to a loopback host) without a fragment (RFC 6749 §3.1.2, RFC 8252
    §7.3)."""
    if uri not in settings.SANDBOX_REDIRECT_URIS:
        return False
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.fragment or not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host))


def issuer() -> str:
    """The OIDC issuer, ``{settings.SANDBOX_BASE_URL}/oauth`` (Alibaba: ``https://oauth.aliyun.com``)."""
    return f"{settings.SANDBOX_BASE_URL.rstrip('/')}/oauth"


def authorization_endpoint() -> str:
    """``{SANDBOX_BASE_URL}/signin/oauth2/v1/auth`` (Alibaba: signin.aliyun.com/oauth2/v1/auth)."""
    return f"{settings.SANDBOX_BASE_URL.rstrip('/')}/signin/oauth2/v1/auth"


def discovery_document() -> dict:
    """The OpenID Provider Metadata (OIDC Discovery 1.0 §3), with Alibaba's documented values."""
    oauth = issuer()
    return {
        "issuer": oauth,
        "authorization_endpoint": authorization_endpoint(),
        "token_endpoint": f"{oauth}/v1/token",
        "revocation_endpoint": f"{oauth}/v1/revoke",
        "userinfo_endpoint": f"{oauth}/v1/userinfo",
        "jwks_uri": f"{oauth}/v1/keys",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "scopes_supported": ["openid", "aliuid", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_post",
            "client_secret_basic",
        ],
        "claims_supported": [
            "iss",
            "aud",
            "sub",
            "exp",
            "iat",
            "nonce",
            "name",
            "upn",
            "aid",
            "uid",
        ],
    }


# --- Authorize ---------------------------------------------------------------------------------


@dataclass
class AuthorizeRequest:
    """A validated authorize request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1)."""

    client_id: str
    redirect_uri: str
    response_mode: str
    scope: str
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    offline: bool = False
    scopes: list[str] = field(default_factory=list)

    def redirect(self, **params) -> AuthorizeRedirect:
        """An answer to this request's redirect_uri, carrying ``state`` when the client sent one."""
        if self.state is not None:
            params["state"] = self.state
        return AuthorizeRedirect(self.redirect_uri, params, self.response_mode)

    def denied(self) -> AuthorizeRedirect:
        """The answer when the user cancels: ``error=access_denied`` with the state."""
        return self.redirect(
            error="access_denied", error_description="The user denied the authorization."
        )


# Parameters of the authorize request besides client_id and redirect_uri; others are ignored.
AUTHORIZE_PARAMETERS = (
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "access_type",
    "prompt",
    "code_challenge",
    "code_challenge_method",
)


def parse_authorize_request(params, url_length: int = 0) -> AuthorizeRequest:
    """Validate the authorize query ``params`` (a QueryDict); ``url_length`` is the length of
    the request's path and query as the sign-in pages will post back to and redirect to it.

    Raises :class:`InvalidAuthorizeClient` when client_id or redirect_uri is missing, repeated,
    unknown or unregistered (nothing may be sent to such a redirect_uri),
    :class:`AuthorizeRequestTooLong` when ``url_length`` exceeds ``MAX_AUTHORIZE_URL_LENGTH`` or
    the state ``MAX_STATE_LENGTH`` UTF-8 bytes (an ``invalid_request`` that cannot be sent back),
    and :class:`AuthorizeErrorRedirect` for every other error (``invalid_request``,
    ``unsupported_response_type``, ``invalid_scope``), to be sent to the redirect_uri with the
    state.
    """
    try:
        cid = _param(params, "client_id", required=True)
        redirect_uri = _param(params, "redirect_uri", required=True)
    except OAuthError as exc:
        raise InvalidAuthorizeClient(exc.description) from None
    if cid != client_id():
        raise InvalidAuthorizeClient("Unknown client_id.")
    if not redirect_uri_allowed(redirect_uri):
        raise InvalidAuthorizeClient("The redirect_uri is not registered for this application.")

    # From here on errors go back to the client, once the state and the whole URL are known to
    # fit in a redirect. Pick the response mode and state first.
    modes = params.getlist("response_mode")
    mode = modes[0] if len(modes) == 1 and modes[0] in ("query", "form_post") else "query"
    states = params.getlist("state")
    state = states[0] if len(states) == 1 and states[0] else None
    if state is not None and len(state.encode("utf-8", "surrogatepass")) > MAX_STATE_LENGTH:
        raise AuthorizeRequestTooLong(f"state is too long (at most {MAX_STATE_LENGTH} bytes).")
    if url_length > MAX_AUTHORIZE_URL_LENGTH:
        raise AuthorizeRequestTooLong(
            f"The authorization request is too long (at most {MAX_AUTHORIZE_URL_LENGTH} "
            "characters)."
        )
    fallback = AuthorizeRequest(cid, redirect_uri, mode, "", state=state)

    def fail(error: str, description: str):
        raise AuthorizeErrorRedirect(fallback.redirect(error=error, error_description=description))

    try:
        for name in AUTHORIZE_PARAMETERS:
            _param(params, name)
    except OAuthError as exc:
        fail(exc.error, exc.description)
    if modes and modes[0] and modes[0] not in ("query", "form_post"):
        fail("invalid_request", "response_mode must be query or form_post.")

    response_type = params.get("response_type")
    if not response_type:
        fail("invalid_request", "Missing parameter response_type.")
    if response_type != "code":
        fail("unsupported_response_type", "Only response_type=code is supported.")

    requested = (params.get("scope") or "").split()
    unknown = [s for s in requested if s not in SUPPORTED_SCOPES]
    if unknown:
        quoted = unknown[0][:MAX_QUOTED_SCOPE_LENGTH]
        fail("invalid_scope", f"Unknown scope {quoted}{'…' if quoted != unknown[0] else ''}.")
    scopes = list(dict.fromkeys(requested)) or list(SUPPORTED_SCOPES)

    nonce = params.get("nonce") or None
    if nonce is not None and len(nonce) > MAX_NONCE_LENGTH:
        fail("invalid_request", "nonce is too long.")

    access_type = params.get("access_type") or "online"
    if access_type not in ("online", "offline"):
        fail("invalid_request", "access_type must be online or offline.")

    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if method is not None and challenge is None:
        fail("invalid_request", "code_challenge_method without code_challenge.")
    if challenge is not None:
        method = method or "plain"  # RFC 7636 §4.3
        if method not in ("S256", "plain"):
            fail("invalid_request", "code_challenge_method must be S256 or plain.")
        if not PKCE_VALUE_RE.fullmatch(challenge) or (method == "S256" and len(challenge) != 43):
            fail("invalid_request", "Malformed code_challenge.")

    return AuthorizeRequest(
        client_id=cid,
        redirect_uri=redirect_uri,
        response_mode=mode,
        scope=" ".join(scopes),
        scopes=scopes,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        code_challenge_method=method,
        offline=access_type == "offline",
    )


def authenticate_cloud_user(upn: str, password: str) -> CloudUser | None:
    """The CloudUser whose sign-in name (case-insensitive) and password match, else None.

    Unknown names cost one password hash too, so timing does not tell which names exist.
    """
    upn = (upn or "").strip()
    user = None
    if upn.isprintable() and len(upn) <= 128:
        user = CloudUser.objects.filter(upn__iexact=upn).first()
    if user is None:
        CloudUser(password="").set_password(password or "")
        return None
    return user if user.check_password(password or "") else None


def signed_in_user(session) -> CloudUser | None:
    """The cloud user signed in to the sandbox sign-in site in ``session``, or None."""
    pk = session.get(SESSION_KEY)
    return CloudUser.objects.filter(pk=pk).first() if pk else None


def sign_in(session, user: CloudUser) -> None:
    """Remember ``user`` in the sandbox part of ``session`` (a new session key, so a fixed one
    cannot be reused). This never signs anyone in to the CRM."""
    session.cycle_key()
    session[SESSION_KEY] = user.pk


def sign_out(session) -> None:
    """Forget the sandbox cloud user in ``session`` (the rest of the session is untouched)."""
    session.pop(SESSION_KEY, None)


def approve(request: AuthorizeRequest, user: CloudUser) -> AuthorizeRedirect:
    """Issue a single-use authorization code to ``user`` for ``request`` and return the answer
    ``code`` + ``state`` for the redirect_uri. The code lives ``SANDBOX_CODE_LIFETIME`` seconds
    and is bound to the client, the redirect_uri, the PKCE challenge and the nonce."""
    code = secrets.token_urlsafe(32)
    now = timezone.now()
    AuthorizationCode.objects.create(
        code_hash=token_hash(code),
        client_id=request.client_id,
        redirect_uri=request.redirect_uri,
        user=user,
        scope=request.scope,
        nonce=request.nonce or "",
        code_challenge=request.code_challenge or "",
        code_challenge_method=request.code_challenge_method or "",
        offline=request.offline,
        expires_at=now + timedelta(seconds=settings.SANDBOX_CODE_LIFETIME),
    )
    log.info("sandbox oauth: authorization code issued to %s", user.upn)
    return request.redirect(code=code)


# --- Client authentication (RFC 6749 §2.3.1) ---------------------------------------------------


def authenticate_client(params, authorization: str | None) -> str:
    """Authenticate the client by HTTP Basic (``client_secret_basic``) or by ``client_id`` and
    ``client_secret`` in the form body (``client_secret_post``); return its client id.

    Raises ``invalid_request`` (400) when both methods are used or parameters repeat, and
    ``invalid_client`` (401, ``WWW-Authenticate: Basic``) when credentials are missing or wrong.
    """
    body_id = _param(params, "client_id")
    body_secret = _param(params, "client_secret")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise _invalid_client("Unsupported client authentication scheme.")
        if body_secret is not None:
            raise OAuthError("invalid_request", "Use one client authentication method, not two.")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client("Malformed HTTP Basic credentials.") from None
        if ":" not in decoded:
            raise _invalid_client("Malformed HTTP Basic credentials.")
        raw_id, _, raw_secret = decoded.partition(":")
        cid, secret = unquote(raw_id.replace("+", " ")), unquote(raw_secret.replace("+", " "))
        if body_id is not None and body_id != cid:
            raise OAuthError("invalid_request", "client_id differs from the authenticated client.")
    else:
        cid, secret = body_id, body_secret
        if cid is None or secret is None:
            raise _invalid_client("Client authentication is required.")
    expected = _client_secret()
    ok_id = hmac.compare_digest(cid.encode(), client_id().encode())
    ok_secret = bool(expected) and hmac.compare_digest(secret.encode(), expected.encode())
    if not (ok_id and ok_secret):
        raise _invalid_client("Client authentication failed.")
    return cid


def _check_api_request(query, content_type: str) -> None:
    if query:
        raise OAuthError("invalid_request", "Parameters belong in the form body, not the URL.")
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded.")


# --- Token endpoint ----------------------------------------------------------------------------


def token(params, query, content_type: str, authorization: str | None) -> dict:
    """Answer a token request (RFC 6749 §4.1.3 and §6) in Alibaba's observed shape.

    ``params`` is the form body, ``query`` the URL's QueryDict (must be empty), ``authorization``
    the Authorization header or None. A code exchange answers ``{"request_id", "access_token",
    "token_type": "AliyunSTS", "expires_in": "<seconds as a string>", "id_token" (scope openid),
    "refresh_token" and "additional_information": {"refresh_token_id": int}
    (access_type=offline)}``;
    a refresh answers the same without ``refresh_token`` and ``id_token`` (with a new
    ``refresh_token`` when ``SANDBOX_ROTATE_REFRESH_TOKENS``: the used one is then revoked).

    Raises :class:`OAuthError`: ``invalid_request``, ``invalid_client`` (401),
    ``unsupported_grant_type``, ``invalid_grant``, ``invalid_scope``.
    """
    _check_api_request(query, content_type)
    cid = authenticate_client(params, authorization)
    grant_type = _param(params, "grant_type", required=True)
    if grant_type == "authorization_code":
        return _exchange_code(params, cid)
    if grant_type == "refresh_token":
        return _refresh(params, cid)
    raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant_type}.")


def _pkce_matches(row: AuthorizationCode, verifier: str | None) -> bool:
    if not row.code_challenge:
        return verifier is None  # a verifier without a challenge is a downgrade attempt
    if verifier is None:
        return False
    if row.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return hmac.compare_digest(computed, row.code_challenge)


class _Replayed(Exception):
    pass


def _revoke_code_grant(row: AuthorizationCode) -> None:
    """Revoke what a code was exchanged for (its refresh token kills the access tokens too)."""
    now = timezone.now()
    row.refresh_from_db()
    if row.access_token_id:
        AccessToken.objects.filter(pk=row.access_token_id, revoked_at__isnull=True).update(
            revoked_at=now
        )
    if row.refresh_token_id:
        RefreshToken.objects.filter(pk=row.refresh_token_id, revoked_at__isnull=True).update(
            revoked_at=now
        )
    log.warning("sandbox oauth: authorization code replayed; its tokens are revoked")


def _exchange_code(params, cid: str) -> dict:
    code = _param(params, "code", required=True)
    redirect_uri = _param(params, "redirect_uri", required=True)
    verifier = _param(params, "code_verifier")
    if verifier is not None and not PKCE_VALUE_RE.fullmatch(verifier):
        raise OAuthError(
            "invalid_request", "code_verifier must be 43-128 characters [A-Za-z0-9-._~]."
        )
    now = timezone.now()
    row = (
        AuthorizationCode.objects.select_related("user").filter(code_hash=token_hash(code)).first()
    )
    if row is None or not hmac.compare_digest(row.client_id, cid):
        raise OAuthError("invalid_grant", "Unknown authorization code.")
    if row.used_at is not None:
        _revoke_code_grant(row)
        raise OAuthError("invalid_grant", "The authorization code was already used.")
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "The authorization code has expired.")
    if row.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request.")
    if not _pkce_matches(row, verifier):
        raise OAuthError("invalid_grant", "PKCE verification failed.")
    try:
        with transaction.atomic(using=SANDBOX_DB):
            # Claim the code; a concurrent exchange of the same code finds nothing to update.
            claimed = AuthorizationCode.objects.filter(pk=row.pk, used_at__isnull=True).update(
                used_at=now
            )
            if not claimed:
                raise _Replayed
            answer, access, refresh = _issue(row.user, cid, row.scope, row.offline, row.nonce)
            AuthorizationCode.objects.filter(pk=row.pk).update(
                access_token=access, refresh_token=refresh
            )
    except _Replayed:
        _revoke_code_grant(row)
        raise OAuthError("invalid_grant", "The authorization code was already used.") from None
    log.info("sandbox oauth: code exchanged for tokens of %s", row.user.upn)
    return answer


def _issue(user, cid, scope, offline, nonce, refresh=None):
    """Mint tokens; return (answer, AccessToken row, RefreshToken row or None)."""
    answer = {"request_id": new_request_id()}
    new_refresh = None
    refresh_value = None
    if refresh is None and offline:
        refresh_value = secrets.token_urlsafe(48)
        new_refresh = RefreshToken.objects.create(
            token_hash=token_hash(refresh_value),
            client_id=cid,
            user=user,
            scope=scope,
            expires_at=timezone.now() + timedelta(seconds=settings.SANDBOX_REFRESH_TOKEN_LIFETIME),
        )
    issued = issue_access_token(user, cid, scope=scope, refresh_token=refresh or new_refresh)
    answer.update(
        access_token=issued.value,
        token_type="AliyunSTS",
        expires_in=str(issued.expires_in),
    )
    if new_refresh is not None:
        answer["refresh_token"] = refresh_value
    if refresh is None and "openid" in scope.split():
        answer["id_token"] = _id_token(user, cid, nonce)
    holder = refresh or new_refresh
    if holder is not None:
        answer["additional_information"] = {"refresh_token_id": holder.refresh_token_id}
    return answer, issued.row, new_refresh


def _id_token(user: CloudUser, cid: str, nonce: str) -> str:
    """An RS256 id_token (OIDC Core §2) with Alibaba's claims (RAM doc 93698); ids are strings."""
    now = int(time.time())
    claims = {
        "iss": issuer(),
        "aud": cid,
        "sub": user.uid,
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "name": user.display_name,
        "upn": user.upn,
        "aid": user.aid,
        "uid": user.uid,
    }
    if nonce:
        claims["nonce"] = nonce
    return keys.sign_jwt(claims)


def _refresh(params, cid: str) -> dict:
    value = _param(params, "refresh_token", required=True)
    scope = _param(params, "scope")
    row = RefreshToken.objects.select_related("user").filter(token_hash=token_hash(value)).first()
    if row is None or not hmac.compare_digest(row.client_id, cid):
        raise OAuthError("invalid_grant", "Unknown refresh_token.")
    if row.revoked_at is not None:
        raise OAuthError("invalid_grant", "The refresh_token was revoked.")
    if not row.is_active():
        raise OAuthError("invalid_grant", "The refresh_token has expired.")
    granted = row.scope.split()
    if scope is not None:
        asked = scope.split()
        if any(s not in granted for s in asked):
            raise OAuthError("invalid_scope", "The scope exceeds what was granted.")
        granted = list(dict.fromkeys(asked))
    with transaction.atomic(using=SANDBOX_DB):
        if settings.SANDBOX_ROTATE_REFRESH_TOKENS:
            # Rotation (RFC 9700 §4.14.2): the used refresh_token dies, a new one is answered.
            # A conditional update so that two concurrent refreshes cannot both use it.
            used = RefreshToken.objects.filter(pk=row.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            if not used:
                raise OAuthError("invalid_grant", "The refresh_token was revoked.")
            answer, _, _ = _issue(row.user, cid, " ".join(granted), True, "")
            answer.pop("id_token", None)
        else:
            answer, _, _ = _issue(row.user, cid, " ".join(granted), True, "", refresh=row)
    log.info("sandbox oauth: access token refreshed for %s", row.user.upn)
    return answer


# --- Revocation (RFC 7009) ---------------------------------------------------------------------


def revoke(params, query, content_type: str, authorization: str | None) -> None:
    """Revoke an access_token or refresh_token of the authenticated client (RFC 7009 §2.1).

    Revoking a refresh_token also ends every access token issued with it; revoking an access
    token ends only that one. An unknown or already revoked token is not an error (§2.2).
    ``token_type_hint`` is only a hint: both kinds are looked up. Raises :class:`OAuthError`
    ``invalid_request`` or ``invalid_client`` (401).
    """
    _check_api_request(query, content_type)
    cid = authenticate_client(params, authorization)
    value = _param(params, "token", required=True)
    _param(params, "token_type_hint")
    digest = token_hash(value)
    now = timezone.now()
    refreshed = RefreshToken.objects.filter(
        token_hash=digest, client_id=cid, revoked_at__isnull=True
    ).update(revoked_at=now)
    accessed = AccessToken.objects.filter(
        token_hash=digest, client_id=cid, revoked_at__isnull=True
    ).update(revoked_at=now)
    if refreshed or accessed:
        log.info("sandbox oauth: %s revoked", "refresh_token" if refreshed else "access_token")


# --- Userinfo (OIDC Core §5.3, RFC 6750 §2.1) ----------------------------------------------------


def userinfo(authorization: str | None, query) -> dict:
    """The claims of the access token's user: ``{"sub", "name", "upn", "aid", "uid"}`` (all
    strings).

    The token is accepted only as ``Authorization: Bearer <access_token>``. Raises
    :class:`OAuthError` 401 with a ``WWW-Authenticate: Bearer`` challenge: without error code
    when no credentials were sent (RFC 6750 §3.1), ``invalid_token`` when the token is
    malformed, unknown, expired or revoked; 403 ``insufficient_scope`` without ``openid``.
    """
    if authorization is None:
        if "access_token" in query:
            raise _invalid_token("Send the access token in the Authorization header.")
        raise OAuthError(
            "invalid_token",
            "Authorization: Bearer <access_token> is required.",
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="aliyun-sandbox"'},
        )
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise _invalid_token("Send the access token as Authorization: Bearer.")
    row = resolve_bearer(value)
    if row is None:
        raise _invalid_token("The access token is invalid, expired or revoked.")
    if "openid" not in row.scope.split():
        raise OAuthError(
            "insufficient_scope",
            "The access token lacks the openid scope.",
            status=403,
            headers={
                "WWW-Authenticate": 'Bearer realm="aliyun-sandbox", error="insufficient_scope"'
            },
        )
    user = row.user
    return {
        "sub": user.uid,
        "name": user.display_name,
        "upn": user.upn,
        "aid": user.aid,
        "uid": user.uid,
    }
