"""One focused test per failure, against a local OIDC provider (http.server in a thread) that
answers as scripted: real HTTP, a misbehaving upstream."""

import logging
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache
from django.utils import timezone

from aliyun_oauth import client as oauth_client
from aliyun_oauth import services
from aliyun_oauth.models import LinkedAccount
from tests.aliyun_oauth.conftest import auth_params, start_link
from tests.aliyun_oauth.fakeprovider import FakeProvider

pytestmark = pytest.mark.django_db

# A key the provider never published; made once, not inside a request handler (an RSA key
# generation there could outlast the 0.5 s read timeout).
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _callback(client, provider, code="code-1234567890"):
    """Start a link, make the provider echo its nonce, and deliver ``code`` to the callback."""
    params = auth_params(start_link(client))
    provider.nonce = params["nonce"]
    return client.post("/aliyun/auth/callback", {"code": code, "state": params["state"]})


def _assert_failure_page(response, status: int, text: str):
    page = response.content.decode()
    assert response.status_code == status, page
    assert text in page
    assert 'href="/aliyun/auth"' in page  # a way to retry
    assert "Nothing was stored" in page
    assert not LinkedAccount.objects.exists()


def test_link_with_a_generic_provider_accepts_bearer_and_numeric_expires_in(
    fake_provider, edward, edward_client
):
    fake_provider.answers["/token"] = lambda form: (
        200,
        fake_provider.token_answer(token_type="Bearer", expires_in=1800),
        0,
    )
    response = _callback(edward_client, fake_provider)
    assert response.status_code == 302
    row = LinkedAccount.objects.get(user=edward)
    assert row.token_type == "Bearer" and row.upn == "edward@fake.onaliyun.com"
    assert abs((row.expires_at - timezone.now()).total_seconds() - 1800) < 30
    # What went over the wire: client_secret_post, PKCE verifier, the exact redirect_uri.
    _, form, headers = next(c for c in fake_provider.calls if c[0] == "/token")
    assert form["grant_type"] == "authorization_code" and form["code"] == "code-1234567890"
    assert form["client_secret"] == fake_provider.client_secret and "Authorization" not in headers
    assert len(form["code_verifier"]) >= 43
    assert form["redirect_uri"] == "https://crm.example/aliyun/auth/callback"
    _, _, headers = next(c for c in fake_provider.calls if c[0] == "/userinfo")
    assert headers["Authorization"] == f"Bearer {fake_provider.access_token}"


def test_missing_state(fake_provider, edward_client):
    response = edward_client.post("/aliyun/auth/callback?resubmit=1", {"code": "abc"})
    _assert_failure_page(response, 400, "has no state")


def test_expired_state(fake_provider, edward_client, settings):
    state = auth_params(start_link(edward_client))["state"]
    session = edward_client.session
    session[services.PENDING_SESSION_KEY][state]["created"] -= (
        settings.ALIYUN_OAUTH_STATE_LIFETIME + 1
    )
    session.save()
    response = edward_client.post("/aliyun/auth/callback", {"code": "abc", "state": state})
    _assert_failure_page(response, 400, "expired")
    assert fake_provider.count("/token") == 0


def test_callback_without_crm_login(fake_provider, client):
    response = client.post("/aliyun/auth/callback?resubmit=1", {"code": "abc", "state": "s"})
    assert response.status_code == 403
    assert "Sign in to the CRM first" in response.content.decode()


def test_callback_get_with_query_string_works(fake_provider, edward, edward_client):
    params = auth_params(start_link(edward_client))
    fake_provider.nonce = params["nonce"]
    response = edward_client.get(
        "/aliyun/auth/callback", {"code": "code-xyz", "state": params["state"]}
    )
    assert response.status_code == 302
    assert LinkedAccount.objects.filter(user=edward).exists()


