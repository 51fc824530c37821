"""Odd but survivable provider answers, and failures a support engineer must be able to read
from the log alone: one test per kind of fault, against the scripted provider over real HTTP."""

import logging
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from aliyun_oauth import client as oauth_client
from aliyun_oauth import services
from aliyun_oauth.models import LinkedAccount
from tests.aliyun_oauth.conftest import auth_params, start_link

pytestmark = pytest.mark.django_db

CODE = "code-1234567890"
FALLBACK = 900  # seconds: aliyun_oauth.client.FALLBACK_EXPIRES_IN, the shortest Alibaba lifetime


def _callback(client, provider, **fields):
    params = auth_params(start_link(client))
    provider.nonce = params["nonce"]
    return client.post("/aliyun/auth/callback", {"code": CODE, "state": params["state"], **fields})


def _token_answer(provider, **overrides):
    provider.answers["/token"] = lambda form: (200, provider.token_answer(**overrides), 0)


def _lifetime(row) -> float:
    return (row.expires_at - timezone.now()).total_seconds()


def _secrets(provider, *more):
    return [provider.client_secret, provider.access_token, provider.refresh_token, CODE, *more]


def _failure_lines(caplog, what):
    return [r.getMessage() for r in caplog.records if f"{what} failed:" in r.getMessage()]


def _make_due(user):
    """Put the user's hour-long token 60 s before expiry (inside the refresh leeway)."""
    now = timezone.now()
    LinkedAccount.objects.filter(user=user).update(
        expires_at=now + timedelta(seconds=60), issued_at=now - timedelta(seconds=3540)
    )


# --- 1. Token answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "seconds", "warned"),
    [
        ("abc", FALLBACK, True),
        (None, FALLBACK, False),  # JSON null: as if left out
        ("-5", FALLBACK, True),
        ("0", FALLBACK, True),
        ("nan", FALLBACK, True),
        (10**15, FALLBACK, True),
        (True, FALLBACK, True),
        ("3599.5", 3599, False),
    ],
)
def test_odd_expires_in_links_with_a_lenient_or_conservative_lifetime(
    fake_provider, edward, edward_client, caplog, expires_in, seconds, warned
):
    def answer(form):
        body = fake_provider.token_answer()
        body["expires_in"] = expires_in  # None stays as JSON null
        return 200, body, 0

    fake_provider.answers["/token"] = answer
    response = _callback(edward_client, fake_provider)
    assert response.status_code == 302, response.content
    assert abs(_lifetime(LinkedAccount.objects.get(user=edward)) - seconds) < 30
    warnings = [r for r in caplog.records if "expires_in" in r.getMessage()]
    assert bool([r for r in warnings if r.levelno == logging.WARNING]) == warned
    if warned:
        assert f"assuming {FALLBACK} s" in warnings[0].getMessage()


def test_odd_expires_in_in_a_refresh_answer_keeps_the_softphone_working(
    fake_provider, edward, edward_client
):
    assert _callback(edward_client, fake_provider).status_code == 302
    _make_due(edward)
    # A provider that rotates refresh tokens: losing this answer would lose the grant.
    _token_answer(
        fake_provider,
        access_token="at-new",
        refresh_token="rt-rotated",
        id_token=None,
        expires_in="3599.5",
    )
    assert services.get_valid_token(edward).access_token == "at-new"
    row = LinkedAccount.objects.get(user=edward)
    assert row.refresh_token == "rt-rotated" and abs(_lifetime(row) - 3599) < 30

    _make_due(edward)
    _token_answer(fake_provider, access_token="at-3", refresh_token=None, expires_in="abc")
    assert services.get_valid_token(edward).access_token == "at-3"
    assert abs(_lifetime(LinkedAccount.objects.get(user=edward)) - 900) < 30


def test_token_type_is_normalised_and_an_unknown_one_is_never_used(
    fake_provider, edward, edward_client, caplog
):
    _token_answer(fake_provider, token_type="bearer")
    assert _callback(edward_client, fake_provider).status_code == 302
    assert LinkedAccount.objects.get(user=edward).token_type == "Bearer"
    LinkedAccount.objects.all().delete()

    _token_answer(fake_provider, token_type="DPoP")
    response = _callback(edward_client, fake_provider)
    assert response.status_code == 400
    assert "“DPoP”, which this CRM cannot use" in response.content.decode()
    assert not LinkedAccount.objects.exists()
    assert "unknown token_type='DPoP'" in caplog.text
    _, form, _ = [c for c in fake_provider.calls if c[0] == "/revoke"][-1]
    assert form["token"] == fake_provider.refresh_token  # the unusable grant is given back


