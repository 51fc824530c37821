"""The workbench page as HTML: what it mounts, and only when the account is linked."""

import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def edward(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = django_user_model.objects.create_user("edward", password="1234")
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    return user


def config_of(html: str) -> dict:
    found = re.search(r'<script id="workbench-config" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def link(user):
    """A linked account row, as aliyun_oauth stores it after the callback."""
    from datetime import timedelta

    from django.utils import timezone

    from aliyun_oauth.models import LinkedAccount

    now = timezone.now()
    LinkedAccount.objects.create(
        user=user,
        upn="edward@crmdemo.onaliyun.com",
        subject="sub-edward",
        token_type="AliyunSTS",
        access_token="a",
        refresh_token="r",
        id_token="i",
        issued_at=now,
        expires_at=now + timedelta(hours=1),
    )


def test_not_linked_shows_the_link_and_loads_no_sdk(client, edward):
    client.force_login(edward)
    html = client.get("/").content.decode()
    assert 'id="callbar"' in html and 'target="crm">Customers</a>' in html
    assert html.count("Sign out") == 1  # one, in the user menu
    assert "Aliyun Token" not in html and "aliyun-expires" not in html  # now on the profile page
    assert "Not linked" in html and 'href="/aliyun/auth"' in html
    assert "workbench-sdk.js" not in html
    config = config_of(html)
    assert config["linked"] is False
    assert 'id="crm-frame" name="crm" src="/customers/"' in html


@override_settings(
    ALIYUN_SDK_SCRIPT_URLS=["https://cdn.example/a.js", "https://cdn.example/sdk.js"],
    ALIYUN_SDK_CSS_URLS=["https://cdn.example/main.css"],
    ALIYUN_CCC_INSTANCE_ID="ccc-test-instance",
)
def test_linked_mounts_the_sdk_from_settings_with_config_as_json(client, edward):
    link(edward)
    client.force_login(edward)
    response = client.get("/")
    html = response.content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts[-3:-1] == ["https://cdn.example/a.js", "https://cdn.example/sdk.js"]
    assert scripts[-1].endswith("workbench/workbench.js")
    assert '<link rel="stylesheet" href="https://cdn.example/main.css">' in html
    config = config_of(html)
    assert config["linked"] is True
    assert config["instanceId"] == "ccc-test-instance"
    assert (config["ajaxPath"], config["ajaxMethod"]) == ("/aliyun/ccc/api", "post")
    assert config["csrfToken"] and config["callLogUrl"] == "/customers/calls/log"
    assert 'id="softphone"' in html and "Not linked" not in html


@pytest.mark.parametrize(
    ("page", "framed"),
    [
        ("/customers/7/", "/customers/7/"),
        ("/customers/?q=Lu", "/customers/?q=Lu"),
        ("//evil.example/x", "/customers/"),
        ("https://evil.example/", "/customers/"),
        ("javascript:alert(1)", "/customers/"),
        ("/", "/customers/"),
        ("/?page=/", "/customers/"),
    ],
)
def test_the_frame_opens_only_local_pages(client, edward, page, framed):
    client.force_login(edward)
    html = client.get("/", {"page": page}).content.decode()
    src = re.search(r'id="crm-frame" name="crm" src="([^"]*)"', html).group(1)
    assert src.replace("&amp;", "&") == framed


def test_config_cannot_break_out_of_its_script(client, edward, settings):
    settings.ALIYUN_CCC_INSTANCE_ID = "</script><script>alert(1)</script>"
    client.force_login(edward)
    html = client.get("/").content.decode()
    assert "<script>alert(1)" not in html
    assert config_of(html)["instanceId"] == settings.ALIYUN_CCC_INSTANCE_ID


def test_workbench_needs_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_without_the_customers_permission_no_frame_but_a_message(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("guest", password="x-pw-123"))
    html = client.get("/").content.decode()
    assert 'src="/profile/"' in html and "may not view customers" in html  # no 403 frame
    assert config_of(html)["canViewCustomers"] is False


def test_profile_shows_the_account_in_plain_words_and_never_a_token(client, edward):
    client.force_login(edward)
    html = client.get("/profile/").content.decode()
    assert "Not linked" in html and 'href="/aliyun/auth"' in html
    link(edward)
    html = client.get("/profile/").content.decode()
    assert "edward@crmdemo.onaliyun.com" in html
    assert "Renew the cloud sign-in" in html and "Unlink the Alibaba Cloud account" in html
    assert "Aliyun Token" not in html and "does not look like yours" not in html
    for secret in ('"a"', '"r"', '"i"'):  # the stored tokens' values
        assert f"value={secret}" not in html
    assert 'action="/i18n/setlang/"' in html


def test_profile_warns_when_the_cloud_account_looks_like_someone_elses(client, edward):
    from aliyun_oauth.models import LinkedAccount

    link(edward)
    LinkedAccount.objects.filter(user=edward).update(upn="sissi@crmdemo.onaliyun.com", name="Sissi")
    client.force_login(edward)
    html = client.get("/profile/").content.decode()
    assert "does not look like yours" in html


@pytest.mark.parametrize(
    ("username", "full", "upn", "name", "other"),
    [
        ("edward", "", "edward@crmdemo.onaliyun.com", "Edward", False),
        ("edward", "", "ed.ward@x.com", "", False),  # a part of the name
        ("wang", "Wang Wei", "wei.w@x.com", "", False),  # the full name
        ("edward", "", "sissi@crmdemo.onaliyun.com", "Sissi", True),
        ("edward", "", "", "", False),  # nothing to compare: not a warning
        ("王伟", "", "王伟@x.com", "", False),
        ("王伟", "", "李娜@x.com", "李娜", True),
    ],
)
def test_looks_like_someone_else(django_user_model, username, full, upn, name, other):
    from workbench.views import looks_like_someone_else

    first, _, last = full.partition(" ")
    user = django_user_model(username=username, first_name=first, last_name=last)
    assert looks_like_someone_else(user, {"upn": upn, "name": name}) is other


def test_unknown_accept_language_falls_back_and_zh_is_chosen(client, edward):
    client.force_login(edward)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="xx-YY").content.decode()
    assert '<html lang="en' in html
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans"' in html and "接听" in html and "退出登录" in html


def test_profile_in_chinese_names_the_provider_in_chinese(client, edward):
    link(edward)
    client.force_login(edward)
    html = client.get("/profile/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "阿里云账号（用于通话）" in html and "解除关联阿里云账号" in html
    assert "account (for calls)" not in html and "Unlink the" not in html
