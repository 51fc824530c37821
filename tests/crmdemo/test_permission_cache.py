"""Permissions read from Redis (crmdemo.permission_cache): no queries once cached, and a revoked
permission stops working on the next request."""

import os
import secrets

import pytest
import redis
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")


@pytest.fixture
def redis_cache(settings):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    settings.CACHES = {
        "default": {
            "BACKEND": "crmdemo.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "test-perms-" + secrets.token_hex(6),
        }
    }
    yield
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=settings.CACHES["default"]["KEY_PREFIX"] + ":*"):
        client.delete(key)


def _fresh(user):
    """The user as the next request loads it (no per-request permission cache)."""
    return type(user).objects.get(pk=user.pk)


def test_permissions_come_from_the_cache_and_follow_changes(redis_cache, django_user_model):
    agents = Group.objects.create(name="Agents-test")
    agents.permissions.add(Permission.objects.get(codename="view_customer"))
    user = django_user_model.objects.create_user("perm-agent", password="x")
    user.groups.add(agents)

    assert _fresh(user).has_perm("customers.view_customer")
    with CaptureQueriesContext(connection) as queries:
        fresh = _fresh(user)  # one query: the user row
        assert fresh.has_perm("customers.view_customer")
    assert len(queries) == 1, [q["sql"] for q in queries]

    agents.permissions.remove(Permission.objects.get(codename="view_customer"))
    assert not _fresh(user).has_perm("customers.view_customer")
    agents.permissions.add(Permission.objects.get(codename="view_customer"))
    assert _fresh(user).has_perm("customers.view_customer")
    user.groups.remove(agents)
    assert not _fresh(user).has_perm("customers.view_customer")
    user.groups.add(agents)
    assert _fresh(user).has_perm("customers.view_customer")
    user.is_active = False
    user.save()
    assert not _fresh(user).has_perm("customers.view_customer")


def test_two_users_never_share_a_cached_set(redis_cache, django_user_model):
    group = Group.objects.create(name="Supervisors-test")
    group.permissions.add(Permission.objects.get(codename="change_customer"))
    boss = django_user_model.objects.create_user("perm-boss", password="x")
    boss.groups.add(group)
    agent = django_user_model.objects.create_user("perm-agent2", password="x")
    assert _fresh(boss).has_perm("customers.change_customer")
    assert not _fresh(agent).has_perm("customers.change_customer")


def test_without_a_shared_cache_the_database_answers(django_user_model):
    group = Group.objects.create(name="Agents-test2")
    group.permissions.add(Permission.objects.get(codename="view_customer"))
    user = django_user_model.objects.create_user("perm-agent3", password="x")
    user.groups.add(group)
    assert _fresh(user).has_perm("customers.view_customer")
    group.permissions.clear()
    assert not _fresh(user).has_perm("customers.view_customer")