def test_unknown_token_type_in_a_refresh_answer_keeps_the_link_and_its_rotated_refresh_token(
    fake_provider, edward, edward_client
):
    assert _callback(edward_client, fake_provider).status_code == 302
    before = LinkedAccount.objects.get(user=edward)
    _make_due(edward)
    _token_answer(fake_provider, token_type="mac", refresh_token="rt-rotated", id_token=None)
    with pytest.raises(services.OAuthUpstreamError, match="cannot use"):
        services.get_valid_token(edward)
    after = LinkedAccount.objects.get(user=edward)
    assert after.access_token == before.access_token and after.token_type == "AliyunSTS"
    assert after.refresh_token == "rt-rotated"


# --- 2. Scopes ----------------------------------------------------------------------------------


def test_a_narrower_grant_is_named_to_the_agent_and_in_the_log(
    fake_provider, edward, edward_client, caplog
):
    _token_answer(fake_provider, scope="openid aliuid profile")  # no /acs/ccc
    response = _callback(edward_client, fake_provider)
    assert response.status_code == 302
    page = edward_client.get(response["Location"]).content.decode()
    assert "did not grant the scope /acs/ccc" in page and "The softphone needs /acs/ccc" in page
    profile = edward_client.get("/profile/").content.decode()
    assert "did not grant: /acs/ccc" in profile  # the profile page keeps saying it
    warning = next(r for r in caplog.records if "granted less than requested" in r.getMessage())
    assert warning.levelno == logging.WARNING and "/acs/ccc" in warning.getMessage()


def test_a_wider_grant_is_logged_at_info(fake_provider, edward, edward_client, caplog):
    caplog.set_level(logging.INFO, logger="aliyun_oauth")
    _token_answer(fake_provider, scope="openid aliuid profile /acs/ccc /acs/ram")
    response = _callback(edward_client, fake_provider)
    assert response.status_code == 302
    info = next(r for r in caplog.records if "granted more than requested" in r.getMessage())
    assert info.levelno == logging.INFO and "/acs/ram" in info.getMessage()
    assert "did not grant" not in edward_client.get("/profile/").content.decode()


# --- 3. Diagnosable failures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            (400, {"error": "invalid_request", "error_description": "redirect_uri mismatch"}, 0),
            ["status=400", "error=invalid_request", "description='redirect_uri mismatch'"],
        ),
        ((400, {}, 0), ["status=400", "error=http_400"]),
        ((401, b"<html>no</html>", 0), ["status=401", "unreadable body"]),
        ((502, {"error": "temporarily_unavailable"}, 0), ["status=502", "temporarily_unavailable"]),
        ((200, {"access_token": None, "token_type": "Bearer"}, 0), ["status=200", "access_token"]),
        ((200, {"token_type": "Bearer"}, 0), ["status=200", "access_token"]),
    ],
)
def test_token_endpoint_failures_log_endpoint_status_and_provider_error(
    fake_provider, edward_client, caplog, answer, expected
):
    fake_provider.answers["/token"] = answer
    assert _callback(edward_client, fake_provider).status_code in (400, 502)
    lines = _failure_lines(caplog, "code exchange")
    assert len(lines) == 1, caplog.text
    assert f"endpoint={fake_provider.url}/token " in lines[0]
    for fact in expected:
        assert fact in lines[0]
    for secret in _secrets(fake_provider):
        assert secret not in caplog.text


