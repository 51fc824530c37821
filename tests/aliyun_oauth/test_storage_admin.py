"""Encryption at rest and its rotation; the admin's read-only list and revoke action; the
home page block."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from aliyun_oauth import crypto, services
from aliyun_oauth.models import LinkedAccount

pytestmark = pytest.mark.django_db

ACCESS, REFRESH, ID_TOKEN = "access-secret-value", "refresh-secret-value", "a.b.c-id-token"


def _account(user, **extra) -> LinkedAccount:
    fields = {
        "token_type": "AliyunSTS",
        "scope": "openid aliuid profile /acs/ccc",
        "expires_at": timezone.now() + timedelta(hours=1),
        "subject": "2030000000000001",
        "upn": "edward@crmdemo.onaliyun.com",
        "name": "Edward",
        "aid": "1290000000000001",
        "uid": "2030000000000001",
    }
    row = LinkedAccount(user=user, **{**fields, **extra})
    row.access_token, row.refresh_token, row.id_token = ACCESS, REFRESH, ID_TOKEN
    row.save()
    return row


def test_rotation_re_encrypts_with_the_first_key(edward, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old_key]
    row = _account(edward)
    before = LinkedAccount.objects.values_list("access_token_encrypted", flat=True).get()
    assert ACCESS not in before

    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_token_encryption", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]  # the old key is gone: rows still readable
    row = LinkedAccount.objects.get(pk=row.pk)
    assert (row.access_token, row.refresh_token, row.id_token) == (ACCESS, REFRESH, ID_TOKEN)
    assert row.access_token_encrypted != before


def test_a_removed_key_gives_a_clear_error_not_a_500(edward, edward_client, settings):
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    _account(edward, expires_at=timezone.now())
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError):
        services.get_valid_token(edward)
    page = edward_client.post("/aliyun/refresh", follow=True)
    assert page.status_code == 200 and "cannot be read" in page.content.decode()
    assert LinkedAccount.objects.exists()  # nothing lost


def test_account_summary_has_no_token_values(edward):
    assert services.account_summary(edward) is None
    _account(edward)
    summary = services.account_summary(edward)
    assert set(summary) >= {"upn", "name", "aid", "uid", "created_at", "expires_at", "scope"}
    assert summary["upn"] == "edward@crmdemo.onaliyun.com"
    assert summary["expires_at"].utcoffset() == timedelta(0)
    for secret in (ACCESS, REFRESH, ID_TOKEN):
        assert secret not in repr(summary)


def test_profile_block_linked_and_unlinked(edward, edward_client):
    page = edward_client.get("/profile/").content.decode()
    assert "Not linked" in page and 'href="/aliyun/auth"' in page
    _account(edward)
    page = edward_client.get("/profile/").content.decode()
    assert "edward@crmdemo.onaliyun.com" in page and "Cloud sign-in valid until" in page
    assert page.count('name="csrfmiddlewaretoken"') >= 3  # refresh, revoke, sign out
    for secret in (ACCESS, REFRESH, ID_TOKEN):
        assert secret not in page


def test_admin_lists_without_tokens_and_revokes(edward, admin_client, fake_provider):
    row = _account(edward)
    page = admin_client.get("/admin/aliyun_oauth/linkedaccount/").content.decode()
    assert "edward@crmdemo.onaliyun.com" in page
    detail = admin_client.get(f"/admin/aliyun_oauth/linkedaccount/{row.pk}/change/")
    assert detail.status_code == 200
    for text in (page, detail.content.decode()):
        for secret in (ACCESS, REFRESH, ID_TOKEN, row.access_token_encrypted):
            assert secret not in text
    assert admin_client.get("/admin/aliyun_oauth/linkedaccount/add/").status_code == 403

    response = admin_client.post(
        "/admin/aliyun_oauth/linkedaccount/",
        {"action": "revoke_selected", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "was revoked and unlinked" in response.content.decode()
    assert not LinkedAccount.objects.exists()
    assert fake_provider.calls[-1][1]["token"] == REFRESH