@pytest.mark.parametrize(
    ("status", "body", "page_status", "text"),
    [
        (400, {"error": "invalid_request", "error_description": "bad"}, 400, "invalid_request"),
        (401, {"error": "invalid_client"}, 400, "invalid_client"),
        (500, {"error": "server_error"}, 502, "HTTP 500"),
        (503, b"<html>Service Unavailable</html>", 502, "HTTP 503"),
        (200, b"<html>not json</html>", 502, "unreadable"),
        (200, b"[1, 2]", 502, "unreadable"),
        (200, {"token_type": "Bearer"}, 502, "unusable token"),
        (200, {"access_token": None, "token_type": "Bearer"}, 502, "unusable token"),
        (200, {"access_token": ["x"], "token_type": "Bearer"}, 502, "unusable token"),
    ],
)
def test_token_endpoint_failures(fake_provider, edward_client, status, body, page_status, text):
    fake_provider.answers["/token"] = (status, body, 0)
    _assert_failure_page(_callback(edward_client, fake_provider), page_status, text)


def test_token_endpoint_timeout(fake_provider, edward_client):
    fake_provider.answers["/token"] = (200, fake_provider.token_answer(), 1.5)
    started = time.monotonic()
    response = _callback(edward_client, fake_provider)
    assert time.monotonic() - started < 1.4  # gave up after ALIYUN_READ_TIMEOUT (0.5 s)
    _assert_failure_page(response, 502, "did not answer in time")


def test_token_endpoint_unreachable(fake_provider, edward_client, settings):
    settings.ALIYUN_OAUTH_TOKEN_URL = "http://127.0.0.1:9/token"
    _assert_failure_page(_callback(edward_client, fake_provider), 502, "cannot be reached")


def test_https_is_required_unless_allowed(fake_provider, edward_client, settings):
    settings.ALIYUN_OAUTH_ALLOW_HTTP = False
    response = edward_client.get("/aliyun/auth")
    assert response.status_code == 502
    assert "not HTTPS" in response.content.decode()


def _id_token_variant(provider, name):
    now = int(time.time())
    other_key = OTHER_KEY
    variants = {
        "wrong iss": lambda: provider.id_token(provider.claims(iss="https://evil.example")),
        "wrong aud": lambda: provider.id_token(provider.claims(aud="another-client")),
        "aud list without us": lambda: provider.id_token(provider.claims(aud=["a", "b"])),
        "alg none": lambda: jwt.encode(provider.claims(), None, algorithm="none"),
        "HS256 with the public key": lambda: _hs256_with_public_key(provider),
        "unknown kid": lambda: provider.id_token(kid="nobody", key=other_key),
        "wrong signature": lambda: provider.id_token(key=other_key),
        "expired": lambda: provider.id_token(provider.claims(iat=now - 7200, exp=now - 3600)),
        "iat in the future": lambda: provider.id_token(
            provider.claims(iat=now + 600, exp=now + 4200)
        ),
        "wrong nonce": lambda: provider.id_token(provider.claims(nonce="not-the-nonce")),
        "no nonce": lambda: provider.id_token(provider.claims(nonce=None)),
        "no sub": lambda: provider.id_token(provider.claims(sub=None)),
        "garbage": lambda: "not.a.jwt",
        "missing": lambda: None,
    }
    return variants[name]()


def _hs256_with_public_key(provider):
    from cryptography.hazmat.primitives import serialization

    pem = provider.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "kid": provider.kid}).encode())
    payload = b64(json.dumps(provider.claims()).encode())
    sig = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(sig)}"


@pytest.mark.parametrize(
    ("variant", "text"),
    [
        ("wrong iss", "another issuer"),
        ("wrong aud", "another application"),
        ("aud list without us", "another application"),
        ("alg none", "not signed with RS256"),
        ("HS256 with the public key", "not signed with RS256"),
        ("unknown kid", "unknown key"),
        ("wrong signature", "signature or claims are invalid"),
        ("expired", "has expired"),
        ("iat in the future", "issued in the future"),
        ("wrong nonce", "nonce mismatch"),
        ("no nonce", "nonce mismatch"),
        ("no sub", "signature or claims are invalid"),
        ("garbage", "malformed"),
        ("missing", "without an id_token"),
    ],
)
def test_invalid_id_token_stores_nothing(fake_provider, edward_client, variant, text):
    def answer(form):
        return (
            200,
            fake_provider.token_answer(id_token=_id_token_variant(fake_provider, variant)),
            0,
        )

    fake_provider.answers["/token"] = answer
    _assert_failure_page(_callback(edward_client, fake_provider), 400, text)


