"""The link / refresh / revoke flows against the sandbox provider on the live server (real HTTP)."""

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from aliyun_oauth import client as oauth_client
from aliyun_oauth import services
from aliyun_oauth.models import LinkedAccount
from tests.aliyun_oauth.conftest import EDWARD_UPN, auth_params, link, sandbox_approve, start_link

pytestmark = pytest.mark.django_db(transaction=True)


def test_authorize_redirect_carries_pkce_nonce_state_and_form_post(oauth_sandbox, edward_client):
    url = start_link(edward_client)
    assert url.startswith(oauth_sandbox.signin_url + "/oauth2/v1/auth?")
    params = auth_params(url)
    assert params["response_type"] == "code"
    assert params["response_mode"] == "form_post"
    assert params["access_type"] == "offline"
    assert params["client_id"] == oauth_sandbox.client_id
    assert params["redirect_uri"] == oauth_sandbox.redirect_uri
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["scope"] == "openid aliuid profile /acs/ccc"


def test_link_refresh_revoke_and_link_again(oauth_sandbox, edward, edward_client):
    link(edward_client)
    row = LinkedAccount.objects.get(user=edward)
    assert row.upn == EDWARD_UPN and row.name == "Edward" and row.uid == "2030000000000001"
    assert row.token_type == "AliyunSTS"
    assert abs((row.expires_at - timezone.now()).total_seconds() - 3600) < 30
    # Encrypted at rest: the columns never hold the token values.
    first_access, first_refresh, id_token = row.access_token, row.refresh_token, row.id_token
    assert first_access and first_refresh and id_token.count(".") == 2
    for secret in (first_access, first_refresh, id_token):
        assert secret not in (
            row.access_token_encrypted + row.refresh_token_encrypted + row.id_token_encrypted
        )

    home = edward_client.get("/").content.decode()
    assert 'id="callbar"' in home and "/customers" in home
    profile = edward_client.get("/profile/").content.decode()
    assert "Alibaba Cloud account (for calls)" in profile and EDWARD_UPN in profile
    assert "Renew the cloud sign-in" in profile and "Unlink the Alibaba Cloud account" in profile

    token = services.get_valid_token(edward)
    assert token.access_token == first_access and token.token_type == "AliyunSTS"
    assert token.expires_at == row.expires_at

    response = edward_client.post("/aliyun/refresh", follow=True)
    assert "was refreshed" in response.content.decode()
    row.refresh_from_db()
    assert row.access_token != first_access
    assert row.refresh_token == first_refresh and row.id_token == id_token  # kept
    assert oauth_sandbox.tokens_issued() == 2  # the code exchange and the refresh

    # From the profile page: back to the console showing the profile page again.
    response = edward_client.post("/aliyun/revoke", {"next": "/?page=/profile/"}, follow=True)
    assert response.redirect_chain == [("/?page=/profile/", 302)]
    page = response.content.decode()
    assert "revoked" in page and 'src="/profile/"' in page
    assert "Link your Alibaba Cloud account" in page
    assert "Not linked" in edward_client.get("/profile/").content.decode()
    assert not LinkedAccount.objects.filter(user=edward).exists()
    assert oauth_sandbox.answers("/oauth/v1/revoke") == [200]  # the provider was told
    assert oauth_sandbox.refresh(first_refresh).status_code == 400  # and ended the grant
    with pytest.raises(services.NotLinked):
        services.get_valid_token(edward)

    link(edward_client)
    assert LinkedAccount.objects.get(user=edward).upn == EDWARD_UPN


def test_no_token_code_or_secret_in_logs_or_pages(oauth_sandbox, edward, edward_client, caplog):
    caplog.set_level(logging.DEBUG)
    fields = link(edward_client)
    row = LinkedAccount.objects.get(user=edward)
    secrets = [fields["code"], row.access_token, row.refresh_token, row.id_token]
    secrets.append(oauth_sandbox.client_secret)
    pages = [edward_client.get(p).content.decode() for p in ("/", "/profile/")]
    pages.append(edward_client.post("/aliyun/refresh", follow=True).content.decode())
    row.refresh_from_db()
    secrets.append(row.access_token)
    pages.append(edward_client.post("/aliyun/revoke", follow=True).content.decode())
    assert caplog.records, "the flow logs something"
    for secret in secrets:
        assert secret not in caplog.text
        for page in pages:
            assert secret not in page


def test_form_post_without_session_cookie_is_resubmitted_same_site(
    oauth_sandbox, edward, edward_client
):
    fields = sandbox_approve(start_link(edward_client))
    cross_site = Client()  # the provider's cross-site POST: the Lax session cookie is left out
    response = cross_site.post("/aliyun/auth/callback", fields)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'action="/aliyun/auth/callback?resubmit=1"' in page
    assert f'name="state" value="{fields["state"]}"' in page
    assert "sessionid" not in response.cookies  # the user's session is not replaced
    assert not LinkedAccount.objects.exists()

    # The resubmission, same-site, carries the session: the link completes.
    response = edward_client.post("/aliyun/auth/callback?resubmit=1", fields)
    assert response.status_code == 302 and response["Location"] == "/"
    assert LinkedAccount.objects.get(user=edward).upn == EDWARD_UPN


