"""Any OpenID Connect provider by configuration: the README's configuration, run against the
project's standards-following provider (tests/aliyun_oauth/oidcprovider.py) over real HTTP."""

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.utils import timezone

from aliyun_oauth import client as oauth_client
from aliyun_oauth import services
from aliyun_oauth.models import LinkedAccount
from tests.aliyun_oauth.conftest import start_link
from tests.aliyun_oauth.oidcprovider import DISCOVERY_PATH, StandardProvider

pytestmark = pytest.mark.django_db

README = Path(django_settings.BASE_DIR) / "README.md"
ENDPOINT_SETTINGS = (
    "ALIYUN_OAUTH_AUTHORIZE_URL",
    "ALIYUN_OAUTH_TOKEN_URL",
    "ALIYUN_OAUTH_REVOKE_URL",
    "ALIYUN_OAUTH_USERINFO_URL",
    "ALIYUN_OAUTH_JWKS_URL",
    "ALIYUN_OAUTH_ISSUER",
)


def readme_configuration() -> dict[str, str]:
    """The settings block of the README section "Any OpenID Connect provider"."""
    text = README.read_text()
    section = text.split("### Any OpenID Connect provider", 1)[1]
    block = re.search(r"```ini\n(.*?)```", section, re.S).group(1)
    return dict(line.split("=", 1) for line in block.splitlines() if line.strip())


@pytest.fixture
def oidc(settings):
    """Start a StandardProvider (kwargs as its constructor) configured exactly as the README
    says, with the README's host and client secret replaced by the provider's."""
    started = []

    def make(**kwargs):
        config = readme_configuration()
        provider = StandardProvider(client_id=config["ALIYUN_CLIENT_ID"], **kwargs)
        provider.start()
        started.append(provider)
        for name in ENDPOINT_SETTINGS:
            setattr(settings, name, "")  # the sandbox's explicit endpoints must not leak in
        for name, value in config.items():
            value = value.replace("https://idp.example.com", provider.url)
            setattr(settings, name, value)
        settings.ALIYUN_CLIENT_SECRET = provider.client_secret
        settings.ALIYUN_OAUTH_ALLOW_HTTP = True  # the test provider serves plain HTTP
        return provider

    yield make
    for provider in started:
        provider.stop()


def _approve(client, provider) -> dict[str, str]:
    """Start the link and let the provider sign in and consent; the form_post fields."""
    page = requests.get(start_link(client), timeout=10)
    assert page.status_code == 200, page.text
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    return {name: html.unescape(value) for name, value in fields}


def _link(client, provider, **changes):
    fields = {**_approve(client, provider), **changes}
    return client.post("/aliyun/auth/callback", {k: v for k, v in fields.items() if v is not None})


def test_readme_configuration_links_refreshes_and_unlinks(oidc, edward, edward_client):
    provider = oidc()  # ES256, no revocation or userinfo endpoint advertised
    response = _link(edward_client, provider)
    assert response.status_code == 302, response.content
    page = edward_client.get("/").content.decode()
    assert "Your Example ID account is linked." in page
    row = LinkedAccount.objects.get(user=edward)
    assert row.token_type == "Bearer" and row.upn == "j.doe" and row.name == "Jane Doe"
    assert row.refresh_token  # offline_access + prompt=consent

    first = row.access_token
    refreshed = services.refresh_now(edward)
    assert refreshed.access_token != first and provider.alive(refreshed.access_token)
    assert LinkedAccount.objects.get(user=edward).refresh_token != row.refresh_token  # rotated

    outcome = services.revoke_account(edward)
    assert (
        not outcome.upstream_revoked and "Example ID does not support revoking" in outcome.message
    )
    assert not LinkedAccount.objects.exists()
    # Only the provider was asked anything, and nothing it does not offer.
    assert {path for _m, path in provider.calls} == {
        DISCOVERY_PATH,
        "/authorize",
        "/token",
        "/jwks",
    }


def test_missing_optional_endpoints_are_unsupported_never_another_host(oidc):
    oidc()
    cfg = oauth_client.provider_config()
    assert cfg.revocation_endpoint is None and cfg.userinfo_endpoint is None
    assert cfg.id_token_algorithms == ("ES256",) and cfg.iss_required


def test_no_refresh_token_without_consent(oidc, edward, edward_client, settings):
    provider = oidc()
    settings.ALIYUN_OAUTH_AUTHORIZE_PARAMS = ""
    assert _link(edward_client, provider).status_code == 302
    page = edward_client.get("/").content.decode()
    assert "Example ID issued no refresh token" in page
    assert not LinkedAccount.objects.get(user=edward).refresh_token
    page = edward_client.post("/aliyun/refresh", follow=True).content.decode()
    assert "issued no refresh token" in page and "no longer accepts" not in page
    assert provider.count("/token") == 1
    assert LinkedAccount.objects.filter(user=edward).exists()


def test_authorize_parameters_from_the_setting(oidc, edward_client, settings):
    oidc()
    settings.ALIYUN_OAUTH_AUTHORIZE_PARAMS = "prompt=consent&ui_locales=zh-CN&response_mode=query"
    url = start_link(edward_client)
    assert "prompt=consent" in url and "ui_locales=zh-CN" in url
    assert "response_mode=query" in url and "form_post" not in url
    settings.ALIYUN_OAUTH_AUTHORIZE_PARAMS = "state=mine"
    response = edward_client.get("/aliyun/auth")
    assert response.status_code == 502
    assert "ALIYUN_OAUTH_AUTHORIZE_PARAMS" in response.content.decode()


