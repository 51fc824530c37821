"""Sign-in, sign-out and the demo accounts' roles."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tests.signin import login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    call_command("bootstrap_demo", "--force", stdout=io.StringIO())  # tests run with DEBUG off


@pytest.mark.parametrize("username", ["Edward", "edward", "EDWARD"])
def test_username_case_does_not_matter(client, demo, username):
    response = client.post(reverse("login"), {"username": username, "password": "1234"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("customers:list")).status_code == 200


def test_wrong_password_is_a_form_error_and_nothing_else(client, demo):
    response = client.post(reverse("login"), {"username": "Edward", "password": "12345"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_exact_username_wins_over_case_variant(client, demo):
    get_user_model().objects.create_user("EDWARD", password="other-pw-1")
    assert login(client, "EDWARD", "other-pw-1")
    assert login(client, "edward", "1234")
    assert not login(client, "Edward", "1234")  # ambiguous: nobody


def test_logout_is_post_only(client, demo):
    login(client, "edward", "1234")
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("customers:list")).status_code == 302


def test_logout_needs_csrf_token(demo):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, "edward", "1234")
    assert client.post(reverse("logout")).status_code == 403


def test_roles(client, demo):
    user_model = get_user_model()
    edward = user_model.objects.get(username="edward")
    boss = user_model.objects.get(username="supervisor")
    assert list(edward.groups.values_list("name", flat=True)) == ["Agents"]
    assert edward.has_perm("customers.view_customer")
    assert not edward.has_perm("customers.change_customer") and not edward.is_staff
    assert list(boss.groups.values_list("name", flat=True)) == ["Supervisors"]
    assert boss.is_staff and not boss.is_superuser
    for action in ("view", "add", "change", "delete"):
        assert boss.has_perm(f"customers.{action}_customer")
    login(client, "supervisor", "supervisor-2018")
    assert client.get(reverse("admin:customers_customer_changelist")).status_code == 200
    login(client, "edward", "1234")
    assert client.get(reverse("admin:index")).status_code == 302


def test_empty_fields_are_field_errors(client, demo):
    response = client.post(reverse("login"), {"username": "", "password": ""})
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2
    assert "_auth_user_id" not in client.session


def test_login_page_and_next(client, demo):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login") + "?next=/customers/",
        {"username": "sissi", "password": "5678", "next": "/customers/"},
    )
    assert response["Location"] == "/customers/"
