"""20 concurrent softphone calls through the proxy on an expired token, against a provider that
rotates refresh tokens: exactly one refresh reaches the provider and every call succeeds. Runs on
SQLite (the embedded default: IMMEDIATE transactions serialize the refresh) and again on
PostgreSQL (row lock) in ``scripts/test.sh``'s second pass."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from aliyun_oauth.models import LinkedAccount

CALLERS = 20


def _race(agent) -> list:
    barrier = threading.Barrier(CALLERS)
    results: list = [None] * CALLERS

    def worker(i):
        try:
            barrier.wait()
            results[i] = agent.call("ListSkillGroupsOfUser", {"instanceId": "ccc-sandbox-instance"})
        except Exception as exc:  # reported by the assertions below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _expired_token_race(make_agent, sandbox, settings):
    settings.SANDBOX_ROTATE_REFRESH_TOKENS = True
    edward = make_agent("edward")
    LinkedAccount.objects.filter(user=edward.user).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    before = LinkedAccount.objects.get(user=edward.user).refresh_token

    results = _race(edward)

    statuses = [getattr(r, "status_code", r) for r in results]
    assert statuses == [200] * CALLERS, [getattr(r, "text", r) for r in results]
    assert all(r.json()["success"] is True for r in results)
    assert sandbox.tokens_issued() == 2  # the link, and exactly one refresh reached the provider
    row = LinkedAccount.objects.get(user=edward.user)
    assert row.refresh_token != before  # the rotated refresh_token was kept
    assert row.expires_at > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_concurrent_proxied_calls_on_an_expired_token_refresh_once(make_agent, sandbox, settings):
    _expired_token_race(make_agent, sandbox, settings)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_proxied_calls_on_an_expired_token_refresh_once_postgres(
    make_agent, sandbox, settings
):
    _expired_token_race(make_agent, sandbox, settings)
