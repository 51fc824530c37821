"""Races that only a real database can show: nonce replay, double hang-up, double ringing."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from aliyun_sandbox.models import AgentState, Call
from aliyun_sandbox.telephony import simulator
from tests.aliyun_sandbox.ccc_support import common_params, make_user, raw_call, sts_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(n, fn):
    """Run ``fn(i)`` in ``n`` threads released at once; return results (exceptions included)."""
    barrier = threading.Barrier(n)

    def worker(i):
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - the race's loser is part of the result
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(worker, range(n)))


def test_the_same_nonce_sent_concurrently_succeeds_once(sandbox, monkeypatch):
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_ID", raising=False)
    creds = sts_for(make_user("edward"))
    params = common_params(creds, "ListConfig")
    responses = run_together(
        6, lambda i: raw_call(sandbox, params, secret=creds["AccessKeySecret"])
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 5
    assert {r.json()["Code"] for r in responses if r.status_code == 400} == {"SignatureNonceUsed"}


def test_a_call_is_released_once():
    user = make_user("edward")
    simulator.set_agent_status(user, AgentState.READY, ["skg-sales"])
    call = simulator.ring_agent(user, "13501234567")
    results = run_together(4, lambda i: simulator.hang_up(call, by="agent" if i % 2 else "remote"))
    winners = [r for r in results if isinstance(r, Call)]
    losers = [r for r in results if isinstance(r, simulator.SimulatorError)]
    assert len(winners) == 1 and len(losers) == 3
    assert {e.code for e in losers} == {"CallStateError"}


def test_an_agent_is_rung_once():
    user = make_user("edward")
    simulator.set_agent_status(user, AgentState.READY, ["skg-sales"])
    results = run_together(4, lambda i: simulator.ring_agent(user, f"1350123456{i}"))
    assert all(isinstance(r, Call) for r in results)
    states = sorted(Call.objects.values_list("state", flat=True))
    assert states == [Call.QUEUED] * 3 + [Call.RINGING]  # one rings, the others wait
