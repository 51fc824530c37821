"""The console's caller context: a customer's notes and recent calls, in the agent's language."""

from datetime import UTC, datetime, timedelta

from customers.models import CallRecord
from customers.services import log_call

T0 = datetime(2026, 12, 1, 6, 5, tzinfo=UTC)  # 14:05 in Asia/Shanghai


def inbound(agent, customer, contact_id, at, notes=""):
    fields = {"contact_id": contact_id, "direction": "inbound", "caller": "135012345678"}
    fields.update(callee="8001", customer_id=customer.pk)
    log_call(agent, event="ringing", at=at, **fields)
    log_call(agent, event="answered", at=at + timedelta(seconds=3), **fields)
    record = log_call(agent, event="released", at=at + timedelta(seconds=63), **fields)
    CallRecord.objects.filter(pk=record.pk).update(notes=notes)


def test_context_has_notes_and_the_newest_calls_in_the_agents_language(agent, agent_client, mr_lu):
    mr_lu.notes = "VIP: prefers afternoon calls"
    mr_lu.save()
    for i in range(7):
        inbound(agent, mr_lu, f"c{i}", T0 + timedelta(minutes=i), notes=f"call {i}")

    en = agent_client.get(f"/customers/{mr_lu.pk}/context", HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 200
    body = en.json()
    assert body["name"] == "Mr Lu" and body["notes"] == "VIP: prefers afternoon calls"
    assert [c["notes"] for c in body["calls"]] == [f"call {i}" for i in (6, 5, 4, 3, 2)]
    newest = body["calls"][0]
    assert newest["when"] == "1 Dec 2026, 14:11"
    assert newest["duration"] == 60 and newest["agent"] == "edward"
    assert newest["number"] == "135012345678"  # not a valid number: shown as typed

    zh = agent_client.get(f"/customers/{mr_lu.pk}/context", HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert zh["calls"][0]["when"] == "2026-12-01 14:11"
    assert zh["calls"][0]["direction"] == "呼入"


def test_unknown_customer_and_access(client, agent_client, mr_lu):
    missing = agent_client.get("/customers/999999/context", HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 404 and missing.json()["error"]
    client.logout()
    assert client.get(f"/customers/{mr_lu.pk}/context").status_code == 401