def test_id_token_within_clock_leeway_and_aud_list_are_accepted(fake_provider, settings):
    now = int(time.time())
    cfg = oauth_client.provider_config()
    skewed = fake_provider.id_token(
        fake_provider.claims(
            iat=now + 30, aud=[fake_provider.client_id, "other"], azp=fake_provider.client_id
        )
    )
    claims = oauth_client.verify_id_token(cfg, skewed, nonce=None)
    assert claims["sub"] == fake_provider.sub
    settings.ALIYUN_OAUTH_CLOCK_LEEWAY = 10
    with pytest.raises(services.AliyunOAuthError, match="future"):
        oauth_client.verify_id_token(cfg, skewed, nonce=None)


def test_jwks_is_cached_and_refetched_once_on_unknown_kid(fake_provider):
    cfg = oauth_client.provider_config()
    oauth_client.verify_id_token(cfg, fake_provider.id_token(), nonce=None)
    oauth_client.verify_id_token(cfg, fake_provider.id_token(), nonce=None)
    assert fake_provider.count("/keys") == 1  # cached

    # The provider rotates its key: the unknown kid triggers one refetch, then it verifies.
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake_provider.published.append(("key-2", new_key))
    rotated = fake_provider.id_token(kid="key-2", key=new_key)
    assert oauth_client.verify_id_token(cfg, rotated, nonce=None)["sub"] == fake_provider.sub
    assert fake_provider.count("/keys") == 2

    # Forged kids within the cool-down cause no further fetches.
    for kid in ("forged-1", "forged-2", "forged-3"):
        with pytest.raises(services.AliyunOAuthError, match="unknown key"):
            oauth_client.verify_id_token(cfg, fake_provider.id_token(kid=kid), nonce=None)
    assert fake_provider.count("/keys") == 2


@pytest.mark.parametrize(
    ("answer", "page_status", "text"),
    [
        ((401, {"error": "invalid_token"}, 0), 400, "refused the token it had just issued"),
        ((500, b"oops", 0), 502, "HTTP 500"),
    ],
)
def test_userinfo_failure_right_after_the_exchange_fails_the_link(
    fake_provider, edward_client, answer, page_status, text
):
    fake_provider.answers["/userinfo"] = answer
    _assert_failure_page(_callback(edward_client, fake_provider), page_status, text)
    # The tokens that were not stored are revoked at the provider (best effort).
    _, form, _ = [c for c in fake_provider.calls if c[0] == "/revoke"][-1]
    assert form["token"] == fake_provider.refresh_token


def test_invalid_id_token_revokes_the_unstored_tokens(fake_provider, edward_client):
    fake_provider.answers["/token"] = lambda form: (
        200,
        fake_provider.token_answer(id_token=fake_provider.id_token(key=OTHER_KEY)),
        0,
    )
    _assert_failure_page(_callback(edward_client, fake_provider), 400, "signature")
    _, form, _ = [c for c in fake_provider.calls if c[0] == "/revoke"][-1]
    assert form["token"] == fake_provider.refresh_token
    assert fake_provider.count("/userinfo") == 0


def test_replay_with_a_stale_session_copy_never_reaches_the_token_endpoint(
    fake_provider, edward, edward_client
):
    """Two identical callbacks interleaved: the second read the session before the first saved
    it, so its session still lists the state. The state must still be refused."""
    params = auth_params(start_link(edward_client))
    fake_provider.nonce = params["nonce"]
    stale = dict(edward_client.session[services.PENDING_SESSION_KEY])
    fields = {"code": "code-1234567890", "state": params["state"]}
    assert edward_client.post("/aliyun/auth/callback", fields).status_code == 302
    linked = LinkedAccount.objects.get(user=edward).access_token_encrypted

    session = edward_client.session
    session[services.PENDING_SESSION_KEY] = stale  # what the concurrent request had loaded
    session.save()
    response = edward_client.post("/aliyun/auth/callback?resubmit=1", fields)
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert fake_provider.count("/token") == 1  # the code was exchanged once
    assert LinkedAccount.objects.get(user=edward).access_token_encrypted == linked


