"""Soak and load over real HTTP against the live server, on the default embedded database
(SQLite: the one that used to lock; PostgreSQL's row locks are covered by the *_postgres tests).

- Soak: two agents work the README journey at the HTTP level, as the workbench and its softphone
  do: sign the softphone in through the CCC proxy, go ready, 50 click-to-dials each and 20
  inbound calls rung from the call simulator, every call logged (ringing/dialing, answered,
  released). Zero 5xx, and every call reaches both the sandbox's call records and the CRM's call
  log.
- Load: 20 agents post call-log events concurrently. Zero 5xx, zero lost records.
"""

import threading
from collections import Counter

import pytest
import requests
from django.contrib.auth.models import Permission

from customers.models import CallRecord

OUTBOUND_PER_AGENT = 50
INBOUND = 20  # in all, rung alternately to the two agents
LOAD_AGENTS = 20
LOAD_CALLS = 5  # per agent, 3 events each


class Journey:
    """One agent's browser: the CRM session (proxy, call log) and the softphone's agent server."""

    def __init__(self, agent, sandbox, statuses: Counter):
        self.agent, self.sandbox, self.statuses = agent, sandbox, statuses
        self.login = None

    def _seen(self, response):
        self.statuses[response.status_code] += 1
        return response

    def proxy(self, action, request):
        return self._seen(self.agent.call(action, request))

    def agent_server(self, command, **form):
        form.update(self.login)
        url = f"{self.sandbox.base_url}/agent/{command}"
        return self._seen(requests.post(url, data=form, timeout=20))

    def log(self, event, call, direction):
        body = {"event": event, "contactId": call["contactId"], "direction": direction}
        body.update(caller=call["caller"], callee=call["callee"], connid=call["connid"])
        return self._seen(
            self.agent.http.post(
                f"{self.agent.crm_url}/customers/calls/log",
                json=body,
                headers={"X-CSRFToken": self.agent.csrf_token},
                timeout=20,
            )
        )

    def sign_in(self):
        info = self.proxy("RequestLoginInfo", {"instanceId": "ccc-sandbox-instance"}).json()
        self.login = {
            "signData": info["loginInfo"]["signData"],
            "signature": info["loginInfo"]["signature"],
        }
        self.agent_server("state", status="READY")

    def outbound(self, callee):
        call = self.agent_server("call", callee=callee).json()["call"]
        self.log("dialing", call, "outbound")
        # SANDBOX_ANSWER_DELAY is 0: the remote party has answered by the next poll.
        polled = self.agent_server("poll", connid=call["connid"]).json()["call"]
        assert polled["state"] == "talking", polled
        self.log("answered", polled, "outbound")
        released = self.agent_server("hangup", connid=call["connid"]).json()["call"]
        self.log("released", released, "outbound")

    def inbound(self, simulator, caller):
        ring = simulator.post(
            f"{self.sandbox.base_url}/simulator/ring",
            data={
                "csrfmiddlewaretoken": simulator.cookies["csrftoken"],
                "agent": self.agent.user.username,
                "caller": caller,
            },
            headers={"Referer": f"{self.sandbox.base_url}/simulator/"},
            allow_redirects=False,
            timeout=20,
        )
        self._seen(ring)
        call = self.agent_server("poll").json()["call"]
        assert call and call["state"] == "ringing", call
        self.log("ringing", call, "inbound")
        answered = self.agent_server("answer", connid=call["connid"]).json()["call"]
        self.log("answered", answered, "inbound")
        released = self.agent_server("hangup", connid=call["connid"]).json()["call"]
        self.log("released", released, "inbound")


def _can_log_calls(agent):
    agent.user.user_permissions.add(*Permission.objects.filter(codename="view_customer"))


def _run(workers):
    errors = []

    def guard(work):
        try:
            work()
        except Exception as exc:  # reported below with the rest
            errors.append(repr(exc))

    threads = [threading.Thread(target=guard, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    return errors


def _soak(make_agent, sandbox, settings, crm_sign_in):
    settings.SANDBOX_ANSWER_DELAY = 0
    statuses: Counter = Counter()
    journeys = []
    for name in ("edward", "sissi"):
        agent = make_agent(name)
        _can_log_calls(agent)
        journeys.append(Journey(agent, sandbox, statuses))

    def work(index, journey):
        def run():
            simulator = crm_sign_in.session()
            simulator.get(f"{sandbox.base_url}/simulator/", timeout=20)  # its CSRF cookie
            journey.sign_in()
            for n in range(OUTBOUND_PER_AGENT):
                journey.outbound(f"1380013{index}{n:03d}")
            for n in range(INBOUND // 2):
                journey.inbound(simulator, f"1390013{index}{n:03d}")

        return run

    errors = _run([work(i, j) for i, j in enumerate(journeys)])

    assert errors == []
    assert not [s for s in statuses if s >= 500], statuses
    calls_per_agent = OUTBOUND_PER_AGENT + INBOUND // 2
    for journey in journeys:
        cdrs = journey.proxy("ListRecentCallRecords", {"pageNumber": 1, "pageSize": 1}).json()
        assert cdrs["callDetailRecords"]["totalCount"] == calls_per_agent
        records = CallRecord.objects.filter(agent=journey.agent.user)
        assert records.count() == calls_per_agent  # no lost call-log record
        assert not records.filter(ended_at__isnull=True).exists()
        assert not records.filter(answered_at__isnull=True).exists()


def _load(make_agent, sandbox):
    statuses: Counter = Counter()
    agents = []
    for n in range(LOAD_AGENTS):
        agent = make_agent(f"agent{n:02d}", linked=False)
        _can_log_calls(agent)
        agents.append(Journey(agent, sandbox, statuses))

    def work(index, journey):
        def run():
            for n in range(LOAD_CALLS):
                call = {"contactId": f"load-{index}-{n}", "caller": f"13900{index:02d}{n:04d}"}
                call.update(callee="", connid=f"c{index}x{n}")
                for event in ("ringing", "answered", "released"):
                    response = journey.log(event, call, "inbound")
                    assert response.status_code == 200, response.text

        return run

    errors = _run([work(i, j) for i, j in enumerate(agents)])

    assert errors == []
    assert not [s for s in statuses if s >= 500], statuses
    assert CallRecord.objects.count() == LOAD_AGENTS * LOAD_CALLS
    assert not CallRecord.objects.filter(ended_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_soak_two_agents_click_to_dial_and_inbound(make_agent, sandbox, settings, crm_sign_in):
    _soak(make_agent, sandbox, settings, crm_sign_in)


@pytest.mark.django_db(transaction=True)
def test_call_log_load_from_twenty_concurrent_agents(make_agent, sandbox):
    _load(make_agent, sandbox)
