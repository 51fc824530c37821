"""Pages in zh-hans and English: the language from the browser (Accept-Language), the language
switch (set_language), the fallback for languages the product does not speak, one date-time
format per language in the agents' time zone, the branded admin. (The sandbox's pages and its
JavaScript: tests/aliyun_sandbox/test_i18n.py.)"""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from customers.models import CallRecord
from customers.roles import ROLE_PERMISSIONS
from customers.services import ensure_customer

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def agent_client(client, django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    group = Group.objects.create(name="Agents")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="customers", codename__in=ROLE_PERMISSIONS["Agents"]
        )
    )
    user = django_user_model.objects.create_user("edward", password="1234")
    user.groups.add(group)
    client.force_login(user)
    client.user = user
    return client


@pytest.mark.parametrize(
    "header", [None, "tlh", "fr-FR,fr;q=0.9", "xx-YY", "*", "en-US;q=abc", "!!!,;;;"]
)
def test_an_unknown_or_missing_accept_language_gets_the_zh_hans_fallback(client, settings, header):
    settings.LANGUAGE_CODE = "zh-hans"  # the product's setting (tests default to English)
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header is not None else {}
    response = client.get(reverse("login"), **extra)
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert "用户名或密码" not in response.content.decode()  # only after a failed sign-in
    assert "<h1>登录</h1>" in response.content.decode()


@pytest.mark.parametrize(
    ("header", "language", "heading"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-hans", "<h1>登录</h1>"),
        ("zh-Hans", "zh-hans", "<h1>登录</h1>"),
        ("zh", "zh-hans", "<h1>登录</h1>"),
        ("en-GB,en;q=0.9", "en", "<h1>Sign in</h1>"),
        ("de-DE,de;q=0.9,en;q=0.5", "en", "<h1>Sign in</h1>"),
    ],
)
def test_the_browser_language_picks_the_page_language(client, header, language, heading):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=header)
    assert response["Content-Language"] == language
    assert heading in response.content.decode()


def test_key_pages_in_both_languages(agent_client):
    mr_lu = ensure_customer("Mr Lu", ["135012345678"], company="Alibaba Cloud demo")[0]
    pages = {
        reverse("customers:list"): ("搜索客户", "Search customers"),
        reverse("customers:detail", args=[mr_lu.pk]): ("最近通话", "Recent calls"),
        "/customer/phoneNumber/13900000000": ("没有客户的号码是", "No customer with"),
        "/no/such/page/": ("页面不存在", "Page not found"),
    }
    for url, (chinese, english) in pages.items():
        zh = agent_client.get(url, **ZH).content.decode()
        en = agent_client.get(url, **EN).content.decode()
        assert chinese in zh and english not in zh, url
        assert english in en and chinese not in en, url


def test_json_error_messages_for_agents_are_translated(agent_client):
    url = reverse("customers:lookup")
    zh = agent_client.get(url, {"number": "call me"}, **ZH).json()["error"]
    en = agent_client.get(url, {"number": "call me"}, **EN).json()["error"]
    assert zh == "“call me”不是电话号码：只允许数字、+、空格和 - . ( )。"
    assert en == "“call me” is not a phone number: only digits, +, spaces, - . ( ) allowed."


def test_form_errors_and_labels_are_translated(client, django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    client.force_login(user)
    form = {"name": "Zhao Lei", "phone": "call the office"}
    html = client.post(reverse("customers:create"), form, **ZH).content.decode()
    assert "第二个电话号码" in html  # a label
    assert "“call the office”不是电话号码" in html  # the field's error
    html = client.post(reverse("customers:create"), {"phone": "13800138000"}, **ZH).content
    assert "这个字段是必填项。" in html.decode()  # Django's own message, in Chinese too


def test_the_language_switch_overrides_the_browser(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/login/"}, **ZH)
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "en"
    assert "<h1>Sign in</h1>" in client.get(reverse("login"), **ZH).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/login/"}, **EN)
    assert "<h1>登录</h1>" in client.get(reverse("login"), **EN).content.decode()


def test_a_language_cookie_the_product_does_not_speak_is_ignored(client):
    # set_language accepts any language Django itself has a catalogue for (French) in the cookie;
    # LocaleMiddleware then ignores it, as it ignores a hand-made one.
    client.post(reverse("set_language"), {"language": "fr", "next": "/login/"}, **ZH)
    assert "<h1>登录</h1>" in client.get(reverse("login"), **ZH).content.decode()
    client.cookies["django_language"] = "tlh"
    assert "<h1>Sign in</h1>" in client.get(reverse("login"), **EN).content.decode()


def test_times_show_one_format_per_language_in_the_agents_time_zone(agent_client, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    mr_lu = ensure_customer("Mr Lu", ["135012345678"])[0]
    started = dt.datetime.now(dt.UTC).replace(hour=6, minute=5, second=30, microsecond=0)
    CallRecord.objects.create(
        agent=agent_client.user,
        customer=mr_lu,
        direction="inbound",
        caller="135012345678",
        contact_id="c-1",
        started_at=started,
    )
    local = started.astimezone(dt.timezone(dt.timedelta(hours=8)))  # Shanghai: UTC+8, no DST
    url = reverse("customers:detail", args=[mr_lu.pk])
    zh = agent_client.get(url, **ZH).content.decode()
    en = agent_client.get(url, **EN).content.decode()
    assert f">{local:%Y-%m-%d} 14:05</time>" in zh
    assert f">{local.day} {local:%b %Y}, 14:05</time>" in en


def test_the_admin_is_branded_as_the_product(client, django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.com", "pw"))
    zh = client.get(reverse("admin:index"), **ZH).content.decode()
    en = client.get(reverse("admin:index"), **EN).content.decode()
    assert "Django" not in zh and "Django" not in en
    assert "crmdemo 管理后台</a>" in zh and "客户、通话与阿里云账号" in zh
    assert "crmdemo administration</a>" in en
    assert "Customers, calls and Alibaba Cloud accounts" in en
    assert "客户与通话" in zh  # the app's name
    CallRecord.objects.create(direction="inbound", contact_id="c-1", notes="回电")
    changelist = client.get(reverse("admin:customers_callrecord_changelist"), **ZH).content
    assert "话后小结" in changelist.decode()  # a column of the call log
    assert "/static/css/admin.css" in zh  # fonts and wrapping on every admin page