def _linked(provider, client, user, expires_in=60):
    """Link ``user`` through the fake provider, then put the token inside the refresh leeway
    (as if an hour-long token had been issued an hour minus ``expires_in`` seconds ago)."""
    assert _callback(client, provider).status_code == 302
    now = timezone.now()
    LinkedAccount.objects.filter(user=user).update(
        expires_at=now + timedelta(seconds=expires_in),
        issued_at=now + timedelta(seconds=expires_in - 3600),
    )
    return LinkedAccount.objects.get(user=user)


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        ((500, b"", 0), "HTTP 500"),
        ((200, b"<html>", 0), "unreadable"),
        ((400, {"error": "invalid_client"}, 0), "invalid_client"),
    ],
)
def test_refresh_upstream_failures_keep_the_link(
    fake_provider, edward, edward_client, answer, text
):
    before = _linked(fake_provider, edward_client, edward)
    fake_provider.answers["/token"] = answer
    with pytest.raises(services.OAuthUpstreamError, match=text):
        services.get_valid_token(edward)
    after = LinkedAccount.objects.get(user=edward)
    assert after.access_token_encrypted == before.access_token_encrypted
    assert after.refresh_token == fake_provider.refresh_token


def test_refresh_timeout_keeps_the_link(fake_provider, edward, edward_client):
    _linked(fake_provider, edward_client, edward)
    fake_provider.answers["/token"] = (200, fake_provider.token_answer(), 1.5)
    with pytest.raises(services.OAuthUpstreamError, match="in time"):
        services.get_valid_token(edward)
    assert LinkedAccount.objects.filter(user=edward).exists()


def test_refresh_answer_without_refresh_token_and_id_token_keeps_the_old_ones(
    fake_provider, edward, edward_client
):
    before = _linked(fake_provider, edward_client, edward)
    fake_provider.answers["/token"] = lambda form: (
        200,
        fake_provider.token_answer(
            access_token="at-new", refresh_token=None, id_token=None, expires_in=3600
        ),
        0,
    )
    token = services.get_valid_token(edward)
    assert token.access_token == "at-new"
    after = LinkedAccount.objects.get(user=edward)
    assert after.refresh_token == before.refresh_token and after.id_token == before.id_token
    _, form, _ = [c for c in fake_provider.calls if c[0] == "/token"][-1]
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": before.refresh_token,
        "client_id": fake_provider.client_id,
        "client_secret": fake_provider.client_secret,
    }


def test_refresh_invalid_grant_via_get_valid_token(fake_provider, edward, edward_client, caplog):
    caplog.set_level(logging.DEBUG)
    row = _linked(fake_provider, edward_client, edward)
    fake_provider.answers["/token"] = (400, {"error": "invalid_grant"}, 0)
    with pytest.raises(services.RelinkRequired):
        services.get_valid_token(edward)
    assert not LinkedAccount.objects.exists()
    for secret in (row.refresh_token, fake_provider.client_secret, fake_provider.access_token):
        assert secret not in caplog.text


def test_revoke_upstream_error_answer_still_unlinks(fake_provider, edward, edward_client):
    _linked(fake_provider, edward_client, edward, expires_in=3600)
    fake_provider.answers["/revoke"] = (503, b"down", 0)
    outcome = services.revoke_account(edward)
    assert not outcome.upstream_revoked and "HTTP 503" in outcome.message
    assert not LinkedAccount.objects.exists()
    _, form, _ = [c for c in fake_provider.calls if c[0] == "/revoke"][-1]
    assert form["token"] == fake_provider.refresh_token
    assert form["token_type_hint"] == "refresh_token"


