"""Reconciliation (customers.reconcile, manage.py reconcile_calls) against a stand-in for
Alibaba's CCC OpenAPI holding call detail records of chosen times (2.x and 1.x shapes; the agent
is linked through the sandbox's real OAuth flow): records the browser left open are closed with
CCC's end time, calls the CRM never heard of are created and matched to their customer, records
CCC does not know are kept and marked; a second run changes nothing; an interrupted run is
finished by the next; two runs at once create nothing twice (PostgreSQL). The same against the
sandbox's CCC, end to end in a browser: tests/workbench/test_reconcile_browser.py."""

import io
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from customers import reconcile
from customers.models import CallRecord
from customers.services import ensure_customer, log_call
from tests.ccc_proxy.conftest import fake_ccc, link_account  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)

MR_LU, STRANGER = "135012345678", "13900001111"
VERSIONS = [pytest.param("2x", marks=pytest.mark.ccc2x, id="2x"), pytest.param("1x", id="1x")]
EDWARD_2X, EDWARD_UID = "edward@ccc-sandbox", "2030000000000001"


@dataclass
class CccCall:
    """A finished call as the stand-in CCC reports it (times aware UTC, whole milliseconds)."""

    contact_id: str
    direction: str
    caller: str
    callee: str
    created_at: object
    answered_at: object
    released_at: object


def millis(when):
    return int(when.timestamp() * 1000)


class Ccc:
    """The stand-in's records and its answers to the list and detail actions (2.x and 1.x)."""

    def __init__(self, upstream):
        self.calls: list[CccCall] = []
        upstream.handler = self.answer

    def answer(self, params):
        action = params.get("Action")
        if action == "GetCallDetailRecord":
            found = [c for c in self.calls if c.contact_id == params.get("ContactId")]
            if not found:
                return 404, {"Code": "NotExists.ContactId", "Message": "no such contact"}
            return 200, {"Code": "OK", "Data": self.row_2x(found[0], detail=True)}
        size, number = int(params.get("PageSize", 10)), int(params.get("PageNumber", 1))
        page = self.calls[(number - 1) * size : number * size]
        if action == "ListRecentCallDetailRecords":
            rows = [self.row_2x(c) for c in page]
            data = {"List": rows, "PageNumber": number, "PageSize": size}
            return 200, {"Code": "OK", "Data": {**data, "TotalCount": len(self.calls)}}
        assert action == "ListRecentCallRecords", action
        records = {"List": {"CallDetailRecord": [self.row_1x(c) for c in page]}}
        records |= {"PageNumber": number, "PageSize": size, "TotalCount": len(self.calls)}
        return 200, {"Success": True, "Code": "OK", "CallDetailRecords": records}

    @staticmethod
    def row_2x(call, detail=False):
        row = {
            "ContactId": call.contact_id,
            "ContactType": call.direction.upper(),
            "CallingNumber": call.caller,
            "CalledNumber": call.callee,
            "StartTime": millis(call.created_at),
            "AgentIds": EDWARD_2X,
            "SkillGroupIds": "skg-support",
        }
        if detail:  # only the detail record has these (the list's model has no such field)
            row |= {
                "EstablishedTime": millis(call.answered_at) if call.answered_at else None,
                "ReleaseTime": millis(call.released_at),
                "ReleaseInitiator": "customer",
                "ReleaseReason": "hang up",
            }
        return row

    @staticmethod
    def row_1x(call):
        ring = int(((call.answered_at or call.released_at) - call.created_at).total_seconds())
        talk = int((call.released_at - call.answered_at).total_seconds()) if call.answered_at else 0
        return {
            "ContactId": call.contact_id,
            "ContactType": call.direction.capitalize(),
            "ContactDisposition": "Success" if call.answered_at else "NoAnswer",
            "CallingNumber": call.caller,
            "CalledNumber": call.callee,
            "StartTime": millis(call.created_at),
            "Duration": talk,
            "Agents": {
                "CallDetailAgent": [
                    {
                        "AgentId": EDWARD_UID,
                        "RingTime": ring,
                        "TalkTime": talk,
                        "SkillGroupName": "skg-support",
                    }
                ]
            },
        }

    def add(self, version, caller=MR_LU, ago=600, talk=30, ring=5):
        """A finished inbound call, started ``ago`` seconds ago (``talk`` 0: missed)."""
        start = timezone.now().replace(microsecond=0) - timedelta(seconds=ago)
        answered = start + timedelta(seconds=ring) if talk else None
        digits = str(10**15 + secrets.randbelow(9 * 10**15))
        call = CccCall(
            contact_id=f"job-{digits}" if version == "2x" else digits,
            direction="inbound",
            caller=caller,
            callee="4001234567",
            created_at=start,
            answered_at=answered,
            released_at=(answered or start) + timedelta(seconds=talk or ring),
        )
        self.calls.insert(0, call)  # newest first, as CCC lists them
        return call


