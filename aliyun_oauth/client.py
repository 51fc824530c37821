"""The OAuth 2.0 / OpenID Connect protocol, spoken with requests-oauthlib and PyJWT.

Protocol sources: RFC 6749 (authorization code grant, refresh, error responses), RFC 7636
(PKCE S256), RFC 7009 (revocation), OpenID Connect Core 1.0 §3.1 (id_token validation, nonce),
§5.3 (userinfo), OpenID Connect Discovery 1.0, RFC 9207 (``iss`` in the authorization response);
Alibaba Cloud's profile of them (RAM docs 93696/93698) is summarised in docs/oauth-protocol.md:
client_secret in the form body, ``expires_in`` as a string, ``token_type`` "AliyunSTS", refresh
answers without refresh_token and id_token.

Nothing here knows what the access token contains: it is an opaque string.

Every setting is read at call time. Upstream failures raise the exceptions of
``aliyun_oauth.exceptions``, never ``requests``/``oauthlib`` ones.
"""

import hashlib
import hmac
import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests_oauthlib import OAuth2Session

from aliyun_oauth.exceptions import (
    IdTokenInvalid,
    InvalidGrant,
    OAuthUpstreamError,
    TokenRequestRejected,
)
from crmdemo.request_id import upstream_headers
from crmdemo.upstream import AnswerTooLarge, BoundedSession

log = logging.getLogger(__name__)

# Used when expires_in is missing, unreadable, non-positive or absurd: the shortest lifetime
# Alibaba allows for access tokens (900 s), so the CRM refreshes too early rather than too late.
FALLBACK_EXPIRES_IN = 900  # seconds
MAX_EXPIRES_IN = 366 * 86400  # seconds; Alibaba's access tokens live at most 10 800 s
# token_type values this client knows how to use (RFC 6749 §7.1: never use an unknown type).
KNOWN_TOKEN_TYPES = {"bearer": "Bearer", "aliyunsts": "AliyunSTS"}
# id_token algorithms PyJWT verifies here, and the JWK key type each needs.
ID_TOKEN_KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}
# Authorize parameters this client sets itself: never taken from ALIYUN_OAUTH_AUTHORIZE_PARAMS.
OWN_AUTHORIZE_PARAMS = {
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
}
ALIBABA_HOSTS = ("aliyun.com", "alibabacloud.com")
DISCOVERY_CACHE_SECONDS = 3600
JWKS_CACHE_SECONDS = 3600
# After a refetch for an unknown kid, no other refetch for this long (shared through the cache).
JWKS_REFETCH_COOLDOWN = 60  # seconds


@dataclass(frozen=True)
class ProviderConfig:
    """The provider's endpoints and this client's registration, resolved from the settings.

    ``revocation_endpoint``/``userinfo_endpoint`` are None when the provider's discovery
    document does not offer them (not supported by this provider). ``iss_required`` is True when
    the provider advertises RFC 9207's ``iss`` authorization response parameter.
    """

    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None
    userinfo_endpoint: str | None
    jwks_uri: str
    issuer: str
    client_id: str
    client_secret: str
    scope: str
    auth_method: str  # "client_secret_post" or "client_secret_basic"
    id_token_algorithms: tuple[str, ...] = ("RS256",)
    iss_required: bool = False
    authorize_params: tuple[tuple[str, str], ...] = ()


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