def test_state_from_another_browser_is_refused(
    oauth_sandbox, edward, edward_client, django_user_model
):
    fields = sandbox_approve(start_link(edward_client))
    attacker = Client()
    attacker.force_login(django_user_model.objects.create_user("mallory", password="x"))
    response = attacker.post("/aliyun/auth/callback?resubmit=1", fields)
    assert response.status_code == 400
    assert "another browser" in response.content.decode()
    assert not LinkedAccount.objects.exists()


def test_state_is_single_use(oauth_sandbox, edward, edward_client):
    fields = link(edward_client)
    LinkedAccount.objects.all().delete()
    response = edward_client.post("/aliyun/auth/callback?resubmit=1", fields)
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert not LinkedAccount.objects.exists()


def test_two_tabs_link_at_once(oauth_sandbox, edward, edward_client):
    tab1 = sandbox_approve(start_link(edward_client))
    tab2 = sandbox_approve(start_link(edward_client))
    assert edward_client.post("/aliyun/auth/callback", tab2).status_code == 302
    assert edward_client.post("/aliyun/auth/callback", tab1).status_code == 302
    assert LinkedAccount.objects.filter(user=edward).count() == 1


def test_code_replay_is_refused_and_stores_nothing(oauth_sandbox, edward, edward_client):
    fields = link(edward_client)
    before = LinkedAccount.objects.get(user=edward)
    new_state = auth_params(start_link(edward_client))["state"]
    response = edward_client.post(
        "/aliyun/auth/callback", {"code": fields["code"], "state": new_state}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "invalid_grant" in page and 'href="/aliyun/auth"' in page
    after = LinkedAccount.objects.get(user=edward)
    assert after.access_token_encrypted == before.access_token_encrypted


def test_access_denied_shows_a_retry_page(oauth_sandbox, edward, edward_client):
    state = auth_params(start_link(edward_client))["state"]
    response = edward_client.post(
        "/aliyun/auth/callback",
        {"error": "access_denied", "error_description": "The user denied.", "state": state},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "cancelled or refused" in page and 'href="/aliyun/auth"' in page
    assert not LinkedAccount.objects.exists()


def test_refresh_invalid_grant_unlinks_and_asks_to_link_again(oauth_sandbox, edward, edward_client):
    link(edward_client)
    row = LinkedAccount.objects.get(user=edward)
    oauth_client.revoke(oauth_client.provider_config(), row.refresh_token, "refresh_token")
    LinkedAccount.objects.filter(pk=row.pk).update(expires_at=timezone.now())
    with pytest.raises(services.RelinkRequired, match="link your Alibaba Cloud account again"):
        services.get_valid_token(edward)
    assert not LinkedAccount.objects.exists()
    with pytest.raises(services.NotLinked):
        services.get_valid_token(edward)


def test_manual_refresh_after_invalid_grant_says_link_again(oauth_sandbox, edward, edward_client):
    link(edward_client)
    row = LinkedAccount.objects.get(user=edward)
    oauth_client.revoke(oauth_client.provider_config(), row.refresh_token, "refresh_token")
    page = edward_client.post("/aliyun/refresh", follow=True).content.decode()
    assert "link your Alibaba Cloud account again" in page
    assert "Not linked" in edward_client.get("/profile/").content.decode()


def test_get_valid_token_refreshes_near_expiry_and_on_rejection(
    oauth_sandbox, edward, edward_client
):
    link(edward_client)
    first = services.get_valid_token(edward)
    assert oauth_sandbox.tokens_issued() == 1

    # The upstream said the stored token is dead: refresh even though it is not near expiry.
    second = services.get_valid_token(edward, rejected_token=first.access_token)
    assert second.access_token != first.access_token and oauth_sandbox.tokens_issued() == 2
    # A caller still holding the old token gets the stored one, no new refresh.
    assert services.get_valid_token(edward, rejected_token=first.access_token) == second
    assert oauth_sandbox.tokens_issued() == 2

    LinkedAccount.objects.filter(user=edward).update(
        expires_at=timezone.now() + timedelta(seconds=60),  # inside the 300 s leeway
        issued_at=timezone.now() - timedelta(seconds=3540),
    )
    third = services.get_valid_token(edward)
    assert third.access_token not in (first.access_token, second.access_token)
    assert third.expires_at > timezone.now() + timedelta(seconds=3000)
    assert oauth_sandbox.tokens_issued() == 3


def test_revoke_with_the_provider_down_still_unlinks(
    oauth_sandbox, edward, edward_client, settings
):
    link(edward_client)
    settings.ALIYUN_OAUTH_REVOKE_URL = "http://127.0.0.1:9/v1/revoke"  # nothing listens there
    response = edward_client.post("/aliyun/revoke", follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "could not be told" in page and "removed from the CRM" in page
    assert not LinkedAccount.objects.exists()


def test_discovery_and_client_secret_basic(oauth_sandbox, edward, edward_client, settings):
    settings.ALIYUN_OAUTH_DISCOVERY_URL = (
        oauth_sandbox.oauth_url + "/.well-known/openid-configuration"
    )
    settings.ALIYUN_SIGNIN_BASE_URL = "http://127.0.0.1:9/not-used"
    settings.ALIYUN_OAUTH_BASE_URL = "http://127.0.0.1:9/not-used"
    settings.ALIYUN_OAUTH_CLIENT_AUTH_METHOD = "client_secret_basic"
    link(edward_client)
    assert services.refresh_now(edward).access_token
    assert services.revoke_account(edward).upstream_revoked


def test_csrf_stays_on_for_refresh_and_revoke(oauth_sandbox, edward):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(edward)
    assert browser.post("/aliyun/refresh").status_code == 403
    assert browser.post("/aliyun/revoke").status_code == 403
    assert browser.get("/aliyun/refresh").status_code == 405
    assert Client().get("/aliyun/auth").status_code == 302  # login required
    assert Client().get("/aliyun/auth")["Location"].startswith("/login/")


def _alive(token: str) -> bool:
    """Whether the provider still accepts ``token`` (userinfo answers)."""
    try:
        oauth_client.userinfo(oauth_client.provider_config(), token)
    except services.AliyunOAuthError:
        return False
    return True


def test_relink_of_the_same_account_never_revokes_what_may_share_the_new_grant(
    oauth_sandbox, edward, edward_client
):
    link(edward_client)
    old = LinkedAccount.objects.get(user=edward)

    link(edward_client)  # "Retrieval Aliyun Token" again, e.g. from a second tab
    new = LinkedAccount.objects.get(user=edward)
    assert new.refresh_token != old.refresh_token
    # A provider may keep one grant per account and end all of it on any revocation (RFC 7009
    # §2.1): the replaced tokens of the same account are forgotten, not revoked.
    assert oauth_sandbox.answers("/oauth/v1/revoke") == []
    assert _alive(new.access_token)
    assert services.refresh_now(edward).access_token  # the new grant is intact


def test_relink_to_another_account_revokes_the_replaced_tokens(
    oauth_sandbox, edward, edward_client
):
    link(edward_client)
    old = LinkedAccount.objects.get(user=edward)
    old_access, old_refresh = old.access_token, old.refresh_token

    link(edward_client, upn="sissi@crmdemo.onaliyun.com", password="5678")
    new = LinkedAccount.objects.get(user=edward)
    assert new.subject != old.subject and new.refresh_token != old_refresh
    assert not _alive(old_access)
    assert oauth_sandbox.refresh(old_refresh).status_code == 400  # revoked at the provider
    assert _alive(new.access_token)
    assert services.refresh_now(edward).access_token


def test_relink_succeeds_when_the_replaced_tokens_cannot_be_revoked(
    oauth_sandbox, edward, edward_client, settings
):
    link(edward_client)
    settings.ALIYUN_OAUTH_REVOKE_URL = "http://127.0.0.1:9/v1/revoke"  # nothing listens there
    link(edward_client)
    assert _alive(LinkedAccount.objects.get(user=edward).access_token)


def test_failed_relink_says_the_existing_link_is_still_active(oauth_sandbox, edward, edward_client):
    link(edward_client)
    before = LinkedAccount.objects.get(user=edward).access_token_encrypted
    for answer in (
        {"error": "access_denied", "error_description": "The user denied."},
        {"code": "not-a-code"},
    ):
        state = auth_params(start_link(edward_client))["state"]
        response = edward_client.post("/aliyun/auth/callback", {**answer, "state": state})
        page = response.content.decode()
        assert response.status_code == 400
        assert "Nothing was stored" in page
        assert f"{EDWARD_UPN}</strong> is still linked" in page, page
    assert LinkedAccount.objects.get(user=edward).access_token_encrypted == before
    # Without a link, the page does not claim one.
    LinkedAccount.objects.all().delete()
    state = auth_params(start_link(edward_client))["state"]
    response = edward_client.post(
        "/aliyun/auth/callback", {"error": "access_denied", "state": state}
    )
    assert "still linked" not in response.content.decode()


def test_resubmit_page_offers_continue_only_without_javascript(oauth_sandbox, edward_client):
    fields = sandbox_approve(start_link(edward_client))
    page = Client().post("/aliyun/auth/callback", fields).content.decode()
    # With JavaScript the form submits itself once; a visible button would invite a second,
    # identical callback while the first is in flight.
    assert "<noscript>" in page and page.index("<noscript>") < page.index("<button")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""]
)
def test_refresh_and_revoke_go_home_for_a_next_that_is_not_local(
    oauth_sandbox, edward, edward_client, target
):
    link(edward_client)
    for path in ("/aliyun/refresh", "/aliyun/revoke"):
        response = edward_client.post(path, {"next": target})
        assert response.status_code == 302 and response["Location"] == "/"
