"""N concurrent get_valid_token calls cause exactly one upstream refresh (row lock, PostgreSQL)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from aliyun_oauth import services
from aliyun_oauth.models import LinkedAccount
from tests.aliyun_oauth.conftest import link

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture(autouse=True)
def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL: run with DATABASE_URL=postgres://... -m postgres")


def _race(call) -> list:
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def worker(i):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # reported by the assertions below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_callers_near_expiry_refresh_once(oauth_sandbox, edward, edward_client):
    link(edward_client)
    LinkedAccount.objects.filter(user=edward).update(
        expires_at=timezone.now() + timedelta(seconds=5),
        issued_at=timezone.now() - timedelta(seconds=3595),
    )
    assert oauth_sandbox.tokens_issued() == 1

    results = _race(lambda: services.get_valid_token(edward))

    assert all(isinstance(r, services.ValidToken) for r in results), results
    assert len({r.access_token for r in results}) == 1
    assert oauth_sandbox.tokens_issued() == 2  # exactly one upstream refresh
    assert results[0].access_token == LinkedAccount.objects.get(user=edward).access_token


def test_concurrent_callers_with_the_same_rejected_token_refresh_once(
    oauth_sandbox, edward, edward_client
):
    link(edward_client)
    rejected = services.get_valid_token(edward).access_token

    results = _race(lambda: services.get_valid_token(edward, rejected_token=rejected))

    assert all(isinstance(r, services.ValidToken) for r in results), results
    assert {r.access_token for r in results} == {
        LinkedAccount.objects.get(user=edward).access_token
    }
    assert rejected not in {r.access_token for r in results}
    assert oauth_sandbox.tokens_issued() == 2