@pytest.fixture
def edward(sandbox, cloud_users, settings, monkeypatch):
    """The CRM user edward, linked to the sandbox cloud user edward."""
    settings.ALIYUN_OAUTH_ALLOW_HTTP = True
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("ALIYUN_ACCESS_KEY_SECRET", raising=False)
    cache.clear()
    user = get_user_model().objects.create_user("edward", password="edward-pw-2026")
    link_account(sandbox, user, *cloud_users["edward"])
    return user


@pytest.fixture
def ccc(edward, fake_ccc):  # noqa: F811 - the fixture imported above
    """Edward's calls at the stand-in CCC (the token still comes from the sandbox)."""
    return Ccc(fake_ccc)


def run(**options):
    out = io.StringIO()
    call_command("reconcile_calls", stdout=out, **options)
    return out.getvalue()


def rows():
    return list(CallRecord.objects.order_by("contact_id").values())


@pytest.mark.parametrize("version", VERSIONS)
def test_reconcile_closes_open_records_creates_missing_ones_and_keeps_unknown(edward, ccc, version):
    mr_lu = ensure_customer("Mr Lu", [MR_LU])[0]
    # The workbench was closed mid-call: the CRM saw it ring and be answered, never the end.
    closed = ccc.add(version, talk=42)
    key = closed.contact_id
    for event, at in (("ringing", closed.created_at), ("answered", closed.answered_at)):
        log_call(edward, event=event, contact_id=key, direction="inbound", caller=MR_LU, at=at)
    # Rung while the CRM tab was closed: the CRM never heard of it.
    unseen = ccc.add(version, ago=300, talk=0)
    # A record CCC does not know (e.g. a forged or mistyped contact id).
    ghost = log_call(
        edward,
        event="ringing",
        contact_id="job-404",
        direction="inbound",
        caller=STRANGER,
        at=timezone.now() - timedelta(minutes=20),
    )

    out = run()
    assert "edward: 2 listed, 1 created, 1 updated" in out and "1 unknown to CCC" in out
    record = CallRecord.objects.get(contact_id=key)
    assert record.ended_at == closed.released_at.astimezone(UTC)  # CCC's end time
    assert record.answered_at == closed.answered_at and record.duration == 42
    assert record.outcome == CallRecord.COMPLETED and record.ccc_state == CallRecord.CONFIRMED
    created = CallRecord.objects.get(contact_id=unseen.contact_id)
    assert created.customer == mr_lu and created.direction == "inbound"
    assert created.outcome == CallRecord.MISSED and created.ccc_state == CallRecord.CONFIRMED
    assert created.started_at == unseen.created_at and created.ended_at == unseen.released_at
    if version == "2x":
        assert record.released_by == "customer" and record.release_reason == "hang up"
    assert record.skill_group == "skg-support"
    ghost.refresh_from_db()
    assert ghost.ccc_state == CallRecord.NOT_IN_CCC and ghost.ended_at is None  # kept

    # Late browser events change no time CCC confirmed.
    late = closed.released_at + timedelta(seconds=5)
    log_call(edward, event="released", contact_id=key, direction="inbound", at=late)
    record.refresh_from_db()
    assert record.ended_at == closed.released_at.astimezone(UTC) and record.duration == 42

    # A second run changes nothing and reads only the list (no detail record again).
    before = rows()
    out = run()
    assert "0 created, 0 updated, 2 unchanged" in out and "0 unknown" in out
    assert "1 upstream calls" in out
    assert rows() == before


