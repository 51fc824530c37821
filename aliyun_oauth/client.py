"""The OAuth 2.0 / OpenID Connect protocol, spoken with requests-oauthlib and PyJWT.

Protocol sources: RFC 6749 (authorization code grant, refresh, error responses), RFC 7636
(PKCE S256), RFC 7009 (revocation), OpenID Connect Core 1.0 §3.1 (id_token validation, nonce),
§5.3 (userinfo), OpenID Connect Discovery 1.0; Alibaba Cloud's profile of them is summarised in
docs/PROTOCOL.md §1 (RAM docs 93696/93698): client_secret in the form body,
``expires_in`` as a string, ``token_type`` "AliyunSTS", refresh answers without refresh_token and
id_token.

Nothing here knows what the access token contains: it is an opaque string.

Every setting is read at call time. Upstream failures raise the exceptions of
``aliyun_oauth.exceptions``, never ``requests``/``oauthlib`` ones.
"""

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from urllib.parse import quote

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests_oauthlib import OAuth2Session

from aliyun_oauth.exceptions import (
    IdTokenInvalid,
    InvalidGrant,
    OAuthUpstreamError,
    TokenRequestRejected,
)

log = logging.getLogger(__name__)

# Alibaba's default access token lifetime (docs/PROTOCOL.md §1), used when a provider omits
# expires_in.
DEFAULT_EXPIRES_IN = 3600  # seconds
MAX_EXPIRES_IN = 366 * 86400  # seconds; Alibaba's access tokens live at most 10 800 s
DISCOVERY_CACHE_SECONDS = 3600
JWKS_CACHE_SECONDS = 3600
# After a refetch for an unknown kid, no other refetch for this long (shared through the cache).
JWKS_REFETCH_COOLDOWN = 60  # seconds


@dataclass(frozen=True)
class ProviderConfig:
    """The provider's endpoints and this client's registration, resolved from the settings."""

    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    issuer: str
    client_id: str
    client_secret: str
    scope: str
    auth_method: str  # "client_secret_post" or "client_secret_basic"


