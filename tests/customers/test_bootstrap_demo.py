"""manage.py bootstrap_demo: idempotent, deterministic, and careful when DEBUG is off."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from customers.management.commands.bootstrap_demo import demo_customers
from customers.models import Customer, PhoneNumber
from customers.services import find_by_phone, normalize_phone
from tests.signin import login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args):
    out = io.StringIO()
    call_command("bootstrap_demo", *args, stdout=out)
    return out.getvalue()


def snapshot():
    return (
        sorted(get_user_model().objects.values_list("username", "is_staff")),
        sorted(Customer.objects.values_list("name", "company", "email")),
        sorted(PhoneNumber.objects.values_list("raw", "normalized")),
    )


def test_idempotent(settings):
    settings.DEBUG = True
    out = run()
    assert "supervisor / supervisor-2018" in out
    first = snapshot()
    assert "0 created, 52 kept" in run()
    assert snapshot() == first
    assert len(first[1]) == 52


def test_seed_customers_found_however_typed(settings):
    settings.DEBUG = True
    run()
    assert [c.name for c in find_by_phone("135 0123 45678")] == ["Mr Lu"]
    assert [c.name for c in find_by_phone("+86 135012345679")] == ["Miss Lu"]


def test_demo_customers_are_deterministic_and_varied():
    rows = demo_customers()
    assert rows == demo_customers()
    assert len(rows) == 50 and len({r[0] for r in rows}) == 50
    phones = [p for r in rows for p in r[4]]
    assert any(p.startswith("+86") for p in phones)
    assert any(p.startswith("0086") for p in phones)
    assert any(" " in p for p in phones) and any("-" in p for p in phones)
    keys = [normalize_phone(p) for p in phones]
    assert any(k.startswith("+861") and len(k) == 14 for k in keys)  # mobiles
    assert any(k.startswith(("+8610", "+8621", "+86755")) for k in keys)  # landlines


def test_resets_changed_demo_password(settings, client):
    settings.DEBUG = True
    run()
    edward = get_user_model().objects.get(username="edward")
    edward.set_password("changed-1")
    edward.save()
    run()
    assert login(client, "Edward", "1234")


def test_rerun_keeps_signed_in_users_signed_in(settings, client):
    """A restart runs bootstrap_demo again: a password that is already right is not re-hashed,
    so the session auth hash stays and the agent is not signed out."""
    settings.DEBUG = True
    run()
    assert login(client, "edward", "1234")
    assert client.get("/customers/").status_code == 200
    run()
    page = client.get("/customers/")
    assert page.status_code == 200, "signed out by bootstrap_demo"


def test_refuses_when_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        run()
    assert not get_user_model().objects.exists()
    assert not Customer.objects.exists()


def test_force_when_debug_off(settings):
    settings.DEBUG = False
    run("--force")
    assert get_user_model().objects.filter(username="edward").exists()


def test_seeds_the_sandbox_cloud_users_in_sandbox_mode(settings, sandbox):
    import requests

    settings.DEBUG = True
    out = run()
    assert "edward@crmdemo.onaliyun.com" in out
    assert "sissi@crmdemo.onaliyun.com" in out
    # The seeded cloud user can sign in on the sandbox's own page (over HTTP, as a person would).
    s = requests.Session()
    r = s.get(
        f"{sandbox.signin_url}/oauth2/v1/auth",
        params={
            "client_id": sandbox.client_id,
            "redirect_uri": sandbox.redirect_uri,
            "response_type": "code",
            "state": "s" * 16,
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    csrf = s.cookies["csrftoken"]
    r = s.post(
        r.url,
        data={
            "csrfmiddlewaretoken": csrf,
            "username": "edward@crmdemo.onaliyun.com",
            "password": "1234",
            "action": "signin",
        },
        headers={"Referer": r.url},
        timeout=10,
    )
    assert r.status_code == 200
    assert "Authorize " in r.text  # past the sign-in form: the consent screen
    assert 'role="alert"' not in r.text


def test_leaves_the_sandbox_alone_when_it_is_not_installed(settings):
    settings.DEBUG = True
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "aliyun_sandbox"]
    assert "onaliyun.com" not in run()
