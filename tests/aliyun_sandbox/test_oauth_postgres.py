"""Concurrent use of one authorization code, on PostgreSQL (row locks decide the winner)."""

import threading

import pytest
import requests


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_exchanges_of_one_code_issue_tokens_once(sandbox, get_code):
    code, _, verifier = get_code()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": sandbox.redirect_uri,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "code_verifier": verifier,
    }
    racers = 4
    barrier = threading.Barrier(racers)
    answers = []

    def exchange():
        barrier.wait()
        r = requests.post(f"{sandbox.oauth_url}/v1/token", data=data, timeout=20)
        answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=exchange) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [400] * (racers - 1), answers
    assert all(body["error"] == "invalid_grant" for status, body in answers if status == 400)
    # The losers replayed the code, so what the winner got is revoked (RFC 6749 §4.1.2).
    (winner,) = [body for status, body in answers if status == 200]
    r = requests.get(
        f"{sandbox.oauth_url}/v1/userinfo",
        headers={"Authorization": f"Bearer {winner['access_token']}"},
        timeout=10,
    )
    assert r.status_code == 401