@dataclass(frozen=True)
class TokenResponse:
    """A successful token endpoint answer. ``expires_in`` is in seconds; ``refresh_token`` and
    ``id_token`` are None when absent (refresh answers usually lack both)."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str | None
    id_token: str | None
    scope: str | None


class _Session(OAuth2Session):
    """OAuth2Session with default timeouts, the configured CA bundle and a transport check."""

    def request(self, method, url, *args, **kwargs):
        _check_transport(url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (settings.ALIYUN_CONNECT_TIMEOUT, settings.ALIYUN_READ_TIMEOUT)
        if kwargs.get("verify") is None:
            # Per request, not Session.verify: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
            # override a session-level verify (psf/requests#3829).
            kwargs["verify"] = settings.ALIYUN_CA_BUNDLE or True
        return super().request(method, url, *args, **kwargs)


def _check_transport(url: str) -> None:
    """Refuse plain-HTTP endpoints unless ``ALIYUN_OAUTH_ALLOW_HTTP`` (development) is on."""
    if url.lower().startswith("https://"):
        return
    if url.lower().startswith("http://") and settings.ALIYUN_OAUTH_ALLOW_HTTP:
        # oauthlib reads this process-wide switch; our own check above stays the gate.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        return
    raise OAuthUpstreamError("The Alibaba Cloud endpoint settings are not HTTPS URLs.")


def http_session(**kwargs) -> OAuth2Session:
    """The one upstream session factory: an ``OAuth2Session`` (kwargs go to its constructor)
    with connect/read timeouts ``ALIYUN_CONNECT_TIMEOUT``/``ALIYUN_READ_TIMEOUT`` (seconds) and
    ``verify`` = ``ALIYUN_CA_BUNDLE`` (a path) or the system CAs when empty."""
    session = _Session(**kwargs)
    session.headers["Accept"] = "application/json"
    return session


def _send(what: str, call):
    """Run ``call()`` and turn transport failures into OAuthUpstreamError (no URL, no body)."""
    try:
        return call()
    except requests.Timeout as exc:
        log.warning("aliyun_oauth: %s timed out", what)
        raise OAuthUpstreamError("Alibaba Cloud did not answer in time; try again.") from exc
    except requests.RequestException as exc:
        log.warning("aliyun_oauth: %s failed: %s", what, type(exc).__name__)
        raise OAuthUpstreamError("Alibaba Cloud cannot be reached; try again.") from exc


def _json_or_error(what: str, response: requests.Response) -> dict:
    """Return the JSON object of a 2xx answer; raise OAuthUpstreamError for 5xx/non-JSON and
    TokenRequestRejected (InvalidGrant for ``invalid_grant``) for OAuth error answers."""
    status = response.status_code
    if status >= 500:
        log.warning("aliyun_oauth: %s answered HTTP %s", what, status)
        raise OAuthUpstreamError(f"Alibaba Cloud had a problem (HTTP {status}); try again.")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        log.warning("aliyun_oauth: %s answered an unreadable body (HTTP %s)", what, status)
        raise OAuthUpstreamError("Alibaba Cloud answered something unreadable; try again.")
    if status >= 400 or "error" in body:
        error = str(body.get("error") or f"http_{status}")[:100]
        description = str(body.get("error_description") or "")[:300]
        log.info("aliyun_oauth: %s answered error=%s (HTTP %s)", what, error, status)
        cls = InvalidGrant if error == "invalid_grant" else TokenRequestRejected
        raise cls(error, description, status)
    return body


def _get_json(url: str, what: str) -> dict:
    session = http_session()
    response = _send(what, lambda: session.get(url, withhold_token=True))
    try:
        return _json_or_error(what, response)
    except TokenRequestRejected as exc:
        raise OAuthUpstreamError(f"Alibaba Cloud {what} is unavailable.") from exc


def _discovery_document(url: str) -> dict:
    """The OpenID Provider Metadata at ``url`` (OIDC Discovery 1.0 §4), cached.

    Its ``issuer`` must be ``url`` without ``/.well-known/openid-configuration`` (§4.3).
    """
    key = "aliyun_oauth:discovery:" + hashlib.sha256(url.encode()).hexdigest()
    doc = cache.get(key)
    if doc is None:
        doc = _get_json(url, "discovery")
        suffix = "/.well-known/openid-configuration"
        if url.endswith(suffix) and doc.get("issuer") != url.removesuffix(suffix):
            log.warning("aliyun_oauth: discovery document names another issuer")
            raise OAuthUpstreamError("The provider's discovery document names another issuer.")
        cache.set(key, doc, DISCOVERY_CACHE_SECONDS)
    return doc


def provider_config() -> ProviderConfig:
    """Resolve the endpoints: an explicit ``ALIYUN_OAUTH_*`` setting wins, then the discovery
    document (when ``ALIYUN_OAUTH_DISCOVERY_URL`` is set), then Alibaba's paths under
    ``ALIYUN_SIGNIN_BASE_URL``/``ALIYUN_OAUTH_BASE_URL``.

    Raises OAuthUpstreamError when discovery is set but unreachable, or the client auth method is
    unknown.
    """
    s = settings
    doc = _discovery_document(s.ALIYUN_OAUTH_DISCOVERY_URL) if s.ALIYUN_OAUTH_DISCOVERY_URL else {}
    signin = s.ALIYUN_SIGNIN_BASE_URL.rstrip("/")
    oauth = s.ALIYUN_OAUTH_BASE_URL.rstrip("/")

    def pick(explicit: str, key: str, default: str) -> str:
        value = explicit or doc.get(key) or default
        return value if isinstance(value, str) else default

    method = s.ALIYUN_OAUTH_CLIENT_AUTH_METHOD
    if method not in ("client_secret_post", "client_secret_basic"):
        raise OAuthUpstreamError("ALIYUN_OAUTH_CLIENT_AUTH_METHOD is not supported.")
    return ProviderConfig(
        authorization_endpoint=pick(
            s.ALIYUN_OAUTH_AUTHORIZE_URL, "authorization_endpoint", f"{signin}/oauth2/v1/auth"
        ),
        token_endpoint=pick(s.ALIYUN_OAUTH_TOKEN_URL, "token_endpoint", f"{oauth}/v1/token"),
        revocation_endpoint=pick(
            s.ALIYUN_OAUTH_REVOKE_URL, "revocation_endpoint", f"{oauth}/v1/revoke"
        ),
        userinfo_endpoint=pick(
            s.ALIYUN_OAUTH_USERINFO_URL, "userinfo_endpoint", f"{oauth}/v1/userinfo"
        ),
        jwks_uri=pick(s.ALIYUN_OAUTH_JWKS_URL, "jwks_uri", f"{oauth}/v1/keys"),
        issuer=pick(s.ALIYUN_OAUTH_ISSUER, "issuer", oauth),
        client_id=s.ALIYUN_CLIENT_ID,
        client_secret=s.ALIYUN_CLIENT_SECRET,
        scope=s.ALIYUN_OAUTH_SCOPE,
        auth_method=method,
    )


def new_code_verifier() -> str:
    """A fresh PKCE code_verifier: 64 chars of the RFC 7636 §4.1 alphabet."""
    return WebApplicationClient(None).create_code_verifier(64)


def authorization_url(
    cfg: ProviderConfig, redirect_uri: str, state: str, code_verifier: str, nonce: str
) -> str:
    """The authorize URL (RFC 6749 §4.1.1 + RFC 7636 S256 + OIDC nonce), with Alibaba's
    ``access_type=offline`` (→ refresh_token) and ``response_mode=form_post``."""
    _check_transport(cfg.authorization_endpoint)
    session = http_session(
        client_id=cfg.client_id, redirect_uri=redirect_uri, scope=cfg.scope.split() or None
    )
    challenge = WebApplicationClient(cfg.client_id).create_code_challenge(code_verifier, "S256")
    url, _ = session.authorization_url(
        cfg.authorization_endpoint,
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
        nonce=nonce,
        access_type="offline",
        response_mode="form_post",
    )
    return url


def _client_auth(cfg: ProviderConfig) -> dict:
    if cfg.auth_method == "client_secret_basic":
        # RFC 6749 §2.3.1: form-urlencode both parts before Basic encoding.
        return {
            "auth": requests.auth.HTTPBasicAuth(
                quote(cfg.client_id, safe=""), quote(cfg.client_secret, safe="")
            )
        }
    return {"client_id": cfg.client_id, "client_secret": cfg.client_secret}


def _token_session(cfg: ProviderConfig, redirect_uri: str | None = None) -> OAuth2Session:
    _check_transport(cfg.token_endpoint)  # fetch_token/refresh_token check before request()
    session = http_session(client_id=cfg.client_id, redirect_uri=redirect_uri)

    def check(response):
        _json_or_error("token endpoint", response)
        return response

    session.register_compliance_hook("access_token_response", check)
    session.register_compliance_hook("refresh_token_response", check)
    return session


def _parse_token(call) -> TokenResponse:
    """Run a requests-oauthlib token call and validate its answer into a TokenResponse."""
    try:
        token = call()
    except Warning as w:  # oauthlib: "Scope has changed" -- the granted scope is what counts
        token = getattr(w, "token", None)
        if token is None:
            raise OAuthUpstreamError("Alibaba Cloud answered an unusable token.") from w
    except (OAuth2Error, ValueError) as exc:
        log.warning("aliyun_oauth: token answer rejected: %s", type(exc).__name__)
        raise OAuthUpstreamError("Alibaba Cloud answered an unusable token.") from exc
    access_token = token.get("access_token")
    token_type = token.get("token_type") or "Bearer"
    expires_in = token.get("expires_in", DEFAULT_EXPIRES_IN)
    refresh_token = token.get("refresh_token") or None
    id_token = token.get("id_token") or None
    scope = token.get("scope")
    if isinstance(scope, list | tuple):
        scope = " ".join(scope)
    if (
        not isinstance(access_token, str)
        or not access_token
        or not isinstance(token_type, str)
        or len(token_type) > 40
        or not isinstance(expires_in, int)
        or not 0 < expires_in <= MAX_EXPIRES_IN
        or not isinstance(refresh_token, str | None)
        or not isinstance(id_token, str | None)
    ):
        raise OAuthUpstreamError("Alibaba Cloud answered an unusable token.")
    return TokenResponse(access_token, token_type, expires_in, refresh_token, id_token, scope)


def exchange_code(cfg: ProviderConfig, code: str, redirect_uri: str, code_verifier: str):
    """Exchange an authorization code (RFC 6749 §4.1.3, with the PKCE ``code_verifier``).

    Returns a TokenResponse. Raises InvalidGrant (bad/used/expired code), TokenRequestRejected
    (other OAuth errors), OAuthUpstreamError (unreachable, timeout, 5xx, non-JSON, no token).
    """
    session = _token_session(cfg, redirect_uri)
    auth = _client_auth(cfg)
    kwargs = {"code": code, "code_verifier": code_verifier}
    if "auth" in auth:
        kwargs.update(auth=auth["auth"], include_client_id=False)
    else:
        kwargs.update(include_client_id=True, client_secret=cfg.client_secret)
    return _parse_token(
        lambda: _send("code exchange", lambda: session.fetch_token(cfg.token_endpoint, **kwargs))
    )


def refresh(cfg: ProviderConfig, refresh_token: str) -> TokenResponse:
    """Use a refresh_token (RFC 6749 §6). The answer may lack refresh_token and id_token
    (Alibaba's does): the caller keeps the old ones.

    Raises InvalidGrant (refresh_token dead), TokenRequestRejected, OAuthUpstreamError.
    """
    session = _token_session(cfg)
    return _parse_token(
        lambda: _send(
            "refresh",
            lambda: session.refresh_token(
                cfg.token_endpoint, refresh_token=refresh_token, **_client_auth(cfg)
            ),
        )
    )


def revoke(cfg: ProviderConfig, token: str, token_type_hint: str) -> None:
    """Revoke ``token`` (RFC 7009 §2.1: form ``token``, ``token_type_hint`` + client auth).

    Success is any 2xx (Alibaba's body is unconfirmed). Raises TokenRequestRejected or
    OAuthUpstreamError otherwise.
    """
    session = http_session()
    auth = _client_auth(cfg)
    data = {"token": token, "token_type_hint": token_type_hint}
    data.update({k: v for k, v in auth.items() if k != "auth"})
    response = _send(
        "revoke",
        lambda: session.post(
            cfg.revocation_endpoint, data=data, auth=auth.get("auth"), withhold_token=True
        ),
    )
    if 200 <= response.status_code < 300:
        return
    _json_or_error("revoke", response)
    raise OAuthUpstreamError(f"Alibaba Cloud answered HTTP {response.status_code} to revoke.")


def userinfo(cfg: ProviderConfig, access_token: str) -> dict:
    """GET the userinfo endpoint with ``Authorization: Bearer`` (OIDC Core §5.3).

    Returns the claims (Alibaba: ``sub``, ``name``, ``upn`` or ``login_name``, ``aid``,
    ``uid``). Raises TokenRequestRejected (e.g. 401 invalid_token) or OAuthUpstreamError.
    """
    session = http_session()
    response = _send(
        "userinfo",
        lambda: session.get(
            cfg.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
            withhold_token=True,
        ),
    )
    if response.status_code == 401:
        raise TokenRequestRejected("invalid_token", "", 401)
    return _json_or_error("userinfo", response)


def _jwks(jwks_uri: str, refetch: bool = False) -> dict:
    key = "aliyun_oauth:jwks:" + hashlib.sha256(jwks_uri.encode()).hexdigest()
    jwks = None if refetch else cache.get(key)
    if jwks is None:
        jwks = _get_json(jwks_uri, "key set")
        cache.set(key, jwks, JWKS_CACHE_SECONDS)
    return jwks


def _find_key(jwks: dict, kid: str | None):
    try:
        keys = [k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_type == "RSA"]
    except jwt.PyJWTError:
        keys = []
    keys = [k for k in keys if k.public_key_use in (None, "sig")]
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((k for k in keys if k.key_id == kid), None)


def _signing_key(cfg: ProviderConfig, kid: str | None):
    """The JWKS key for ``kid``: from the cached set, else one refetch unless another refetch
    happened within JWKS_REFETCH_COOLDOWN seconds (so forged kids cannot hammer the provider)."""
    key = _find_key(_jwks(cfg.jwks_uri), kid)
    if key is None:
        cooldown = "aliyun_oauth:jwks-refetch:" + hashlib.sha256(cfg.jwks_uri.encode()).hexdigest()
        if cache.add(cooldown, 1, JWKS_REFETCH_COOLDOWN):
            key = _find_key(_jwks(cfg.jwks_uri, refetch=True), kid)
    if key is None:
        raise IdTokenInvalid("The id_token is signed with an unknown key.")
    return key.key


def verify_id_token(cfg: ProviderConfig, id_token: str, nonce: str | None) -> dict:
    """Validate an id_token (OIDC Core 1.0 §3.1.3.7) and return its claims.

    RS256 only; signature against the provider's JWKS; ``iss`` = the configured issuer; ``aud``
    (string or list) contains our client_id (and ``azp`` is ours when present); ``exp``/``iat``
    within ``ALIYUN_OAUTH_CLOCK_LEEWAY`` seconds; ``nonce`` equal to ours when ``nonce`` is given
    (a missing nonce claim is accepted only with ``ALIYUN_OAUTH_REQUIRE_NONCE`` off).
    Raises IdTokenInvalid, or OAuthUpstreamError when the JWKS cannot be fetched.
    """
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise IdTokenInvalid("The id_token is malformed.") from exc
    if header.get("alg") != "RS256":
        raise IdTokenInvalid("The id_token is not signed with RS256.")
    kid = header.get("kid")
    key = _signing_key(cfg, kid if isinstance(kid, str) else None)
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=["RS256"],
            audience=cfg.client_id,
            issuer=cfg.issuer,
            leeway=settings.ALIYUN_OAUTH_CLOCK_LEEWAY,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise IdTokenInvalid("The id_token has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise IdTokenInvalid("The id_token is issued in the future.") from exc
    except jwt.InvalidIssuerError as exc:
        raise IdTokenInvalid("The id_token comes from another issuer.") from exc
    except jwt.InvalidAudienceError as exc:
        raise IdTokenInvalid("The id_token is meant for another application.") from exc
    except jwt.PyJWTError as exc:
        raise IdTokenInvalid("The id_token signature or claims are invalid.") from exc
    if "azp" in claims and claims["azp"] != cfg.client_id:
        raise IdTokenInvalid("The id_token is meant for another application.")
    check_nonce = nonce is not None and ("nonce" in claims or settings.ALIYUN_OAUTH_REQUIRE_NONCE)
    if check_nonce and not hmac.compare_digest(
        str(claims.get("nonce", "")).encode(), nonce.encode()
    ):
        raise IdTokenInvalid("The id_token does not answer this sign-in (nonce mismatch).")
    return claims