@pytest.mark.ccc2x
def test_an_interrupted_run_loses_nothing_and_the_next_finishes(edward, ccc, monkeypatch):
    calls = [ccc.add("2x", ago=900 - 60 * i, caller=f"1390000{i:04d}") for i in range(4)]
    real_settle, settled = reconcile.settle, []

    def settle_then_die(*args):
        if len(settled) == 2:
            raise KeyboardInterrupt  # e.g. the machine stops mid-run
        settled.append(real_settle(*args))
        return settled[-1]

    monkeypatch.setattr(reconcile, "settle", settle_then_die)
    with pytest.raises(KeyboardInterrupt):
        run()
    assert CallRecord.objects.count() == 2  # what was settled is kept, whole
    monkeypatch.setattr(reconcile, "settle", real_settle)
    assert "2 created, 0 updated, 2 unchanged" in run()
    assert sorted(CallRecord.objects.values_list("contact_id", flat=True)) == sorted(
        c.contact_id for c in calls
    )


@pytest.mark.ccc2x
def test_rows_with_missing_fields_unknown_directions_or_another_agent_are_skipped(edward):
    agent = reconcile.linked_agents()[0]
    good = {"ContactId": "job-1", "ContactType": "INBOUND", "AgentIds": "edward@ccc-sandbox"}
    assert reconcile.fact_2x(good, agent).direction == "inbound"
    for bad in (
        {**good, "ContactId": ""},
        {**good, "ContactType": "SIDEWAYS"},
        {k: v for k, v in good.items() if k != "ContactType"},
        {**good, "AgentIds": "sissi@ccc-sandbox"},
    ):
        assert reconcile.fact_2x(bad, agent) is None
    odd = reconcile.fact_2x(
        {**good, "StartTime": "soon", "ReleaseTime": True, "CallingNumber": ["x"]}, agent
    )
    assert odd.started is None and odd.ended is None and odd.caller == ""
    assert reconcile.settle(edward, odd, timezone.now()) == "live"  # no end: nothing written
    assert not CallRecord.objects.exists()


@pytest.mark.ccc2x
def test_an_agent_whose_link_is_gone_is_skipped_and_named(edward, sandbox, cloud_users):
    """Against the sandbox's own CCC: Sissi's revoked grant makes it refuse her token."""
    from aliyun_oauth import client
    from aliyun_oauth.models import LinkedAccount

    sissi = get_user_model().objects.create_user("sissi", password="sissi-pw-2026")
    link_account(sandbox, sissi, *cloud_users["sissi"])
    # Sissi's grant is revoked at the provider (e.g. in her cloud account) while the CRM still
    # holds her tokens.
    row = LinkedAccount.objects.get(user=sissi)
    client.revoke(client.provider_config(), row.refresh_token, "refresh_token")
    out = run()
    assert "edward: 0 listed, 0 created" in out
    assert "sissi: skipped (" in out and "1 agents skipped" in out


@pytest.mark.postgres
@pytest.mark.ccc2x
def test_two_runs_at_once_create_each_call_once(edward, ccc):
    calls = [ccc.add("2x", ago=1200 - 30 * i, caller=f"1390000{i:04d}") for i in range(12)]
    outputs, errors = [], []

    def worker():
        try:
            outputs.append(run())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert CallRecord.objects.count() == len(calls)
    created = sum(int(o.split(" created")[0].rsplit(", ", 1)[-1]) for o in outputs)
    assert created == len(calls)  # each call created by exactly one of the runs
    assert "0 created, 0 updated" in run()


def test_1x_rows_with_odd_shapes_are_skipped_or_read_without_breaking(edward):
    agent = reconcile.linked_agents()[0]
    now = timezone.now()
    start = int((now - timedelta(minutes=10)).timestamp() * 1000)
    good = {"ContactId": "c1", "ContactType": "Inbound", "StartTime": start, "Duration": 7}
    assert reconcile.fact_1x(good, agent, now).ended is not None
    for odd in ("text", ["x"], {"CallDetailAgent": "x"}, {"CallDetailAgent": [1, None]}):
        fact = reconcile.fact_1x({**good, "Agents": odd}, agent, now)
        assert fact is not None and fact.answered is None  # no Success: not answered
    other = {"CallDetailAgent": [{"AgentId": "someone-else", "TalkTime": 5}]}
    assert reconcile.fact_1x({**good, "Agents": other}, agent, now) is None
    assert reconcile.fact_1x({**good, "ContactType": None}, agent, now) is None
    assert reconcile.fact_1x({**good, "StartTime": "x"}, agent, now) is None