def test_provider_error_text_is_shown_only_for_our_own_request(fake_provider, edward_client):
    forged = {"error": "access_denied", "error_description": "Call +1 555 0100 for help"}
    response = edward_client.post("/aliyun/auth/callback", {**forged, "state": "forged"})
    _assert_failure_page(response, 400, "sign-in failed; please start again")
    assert "555" not in response.content.decode()

    state = auth_params(start_link(edward_client))["state"]
    response = edward_client.post(
        "/aliyun/auth/callback",
        {"error": "temporarily_unavailable", "error_description": "try later", "state": state},
    )
    _assert_failure_page(response, 400, "(temporarily_unavailable): try later")


def test_https_provider_is_verified_against_the_ca_bundle(settings, tmp_path, monkeypatch):
    from workbench.devcert import ensure_dev_certificate

    cert, key = ensure_dev_certificate(tmp_path)
    provider = FakeProvider(client_id="crm-tls-client")
    provider.use_tls(str(cert), str(key))
    provider.start()
    try:
        settings.ALIYUN_OAUTH_ALLOW_HTTP = False
        settings.ALIYUN_CLIENT_ID = provider.client_id
        settings.ALIYUN_OAUTH_JWKS_URL = provider.url + "/keys"
        settings.ALIYUN_OAUTH_ISSUER = provider.issuer
        # A CA bundle from the environment must not replace ALIYUN_CA_BUNDLE.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
        settings.ALIYUN_CA_BUNDLE = str(cert)
        cfg = oauth_client.provider_config()
        claims = oauth_client.verify_id_token(cfg, provider.id_token(), nonce=None)
        assert claims["sub"] == provider.sub

        cache.clear()
        settings.ALIYUN_CA_BUNDLE = ""  # system CAs do not trust the development certificate
        with pytest.raises(services.OAuthUpstreamError, match="cannot be reached"):
            oauth_client.verify_id_token(cfg, provider.id_token(), nonce=None)
    finally:
        provider.stop()


def test_malformed_pending_entry_is_refused_not_a_500(fake_provider, edward_client):
    session = edward_client.session
    session[services.PENDING_SESSION_KEY] = {"s1": {"created": "yesterday"}, "s2": "x"}
    session.save()
    for state in ("s1", "s2"):
        response = edward_client.post("/aliyun/auth/callback", {"code": "c", "state": state})
        _assert_failure_page(response, 400, "unknown, already used")


def test_missing_nonce_claim_can_be_tolerated_but_a_wrong_one_never(fake_provider, settings):
    settings.ALIYUN_OAUTH_REQUIRE_NONCE = False
    cfg = oauth_client.provider_config()
    no_nonce = fake_provider.id_token(fake_provider.claims(nonce=None))
    assert oauth_client.verify_id_token(cfg, no_nonce, nonce="ours")["sub"] == fake_provider.sub
    wrong = fake_provider.id_token(fake_provider.claims(nonce="theirs"))
    with pytest.raises(services.AliyunOAuthError, match="nonce mismatch"):
        oauth_client.verify_id_token(cfg, wrong, nonce="ours")


def test_discovery_document_is_used_and_its_issuer_checked(fake_provider, settings):
    path = "/.well-known/openid-configuration"
    settings.ALIYUN_OAUTH_DISCOVERY_URL = fake_provider.url + path
    settings.ALIYUN_OAUTH_TOKEN_URL = ""
    settings.ALIYUN_OAUTH_ISSUER = ""
    doc = {"issuer": fake_provider.issuer, "token_endpoint": fake_provider.url + "/t2"}
    fake_provider.answers[path] = (200, doc, 0)
    cfg = oauth_client.provider_config()
    assert cfg.token_endpoint == fake_provider.url + "/t2"
    assert cfg.issuer == fake_provider.issuer
    assert cfg.jwks_uri == fake_provider.url + "/keys"  # explicit setting wins

    cache.clear()
    fake_provider.answers[path] = (200, {**doc, "issuer": "https://evil.example"}, 0)
    with pytest.raises(services.OAuthUpstreamError, match="another issuer"):
        oauth_client.provider_config()
