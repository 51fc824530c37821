"""manage.py create_roles: the production way to the Agents and Supervisors groups, no demo
passwords, with DEBUG off."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from tests.signin import login

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("create_roles", *args, stdout=out)
    return out.getvalue()


def test_creates_the_groups_without_accounts_with_debug_off(settings):
    settings.DEBUG = False
    run()
    run()  # again: nothing twice
    agents = Group.objects.get(name="Agents")
    supervisors = Group.objects.get(name="Supervisors")
    assert set(agents.permissions.values_list("codename", flat=True)) == {
        "view_customer",
        "view_phonenumber",
        "add_customer",
        "add_phonenumber",
    }
    assert supervisors.permissions.filter(codename="delete_customer").exists()
    assert not get_user_model().objects.exists()


def test_puts_existing_users_in_their_roles(client, settings):
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = get_user_model().objects
    users.create_user("wang.li", password="a-long-pass-1")
    users.create_user("zhao.min", password="a-long-pass-2")
    out = run("--agent", "Wang.Li", "--supervisor", "zhao.min")
    assert "wang.li: Agents" in out and "zhao.min: Supervisors" in out
    assert users.get(username="zhao.min").is_staff
    assert not users.get(username="wang.li").is_staff
    assert login(client, "wang.li", "a-long-pass-1")
    assert client.get("/customers/").status_code == 200


def test_an_unknown_user_changes_nothing():
    get_user_model().objects.create_user("wang.li")
    with pytest.raises(CommandError, match="No user “nobody”"):
        run("--agent", "wang.li", "--agent", "nobody")
    assert not get_user_model().objects.get(username="wang.li").groups.exists()