def test_relinking_revokes_only_what_cannot_share_the_new_grant(
    oidc, edward, edward_client, django_capture_on_commit_callbacks
):
    # RS256 and both optional endpoints: only the grant reuse differs from Alibaba's sandbox.
    provider = oidc(alg="RS256", advertise=("revocation_endpoint", "userinfo_endpoint"))
    assert _link(edward_client, provider).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):  # a second tab, the same account
        assert _link(edward_client, provider).status_code == 302
    assert len(provider.grants) == 1  # the provider reused its grant
    same = LinkedAccount.objects.get(user=edward)
    assert provider.alive(same.access_token)
    assert services.refresh_now(edward).access_token

    # Another account of the provider: another grant, so the replaced one is revoked.
    replaced = LinkedAccount.objects.get(user=edward).access_token
    provider.subject = "248289761002"
    with django_capture_on_commit_callbacks(execute=True):
        assert _link(edward_client, provider).status_code == 302
    assert not provider.alive(replaced)
    new = LinkedAccount.objects.get(user=edward).access_token
    assert provider.alive(new)
    # Unlinking revokes the grant upstream: all of it ends (RFC 7009 §2.1).
    assert services.revoke_account(edward).upstream_revoked
    assert not provider.alive(new)


def test_rfc9207_iss_is_checked_and_required_when_advertised(oidc, edward, edward_client):
    provider = oidc(alg="RS256", advertise=("revocation_endpoint", "userinfo_endpoint"))
    for iss in (None, "https://attacker.example", provider.issuer + "/"):
        response = _link(edward_client, provider, iss=iss)
        assert response.status_code == 400
        assert "issuer mismatch" in response.content.decode()
        assert provider.count("/token") == 0  # the code never went to the token endpoint
    assert _link(edward_client, provider).status_code == 302
    assert LinkedAccount.objects.filter(user=edward).exists()


def test_iss_is_checked_when_present_without_discovery(fake_provider, edward_client):
    from tests.aliyun_oauth.conftest import auth_params

    params = auth_params(start_link(edward_client))
    fake_provider.nonce = params["nonce"]
    fields = {"code": "c-1", "state": params["state"], "iss": "https://attacker.example"}
    response = edward_client.post("/aliyun/auth/callback", fields)
    assert response.status_code == 400 and "issuer mismatch" in response.content.decode()
    assert fake_provider.count("/token") == 0


def test_refresh_leeway_is_capped_by_the_token_lifetime(oidc, edward, edward_client):
    provider = oidc(alg="RS256", advertise=("revocation_endpoint", "userinfo_endpoint"))
    provider.expires_in = 120  # shorter than ALIYUN_OAUTH_REFRESH_LEEWAY (300 s)
    assert _link(edward_client, provider).status_code == 302
    first = services.get_valid_token(edward)
    assert services.get_valid_token(edward) == first
    assert provider.count("/token") == 1  # no refresh on every call
    LinkedAccount.objects.filter(user=edward).update(
        issued_at=timezone.now() - timedelta(seconds=70),
        expires_at=timezone.now() + timedelta(seconds=50),
    )
    assert services.get_valid_token(edward) != first  # inside half the lifetime: refreshed


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_id_token_algorithms_come_from_discovery_or_the_setting(
    oidc, edward, edward_client, settings, alg
):
    provider = oidc(alg=alg)
    assert _link(edward_client, provider).status_code == 302
    LinkedAccount.objects.all().delete()
    settings.ALIYUN_OAUTH_ID_TOKEN_ALGORITHMS = ["RS256"]
    response = _link(edward_client, provider)
    assert response.status_code == 400
    assert "not signed with RS256" in response.content.decode()


def test_display_name_falls_back_to_email(oidc, edward, edward_client):
    provider = oidc()
    del provider.profile["preferred_username"]
    assert _link(edward_client, provider).status_code == 302
    assert LinkedAccount.objects.get(user=edward).upn == "janedoe@example.com"


def test_messages_name_the_configured_provider_not_alibaba(oidc, edward_client, settings):
    provider = oidc()
    response = _link(edward_client, provider, code=None, error="access_denied")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Example ID sign-in was cancelled or refused." in page
    assert "Linking your Example ID account failed" in page and "Alibaba" not in page
    settings.ALIYUN_OAUTH_PROVIDER_NAME = ""
    assert oauth_client.provider_name() == "127.0.0.1"  # the discovery host


def test_every_oauth_setting_is_documented():
    source = (Path(django_settings.BASE_DIR) / "crmdemo" / "settings.py").read_text()
    names = set(re.findall(r"^(ALIYUN_OAUTH_\w+) = env", source, re.M))
    readme = README.read_text()
    example = (Path(django_settings.BASE_DIR) / ".env.example").read_text()
    assert len(names) >= 19
    for name in sorted(names):
        assert f"`{name}`" in readme or f"`…_{name.removeprefix('ALIYUN_OAUTH_')}`" in readme, name
        assert f"# {name}=" in example, name
