"""Identical callbacks at once (auto-submit plus a click on Continue, or parallel re-posts):
exactly one exchanges the authorization code; the state is consumed atomically on PostgreSQL."""

import threading

import pytest
import requests
from django.conf import settings
from django.db import connection

from aliyun_oauth import client as oauth_client
from aliyun_oauth import services
from aliyun_oauth.models import LinkedAccount
from tests.aliyun_oauth.conftest import sandbox_approve, start_link

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 4


@pytest.fixture(autouse=True)
def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency needs PostgreSQL: run with DATABASE_URL=postgres://... -m postgres"
        )


def test_parallel_identical_callbacks_exchange_the_code_once(oauth_sandbox, edward, edward_client):
    fields = sandbox_approve(start_link(edward_client))
    cookies = {
        settings.SESSION_COOKIE_NAME: edward_client.cookies[settings.SESSION_COOKIE_NAME].value
    }
    url = oauth_sandbox.crm_url + "/aliyun/auth/callback?resubmit=1"
    barrier = threading.Barrier(THREADS)
    answers: list = [None] * THREADS

    def post(i):
        barrier.wait()
        answers[i] = requests.post(
            url, data=fields, cookies=cookies, allow_redirects=False, timeout=30
        )

    threads = [threading.Thread(target=post, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [302] + [400] * (THREADS - 1), [a.text[:300] for a in answers]
    for refused in (a for a in answers if a.status_code == 400):
        assert "already used" in refused.text
        assert "invalid_grant" not in refused.text  # never reached the token endpoint
    # The code was exchanged once and never replayed (a replay would revoke what it gave), and
    # nothing was revoked at the provider.
    assert oauth_sandbox.answers("/oauth/v1/token") == [200]
    assert oauth_sandbox.answers("/oauth/v1/revoke") == []
    # The stored link works.
    stored = LinkedAccount.objects.get(user=edward).access_token
    info = oauth_client.userinfo(oauth_client.provider_config(), stored)
    assert info["upn"] == "edward@crmdemo.onaliyun.com"
    assert services.get_valid_token(edward).access_token == stored