def test_refresh_revoke_and_userinfo_failures_log_one_line_each(
    fake_provider, edward, edward_client, caplog
):
    assert _callback(edward_client, fake_provider).status_code == 302
    row = LinkedAccount.objects.get(user=edward)
    _make_due(edward)
    fake_provider.answers["/token"] = (
        400,
        {"error": "invalid_client", "error_description": "x"},
        0,
    )
    with pytest.raises(services.OAuthUpstreamError):
        services.get_valid_token(edward)
    (line,) = _failure_lines(caplog, "refresh")
    assert "status=400 error=invalid_client description='x'" in line
    assert f"endpoint={fake_provider.url}/token" in line

    fake_provider.answers["/userinfo"] = (401, {}, 0)
    with pytest.raises(services.AliyunOAuthError):
        oauth_client.userinfo(oauth_client.provider_config(), row.access_token)
    (line,) = _failure_lines(caplog, "userinfo")
    assert "status=401 error=invalid_token" in line

    fake_provider.answers["/revoke"] = (400, {"error": "unsupported_token_type"}, 0)
    assert not services.revoke_account(edward).upstream_revoked
    (line,) = _failure_lines(caplog, "revoke")
    assert f"endpoint={fake_provider.url}/revoke status=400 error=unsupported_token_type" in line
    for secret in _secrets(fake_provider, row.refresh_token):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iat": -7200, "exp": -3600}, "has expired"),
        ({"iat": 600, "exp": 4200}, "issued in the future"),
    ],
)
def test_id_token_time_refusals_log_both_times_and_the_leeway(
    fake_provider, edward_client, caplog, claims, reason
):
    now = int(time.time())
    shifted = {k: now + v for k, v in claims.items()}

    def answer(form):
        id_token = fake_provider.id_token(fake_provider.claims(**shifted))
        return 200, fake_provider.token_answer(id_token=id_token), 0

    fake_provider.answers["/token"] = answer
    assert _callback(edward_client, fake_provider).status_code == 400
    line = next(r.getMessage() for r in caplog.records if "id_token refused" in r.getMessage())
    assert reason in line and "leeway=60" in line
    assert f"exp={shifted['exp']}" in line and f"iat={shifted['iat']}" in line
    logged_now = int(line.split(" now=")[1].split()[0])
    assert abs(logged_now - now) < 30


def test_every_id_token_refusal_logs_its_reason(fake_provider, edward_client, caplog):
    _token_answer(fake_provider, id_token=fake_provider.id_token(fake_provider.claims(aud="x")))
    assert _callback(edward_client, fake_provider).status_code == 400
    line = next(r.getMessage() for r in caplog.records if "id_token refused" in r.getMessage())
    assert "another application" in line and "aud='x'" in line


def test_several_audiences_need_azp_equal_to_the_client_id(fake_provider):
    cfg = oauth_client.provider_config()
    audiences = [fake_provider.client_id, "other-app"]
    for azp in (None, "other-app"):
        token = fake_provider.id_token(fake_provider.claims(aud=audiences, azp=azp))
        with pytest.raises(services.AliyunOAuthError, match="another application"):
            oauth_client.verify_id_token(cfg, token, nonce=None)
    token = fake_provider.id_token(fake_provider.claims(aud=audiences, azp=fake_provider.client_id))
    assert oauth_client.verify_id_token(cfg, token, nonce=None)["sub"] == fake_provider.sub


# --- 4. A link without refresh token ------------------------------------------------------------


def test_a_link_without_refresh_token_says_so_and_refresh_asks_to_link_again(
    fake_provider, edward, edward_client
):
    _token_answer(fake_provider, refresh_token=None)
    response = _callback(edward_client, fake_provider)
    assert response.status_code == 302
    page = edward_client.get("/").content.decode()
    assert "issued no refresh token" in page
    tokens_sent = fake_provider.count("/token")

    page = edward_client.post("/aliyun/refresh", follow=True).content.decode()
    assert "issued no refresh token" in page and "link your account again" in page
    assert "no longer accepts" not in page
    assert fake_provider.count("/token") == tokens_sent  # no request was sent
    assert LinkedAccount.objects.filter(user=edward).exists()  # usable until it expires
    assert services.get_valid_token(edward).access_token == fake_provider.access_token

    LinkedAccount.objects.filter(user=edward).update(expires_at=timezone.now())
    with pytest.raises(services.RelinkRequired, match="issued no refresh token"):
        services.get_valid_token(edward)
    assert fake_provider.count("/token") == tokens_sent
    assert not LinkedAccount.objects.exists()


def test_a_refused_token_without_refresh_token_asks_for_a_new_link_without_a_request(
    fake_provider, edward, edward_client
):
    _token_answer(fake_provider, refresh_token=None)
    assert _callback(edward_client, fake_provider).status_code == 302
    tokens_sent = fake_provider.count("/token")
    with pytest.raises(services.RelinkRequired, match="issued no refresh token"):
        services.get_valid_token(edward, rejected_token=fake_provider.access_token)
    assert fake_provider.count("/token") == tokens_sent
    assert not LinkedAccount.objects.exists()