class _Session(BoundedSession, OAuth2Session):
    """OAuth2Session with default timeouts, the configured CA bundle and a transport check;
    answers bounded in size and total time (``crmdemo.upstream.BoundedSession``)."""

    def request(self, method, url, *args, **kwargs):
        _check_transport(url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (settings.ALIYUN_CONNECT_TIMEOUT, settings.ALIYUN_READ_TIMEOUT)
        if kwargs.get("verify") is None:
            # Per request, not Session.verify: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
            # override a session-level verify (psf/requests#3829).
            kwargs["verify"] = settings.ALIYUN_CA_BUNDLE or True
        # The CRM's request id, for matching the provider's logs (an unsigned, optional header).
        kwargs["headers"] = {**upstream_headers(), **(kwargs.get("headers") or {})}
        return super().request(method, url, *args, **kwargs)


def _check_transport(url: str) -> None:
    """Refuse plain-HTTP endpoints unless ``ALIYUN_OAUTH_ALLOW_HTTP`` (development) is on."""
    if url.lower().startswith("https://"):
        return
    if url.lower().startswith("http://") and settings.ALIYUN_OAUTH_ALLOW_HTTP:
        # oauthlib reads this process-wide switch; our own check above stays the gate.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        return
    raise OAuthUpstreamError(
        _("The %(provider)s endpoint settings are not HTTPS URLs.") % {"provider": provider_name()}
    )


def provider_name() -> str:
    """The provider's name for messages: ``ALIYUN_OAUTH_PROVIDER_NAME``, else "Alibaba Cloud",
    else (a discovery URL on another host) that host's name."""
    if settings.ALIYUN_OAUTH_PROVIDER_NAME:
        return settings.ALIYUN_OAUTH_PROVIDER_NAME
    host = urlsplit(settings.ALIYUN_OAUTH_DISCOVERY_URL).hostname or ""
    if not host or any(host == h or host.endswith("." + h) for h in ALIBABA_HOSTS):
        return _("Alibaba Cloud")
    return host


def _endpoint(url: str | None) -> str:
    """An endpoint URL for the log: no query string, no fragment."""
    return (url or "").split("?", 1)[0].split("#", 1)[0]


def http_session(**kwargs) -> OAuth2Session:
    """The one upstream session factory: an ``OAuth2Session`` (kwargs go to its constructor)
    with connect/read timeouts ``ALIYUN_CONNECT_TIMEOUT``/``ALIYUN_READ_TIMEOUT`` (seconds) and
    ``verify`` = ``ALIYUN_CA_BUNDLE`` (a path) or the system CAs when empty."""
    session = _Session(**kwargs)
    session.headers["Accept"] = "application/json"
    return session


def log_failure(what: str, endpoint: str | None, status, error="-", description="", **extra):
    """Log one upstream failure as one line: what failed, the endpoint (no query string), the
    HTTP status, the provider's error code and description, and ``extra`` facts. Callers never
    pass a token, code or secret."""
    facts = "".join(f" {k}={v}" for k, v in extra.items())
    log.warning(
        "aliyun_oauth: %s failed: endpoint=%s status=%s error=%s description=%r%s",
        what,
        _endpoint(endpoint),
        status,
        str(error)[:100],
        str(description or "")[:300],
        facts,
    )


def _send(what: str, call, endpoint: str | None = None):
    """Run ``call()`` and turn transport failures into OAuthUpstreamError (no body)."""
    name = provider_name()
    try:
        return call()
    except requests.Timeout as exc:
        log_failure(what, endpoint, "-", "timeout")
        raise OAuthUpstreamError(
            _("%(provider)s did not answer in time; try again.") % {"provider": name}
        ) from exc
    except AnswerTooLarge as exc:
        log_failure(what, endpoint, "-", "answer_too_large", str(exc))
        raise OAuthUpstreamError(
            _("%(provider)s answered something unusable; try again.") % {"provider": name}
        ) from exc
    except requests.RequestException as exc:
        log_failure(what, endpoint, "-", type(exc).__name__)
        raise OAuthUpstreamError(
            _("%(provider)s cannot be reached; try again.") % {"provider": name}
        ) from exc


def _json_or_error(what: str, response: requests.Response) -> dict:
    """Return the JSON object of a 2xx answer; raise OAuthUpstreamError for 5xx/non-JSON and
    TokenRequestRejected (InvalidGrant for ``invalid_grant``) for OAuth error answers. Every
    failure is logged once with the endpoint, the HTTP status and the provider's error."""
    status = response.status_code
    name = provider_name()
    try:
        body = response.json()
    except ValueError:
        body = None
    error = description = None
    if isinstance(body, dict):
        error, description = body.get("error"), body.get("error_description")
    if status >= 500:
        log_failure(what, response.url, status, error or "-", description or "")
        raise OAuthUpstreamError(
            _("%(provider)s had a problem (HTTP %(status)s); try again.")
            % {"provider": name, "status": status}
        )
    if not isinstance(body, dict):
        log_failure(what, response.url, status, "unreadable body")
        raise OAuthUpstreamError(
            _("%(provider)s answered something unreadable; try again.") % {"provider": name}
        )
    if status >= 400 or "error" in body:
        error = str(error or f"http_{status}")[:100]
        description = str(description or "")[:300]
        log_failure(what, response.url, status, error, description)
        cls = InvalidGrant if error == "invalid_grant" else TokenRequestRejected
        raise cls(error, description, status, provider=name)
    return body


def _get_json(url: str, what: str) -> dict:
    session = http_session()
    response = _send(what, lambda: session.get(url, withhold_token=True), url)
    try:
        return _json_or_error(what, response)
    except TokenRequestRejected as exc:
        raise OAuthUpstreamError(
            _("The %(what)s of %(provider)s is unavailable.")
            % {"what": what, "provider": provider_name()}
        ) from exc


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
            log_failure("discovery", url, 200, "issuer mismatch", issuer=repr(doc.get("issuer")))
            raise OAuthUpstreamError(_("The provider's discovery document names another issuer."))
        cache.set(key, doc, DISCOVERY_CACHE_SECONDS)
    return doc


def _authorize_params() -> tuple[tuple[str, str], ...]:
    """``ALIYUN_OAUTH_AUTHORIZE_PARAMS`` ("prompt=consent&ui_locales=zh") as pairs; refuses
    parameters this client sets itself."""
    raw = settings.ALIYUN_OAUTH_AUTHORIZE_PARAMS
    try:
        pairs = tuple(parse_qsl(raw, keep_blank_values=True, strict_parsing=True)) if raw else ()
    except ValueError:
        pairs = None
    if pairs is None or any(k in OWN_AUTHORIZE_PARAMS for k, _v in pairs):
        raise OAuthUpstreamError(
            _("ALIYUN_OAUTH_AUTHORIZE_PARAMS is not a query string of extra parameters.")
        )
    return pairs


def _id_token_algorithms(doc: dict) -> tuple[str, ...]:
    """The setting, else the discovery document's algorithms this client supports, else RS256."""
    wanted = settings.ALIYUN_OAUTH_ID_TOKEN_ALGORITHMS
    if wanted:
        if any(alg not in ID_TOKEN_KEY_TYPES for alg in wanted):
            raise OAuthUpstreamError(
                _("ALIYUN_OAUTH_ID_TOKEN_ALGORITHMS may list only %(algs)s.")
                % {"algs": ", ".join(ID_TOKEN_KEY_TYPES)}
            )
        return tuple(wanted)
    offered = doc.get("id_token_signing_alg_values_supported")
    if not isinstance(offered, list):
        return ("RS256",)
    usable = tuple(alg for alg in offered if alg in ID_TOKEN_KEY_TYPES)
    if not usable:
        log_failure(
            "discovery",
            settings.ALIYUN_OAUTH_DISCOVERY_URL,
            200,
            "no usable alg",
            offered=repr(offered)[:200],
        )
        raise OAuthUpstreamError(
            _("The provider signs id_tokens only with algorithms this CRM does not accept.")
        )
    return usable


def provider_config() -> ProviderConfig:
    """Resolve the endpoints: an explicit ``ALIYUN_OAUTH_*`` setting wins, then the discovery
    document (when ``ALIYUN_OAUTH_DISCOVERY_URL`` is set), then Alibaba's paths under
    ``ALIYUN_SIGNIN_BASE_URL``/``ALIYUN_OAUTH_BASE_URL``. With discovery, nothing falls back to
    Alibaba's hosts: a missing optional endpoint (revocation, userinfo) is None, a missing
    required one (OIDC Discovery §3) is an error.

    Raises OAuthUpstreamError when discovery is set but unreachable or incomplete, or a setting
    is unusable.
    """
    s = settings
    discovery = bool(s.ALIYUN_OAUTH_DISCOVERY_URL)
    doc = _discovery_document(s.ALIYUN_OAUTH_DISCOVERY_URL) if discovery else {}
    signin = s.ALIYUN_SIGNIN_BASE_URL.rstrip("/")
    oauth = s.ALIYUN_OAUTH_BASE_URL.rstrip("/")

    def pick(explicit: str, key: str, default: str, required: bool = True) -> str | None:
        if explicit:
            return explicit
        value = doc.get(key)
        if discovery:
            if isinstance(value, str) and value:
                return value
            if required:
                log_failure("discovery", s.ALIYUN_OAUTH_DISCOVERY_URL, 200, f"no {key}")
                raise OAuthUpstreamError(
                    _("The provider's discovery document has no %(key)s.") % {"key": key}
                )
            return None  # not supported by this provider
        return default

    method = s.ALIYUN_OAUTH_CLIENT_AUTH_METHOD
    if method not in ("client_secret_post", "client_secret_basic"):
        raise OAuthUpstreamError(_("ALIYUN_OAUTH_CLIENT_AUTH_METHOD is not supported."))
    return ProviderConfig(
        authorization_endpoint=pick(
            s.ALIYUN_OAUTH_AUTHORIZE_URL, "authorization_endpoint", f"{signin}/oauth2/v1/auth"
        ),
        token_endpoint=pick(s.ALIYUN_OAUTH_TOKEN_URL, "token_endpoint", f"{oauth}/v1/token"),
        revocation_endpoint=pick(
            s.ALIYUN_OAUTH_REVOKE_URL, "revocation_endpoint", f"{oauth}/v1/revoke", False
        ),
        userinfo_endpoint=pick(
            s.ALIYUN_OAUTH_USERINFO_URL, "userinfo_endpoint", f"{oauth}/v1/userinfo", False
        ),
        jwks_uri=pick(s.ALIYUN_OAUTH_JWKS_URL, "jwks_uri", f"{oauth}/v1/keys"),
        issuer=pick(s.ALIYUN_OAUTH_ISSUER, "issuer", oauth),
        client_id=s.ALIYUN_CLIENT_ID,
        client_secret=s.ALIYUN_CLIENT_SECRET,
        scope=s.ALIYUN_OAUTH_SCOPE,
        auth_method=method,
        id_token_algorithms=_id_token_algorithms(doc),
        iss_required=doc.get("authorization_response_iss_parameter_supported") is True,
        authorize_params=_authorize_params(),
    )


def new_code_verifier() -> str:
    """A fresh PKCE code_verifier: 64 chars of the RFC 7636 §4.1 alphabet."""
    return WebApplicationClient(None).create_code_verifier(64)


def authorization_url(
    cfg: ProviderConfig, redirect_uri: str, state: str, code_verifier: str, nonce: str
) -> str:
    """The authorize URL (RFC 6749 §4.1.1 + RFC 7636 S256 + OIDC nonce), with Alibaba's
    ``access_type=offline`` (→ refresh_token), ``response_mode=form_post`` and the extra
    parameters of ``ALIYUN_OAUTH_AUTHORIZE_PARAMS`` (which may replace those two)."""
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
        **{"access_type": "offline", "response_mode": "form_post", **dict(cfg.authorize_params)},
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


def expires_in_seconds(value, what: str = "token answer", endpoint: str | None = None) -> int:
    """A token answer's ``expires_in`` (RFC 6749 §5.1) as whole seconds, read leniently: an
    integer, a float, or either written as a string ("3599", "3599.5"). Missing, unreadable,
    non-positive or absurd (over MAX_EXPIRES_IN) values give FALLBACK_EXPIRES_IN, logged."""
    seconds = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    if seconds is not None and math.isfinite(seconds) and 1 <= seconds <= MAX_EXPIRES_IN:
        return int(seconds)
    if value is None:
        log.info(
            "aliyun_oauth: %s from endpoint=%s has no expires_in; assuming %s s",
            what,
            _endpoint(endpoint),
            FALLBACK_EXPIRES_IN,
        )
    else:
        log.warning(
            "aliyun_oauth: %s from endpoint=%s has an unusable expires_in=%.40r; assuming %s s",
            what,
            _endpoint(endpoint),
            value,
            FALLBACK_EXPIRES_IN,
        )
    return FALLBACK_EXPIRES_IN


def _token_session(
    cfg: ProviderConfig, what: str, redirect_uri: str | None = None
) -> OAuth2Session:
    _check_transport(cfg.token_endpoint)  # fetch_token/refresh_token check before request()
    session = http_session(client_id=cfg.client_id, redirect_uri=redirect_uri)

    def check(response):
        """Refuse error answers and answers without an access token (one log line each), and
        rewrite ``expires_in`` as whole seconds before oauthlib's strict parsing sees it."""
        body = _json_or_error(what, response)
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            log_failure(
                what,
                response.url,
                response.status_code,
                "no usable access_token",
                access_token_type=type(access_token).__name__,
            )
            raise OAuthUpstreamError(
                _("%(provider)s answered an unusable token.") % {"provider": provider_name()}
            )
        body["expires_in"] = expires_in_seconds(body.get("expires_in"), what, response.url)
        response._content = json.dumps(body).encode()  # as requests-oauthlib's compliance fixes
        return response

    session.register_compliance_hook("access_token_response", check)
    session.register_compliance_hook("refresh_token_response", check)
    return session


def _parse_token(what: str, endpoint: str, call) -> TokenResponse:
    """Run a requests-oauthlib token call and validate its answer into a TokenResponse.

    ``token_type`` is normalised for the known types ("Bearer" in any case, "AliyunSTS"); an
    unknown one is kept as given and logged: see :func:`token_type_known`.
    """
    try:
        token = call()
    except Warning as w:  # oauthlib: "Scope has changed" -- the granted scope is what counts
        token = getattr(w, "token", None)
        if token is None:
            log_failure(what, endpoint, 200, "unusable answer", reason=repr(str(w))[:100])
            raise OAuthUpstreamError(
                _("%(provider)s answered an unusable token.") % {"provider": provider_name()}
            ) from w
    except (OAuth2Error, ValueError) as exc:
        error = getattr(exc, "error", None) or type(exc).__name__
        log_failure(what, endpoint, "-", error)
        raise OAuthUpstreamError(
            _("%(provider)s answered an unusable token.") % {"provider": provider_name()}
        ) from exc
    token_type = token.get("token_type") or "Bearer"  # RFC 6749 requires it; Bearer if left out
    if not isinstance(token_type, str):
        token_type = repr(token_type)
    token_type = KNOWN_TOKEN_TYPES.get(token_type.lower(), token_type[:40])
    if not token_type_known(token_type):
        log.warning(
            "aliyun_oauth: %s from endpoint=%s has an unknown token_type=%.40r",
            what,
            _endpoint(endpoint),
            token_type,
        )
    refresh_token = token.get("refresh_token") or None
    id_token = token.get("id_token") or None
    scope = token.get("scope")
    if isinstance(scope, list | tuple):
        scope = " ".join(str(s) for s in scope)
    if not isinstance(refresh_token, str | None) or not isinstance(id_token, str | None):
        log_failure(what, endpoint, 200, "refresh_token or id_token is not a string")
        raise OAuthUpstreamError(
            _("%(provider)s answered an unusable token.") % {"provider": provider_name()}
        )
    return TokenResponse(
        token["access_token"],
        token_type,
        token["expires_in"],
        refresh_token,
        id_token,
        scope if isinstance(scope, str) else None,
    )


def token_type_known(token_type: str) -> bool:
    """Whether this client can use an access token of ``token_type`` (RFC 6749 §7.1: a client
    MUST NOT use a token whose type it does not understand): Bearer (RFC 6750) or AliyunSTS."""
    return token_type in KNOWN_TOKEN_TYPES.values()


def exchange_code(cfg: ProviderConfig, code: str, redirect_uri: str, code_verifier: str):
    """Exchange an authorization code (RFC 6749 §4.1.3, with the PKCE ``code_verifier``).

    Returns a TokenResponse. Raises InvalidGrant (bad/used/expired code), TokenRequestRejected
    (other OAuth errors), OAuthUpstreamError (unreachable, timeout, 5xx, non-JSON, no token).
    """
    what = "code exchange"
    session = _token_session(cfg, what, redirect_uri)
    auth = _client_auth(cfg)
    kwargs = {"code": code, "code_verifier": code_verifier}
    if "auth" in auth:
        kwargs.update(auth=auth["auth"], include_client_id=False)
    else:
        kwargs.update(include_client_id=True, client_secret=cfg.client_secret)
    return _parse_token(
        what,
        cfg.token_endpoint,
        lambda: _send(
            what, lambda: session.fetch_token(cfg.token_endpoint, **kwargs), cfg.token_endpoint
        ),
    )


def refresh(cfg: ProviderConfig, refresh_token: str) -> TokenResponse:
    """Use a refresh_token (RFC 6749 §6). The answer may lack refresh_token and id_token
    (Alibaba's does): the caller keeps the old ones.

    Raises InvalidGrant (refresh_token dead), TokenRequestRejected, OAuthUpstreamError.
    """
    what = "refresh"
    session = _token_session(cfg, what)
    return _parse_token(
        what,
        cfg.token_endpoint,
        lambda: _send(
            what,
            lambda: session.refresh_token(
                cfg.token_endpoint, refresh_token=refresh_token, **_client_auth(cfg)
            ),
            cfg.token_endpoint,
        ),
    )


def revoke(cfg: ProviderConfig, token: str, token_type_hint: str) -> None:
    """Revoke ``token`` (RFC 7009 §2.1: form ``token``, ``token_type_hint`` + client auth).

    Success is any 2xx (Alibaba's body is unconfirmed). Raises TokenRequestRejected or
    OAuthUpstreamError otherwise; the caller checks ``cfg.revocation_endpoint`` first (None: the
    provider offers no revocation).
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
        cfg.revocation_endpoint,
    )
    if 200 <= response.status_code < 300:
        return
    _json_or_error("revoke", response)
    log_failure("revoke", response.url, response.status_code)
    raise OAuthUpstreamError(
        _("%(provider)s answered HTTP %(status)s to revoke.")
        % {"provider": provider_name(), "status": response.status_code}
    )


def _bearer_error(header: str) -> tuple[str, str]:
    """``error`` and ``error_description`` of a ``WWW-Authenticate: Bearer`` header (RFC 6750
    §3), or ("invalid_token", "") when it has none."""
    found = dict(re.findall(r'(error|error_description)="([^"]*)"', header or ""))
    return found.get("error") or "invalid_token", found.get("error_description", "")


def userinfo(cfg: ProviderConfig, access_token: str) -> dict:
    """GET the userinfo endpoint with ``Authorization: Bearer`` (OIDC Core §5.3).

    Returns the claims (Alibaba: ``sub``, ``name``, ``upn`` or ``login_name``, ``aid``,
    ``uid``). Raises TokenRequestRejected (e.g. 401 invalid_token) or OAuthUpstreamError; the
    caller checks ``cfg.userinfo_endpoint`` first (None: not offered by this provider).
    """
    session = http_session()
    response = _send(
        "userinfo",
        lambda: session.get(
            cfg.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
            withhold_token=True,
        ),
        cfg.userinfo_endpoint,
    )
    if response.status_code == 401:
        error, description = _bearer_error(response.headers.get("WWW-Authenticate", ""))
        log_failure("userinfo", response.url, 401, error, description)
        raise TokenRequestRejected(error, description, 401, provider=provider_name())
    return _json_or_error("userinfo", response)


def _jwks(jwks_uri: str, refetch: bool = False) -> dict:
    key = "aliyun_oauth:jwks:" + hashlib.sha256(jwks_uri.encode()).hexdigest()
    jwks = None if refetch else cache.get(key)
    if jwks is None:
        jwks = _get_json(jwks_uri, "key set")
        cache.set(key, jwks, JWKS_CACHE_SECONDS)
    return jwks


def _find_key(jwks: dict, kid: str | None, alg: str):
    """The signing key for ``kid`` whose key type suits ``alg``: RSA for RS256/PS256, an EC
    key on P-256 for ES256 (PyJWK derives ``algorithm_name`` from the curve or the JWK's alg)."""
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except jwt.PyJWTError:
        keys = []
    keys = [
        k
        for k in keys
        if k.key_type == ID_TOKEN_KEY_TYPES[alg]
        and k.public_key_use in (None, "sig")
        and (k.key_type != "EC" or k.algorithm_name == alg)
    ]
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((k for k in keys if k.key_id == kid), None)


def _signing_key(cfg: ProviderConfig, kid: str | None, alg: str):
    """The JWKS key for ``kid``: from the cached set, else one refetch unless another refetch
    happened within JWKS_REFETCH_COOLDOWN seconds (so forged kids cannot hammer the provider)."""
    key = _find_key(_jwks(cfg.jwks_uri), kid, alg)
    if key is None:
        cooldown = "aliyun_oauth:jwks-refetch:" + hashlib.sha256(cfg.jwks_uri.encode()).hexdigest()
        if cache.add(cooldown, 1, JWKS_REFETCH_COOLDOWN):
            key = _find_key(_jwks(cfg.jwks_uri, refetch=True), kid, alg)
    if key is None:
        _refuse(cfg, _("The id_token is signed with an unknown key."), kid=repr(kid)[:80], alg=alg)
    return key.key


def _refuse(cfg: ProviderConfig, message: str, **facts):
    """Log why an id_token is refused (one line: issuer, reason, facts) and raise
    IdTokenInvalid(message)."""
    details = "".join(f" {k}={v}" for k, v in facts.items())
    log.warning(
        "aliyun_oauth: id_token refused: issuer=%s reason=%r%s", cfg.issuer, message, details
    )
    raise IdTokenInvalid(message)


def _claim_time(claims: dict, name: str) -> str:
    value = claims.get(name)
    return str(value) if isinstance(value, int | float) else repr(value)[:40]


def verify_id_token(cfg: ProviderConfig, id_token: str, nonce: str | None) -> dict:
    """Validate an id_token (OIDC Core 1.0 §3.1.3.7) and return its claims.

    Algorithm one of ``cfg.id_token_algorithms`` (RS256, PS256, ES256); signature against the
    provider's JWKS; ``iss`` = the configured issuer; ``aud`` (string or list) contains our
    client_id, and with several audiences ``azp`` must be our client_id (``azp``, when present,
    always must); ``exp``/``iat`` within ``ALIYUN_OAUTH_CLOCK_LEEWAY`` seconds; ``nonce`` equal
    to ours when ``nonce`` is given (a missing nonce claim is accepted only with
    ``ALIYUN_OAUTH_REQUIRE_NONCE`` off). Every refusal is logged with its reason (time checks
    with both times and the leeway). Raises IdTokenInvalid, or OAuthUpstreamError when the
    JWKS cannot be fetched.
    """
    try:
        header = jwt.get_unverified_header(id_token)
        unverified = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        _refuse(cfg, _("The id_token is malformed."))
    alg = header.get("alg")
    if alg not in cfg.id_token_algorithms:
        _refuse(
            cfg,
            _("The id_token is not signed with %(algs)s.")
            % {"algs": " or ".join(cfg.id_token_algorithms)},
            alg=repr(alg)[:40],
        )
    kid = header.get("kid")
    key = _signing_key(cfg, kid if isinstance(kid, str) else None, alg)
    leeway = settings.ALIYUN_OAUTH_CLOCK_LEEWAY
    times = {
        "now": int(time.time()),
        "exp": _claim_time(unverified, "exp"),
        "iat": _claim_time(unverified, "iat"),
        "leeway": leeway,
    }
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=[alg],
            audience=cfg.client_id,
            issuer=cfg.issuer,
            leeway=leeway,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        _refuse(cfg, _("The id_token has expired."), **times)
    except jwt.ImmatureSignatureError:
        _refuse(cfg, _("The id_token is issued in the future."), **times)
    except jwt.InvalidIssuerError:
        _refuse(
            cfg, _("The id_token comes from another issuer."), iss=repr(unverified.get("iss"))[:200]
        )
    except jwt.InvalidAudienceError:
        _refuse(
            cfg,
            _("The id_token is meant for another application."),
            aud=repr(unverified.get("aud"))[:200],
        )
    except jwt.InvalidSignatureError:
        _refuse(cfg, _("The id_token signature or claims are invalid."), cause="signature")
    except jwt.PyJWTError as exc:
        _refuse(
            cfg,
            _("The id_token signature or claims are invalid."),
            cause=type(exc).__name__,
            detail=repr(str(exc))[:120],
        )
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if ("azp" in claims or len(audiences) > 1) and claims.get("azp") != cfg.client_id:
        # OIDC Core §3.1.3.7 items 4-5: several audiences need azp naming us.
        _refuse(
            cfg,
            _("The id_token is meant for another application."),
            aud=repr(audiences)[:200],
            azp=repr(claims.get("azp"))[:100],
        )
    check_nonce = nonce is not None and ("nonce" in claims or settings.ALIYUN_OAUTH_REQUIRE_NONCE)
    if check_nonce and not hmac.compare_digest(
        str(claims.get("nonce", "")).encode(), nonce.encode()
    ):
        _refuse(
            cfg,
            _("The id_token does not answer this sign-in (nonce mismatch)."),
            nonce_claim="present" if "nonce" in claims else "missing",
        )
    return claims
