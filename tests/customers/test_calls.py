"""The call log: log_call's merge rules, the JSON endpoint, the customer page, admin, and the
new-customer page the screen pop opens for unknown callers."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from customers.models import CallRecord, Customer
from customers.phones import dial_string
from customers.services import InvalidCallEvent, ensure_customer, log_call

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


def inbound(agent, event, at, **extra):
    fields = {"contact_id": "c-1", "direction": "inbound", "caller": "135 0123 45678"}
    return log_call(agent, event=event, at=at, **{**fields, **extra})


def test_inbound_call_merges_into_one_record(agent, mr_lu):
    inbound(agent, "ringing", T0, callee="02150001234", connid="conn-1")
    inbound(agent, "answered", T0 + timedelta(seconds=3))
    record = inbound(agent, "released", T0 + timedelta(seconds=45))
    assert CallRecord.objects.count() == 1
    assert record.customer == mr_lu  # found by the caller number, however written
    assert (record.started_at, record.answered_at) == (T0, T0 + timedelta(seconds=3))
    assert record.duration == 42 and record.outcome == CallRecord.COMPLETED
    assert (record.callee, record.connid) == ("02150001234", "conn-1")
    record = inbound(agent, "notes", None, notes="  Wants a callback on Monday  ")
    assert record.notes == "Wants a callback on Monday" and record.duration == 42


def test_out_of_order_and_repeated_events_give_the_same_record(agent, mr_lu):
    events = [
        ("released", T0 + timedelta(seconds=30)),
        ("answered", T0 + timedelta(seconds=5)),
        ("ringing", T0),
        ("answered", T0 + timedelta(seconds=5)),
        ("released", T0 + timedelta(seconds=30)),
    ]
    for event, at in events:
        inbound(agent, event, at.isoformat())
    record = CallRecord.objects.get()
    assert record.started_at == T0 and record.duration == 25
    assert record.outcome == CallRecord.COMPLETED


def test_outcomes(agent):
    assert inbound(agent, "ringing", T0).outcome == CallRecord.RINGING
    assert inbound(agent, "released", T0).outcome == CallRecord.MISSED
    out = {"contact_id": "c-2", "direction": "outbound", "callee": "13900001111"}
    assert log_call(agent, event="dialing", at=T0, **out).outcome == CallRecord.RINGING
    assert log_call(agent, event="answered", at=T0, **out).outcome == CallRecord.TALKING
    assert log_call(agent, event="released", **out).outcome == CallRecord.COMPLETED
    out["contact_id"] = "c-3"
    log_call(agent, event="dialing", **out)
    assert log_call(agent, event="released", **out).outcome == CallRecord.NO_ANSWER


def test_customer_choice_and_ambiguous_numbers(agent, mr_lu):
    twin = ensure_customer("Mr Lu's brother", ["+86 135012345678"])[0]
    record = inbound(agent, "ringing", T0)
    assert record.customer is None  # two customers share the number: nobody is guessed
    record = inbound(agent, "customer", None, customer_id=twin.pk)
    assert record.customer == twin
    assert inbound(agent, "released", None).customer == twin  # the choice sticks


def test_the_same_contact_id_of_two_agents_is_two_calls(agent, supervisor):
    inbound(agent, "ringing", T0)
    inbound(supervisor, "ringing", T0)
    assert CallRecord.objects.count() == 2


@pytest.mark.parametrize(
    "change",
    [
        {"event": "hold"},
        {"event": None},
        {"direction": "sideways"},
        {"contact_id": ""},
        {"contact_id": "x" * 65},
        {"contact_id": ["c-1"]},
        {"caller": "1\x00"},
        {"at": "yesterday"},
        {"at": "2026-13-01T00:00:00Z"},
        {"at": "2026-01-01T00:00:00"},  # no offset
        {"at": (T0 - timedelta(days=3)).isoformat()},
        {"event": "customer"},
        {"event": "customer", "customer_id": "1"},
        {"event": "customer", "customer_id": 999999},
        {"event": "notes", "notes": "n" * 5001},
    ],
)
def test_bad_events_are_refused_and_write_nothing(agent, change):
    fields = {"event": "ringing", "contact_id": "c-1", "direction": "inbound", **change}
    with pytest.raises(InvalidCallEvent):
        log_call(agent, **fields)
    assert CallRecord.objects.count() == 0


S = timedelta(seconds=1)


@pytest.mark.parametrize(
    "events",
    [
        [("ringing", 10), ("answered", 5)],  # answered before it rang
        [("answered", 5), ("ringing", 10)],  # the same, arriving the other way round
        [("dialing", 10), ("released", 5)],  # ended before it started
        [("ringing", 0), ("released", 20), ("answered", 30)],  # answered after it ended
        [("answered", 30), ("released", 20)],
        [("ringing", -23 * 3600), ("released", 3601)],  # 24 h + 1 s from start to end
    ],
)
def test_impossible_times_are_refused_and_change_nothing(agent, events):
    *before, (last, offset) = events
    for event, at in before:
        inbound(agent, event, T0 + at * S)
    kept = list(CallRecord.objects.values())
    with pytest.raises(InvalidCallEvent):
        inbound(agent, last, T0 + offset * S)
    assert list(CallRecord.objects.values()) == kept


@pytest.mark.parametrize(
    "order", [("released", "answered", "ringing"), ("answered", "released", "ringing")]
)
def test_consistent_events_arriving_in_any_order_still_merge(agent, order):
    times = {"ringing": T0, "answered": T0 + 5 * S, "released": T0 + 30 * S}
    for event in order:
        record = inbound(agent, event, times[event])
    assert (record.started_at, record.answered_at, record.ended_at) == tuple(times.values())
    assert record.duration == 25 and record.outcome == CallRecord.COMPLETED


def test_an_over_long_number_is_logged_shortened_and_marked(agent):
    number = "1" * 101
    record = inbound(agent, "ringing", T0, caller=number)
    assert record.caller == "1" * 63 + "\u2026" and len(record.caller) == 64
    record = inbound(agent, "released", T0 + 3 * S, caller=number)
    assert record.outcome == CallRecord.MISSED and CallRecord.objects.count() == 1


# --- the endpoint ------------------------------------------------------------------------------

URL = "/customers/calls/log"


def post(client, body, **kwargs):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data, content_type="application/json", **kwargs)


def test_endpoint_records_and_answers_the_merged_call(agent_client, mr_lu):
    body = {"event": "ringing", "contactId": "c-9", "direction": "inbound"}
    body |= {"caller": "135012345678", "callee": "02150001234", "connid": "k"}
    body["at"] = T0.isoformat()
    response = post(agent_client, body)
    assert response.status_code == 200, response.content
    call = response.json()["call"]
    assert call["customerId"] == mr_lu.pk and call["outcome"] == "ringing"
    assert call["startedAt"].endswith("Z") and call["duration"] == 0
    again = post(agent_client, {**body, "event": "released"}).json()["call"]
    assert again["id"] == call["id"] and again["outcome"] == "missed"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        (b"\xff\xfe", 400),
        ("[1, 2]", 400),
        ({"event": "ringing", "direction": "inbound"}, 400),
        ({"event": "ringing", "contactId": "c", "direction": "x"}, 400),
    ],
)
def test_endpoint_bad_bodies_are_json_400(agent_client, body, status):
    response = post(agent_client, body)
    assert response.status_code == status
    assert response.json()["error"]
    assert CallRecord.objects.count() == 0


def test_endpoint_refuses_an_oversized_body_as_json(agent_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"event": "notes", "contactId": "c", "direction": "inbound", "notes": "n" * 2000}
    response = post(agent_client, body)
    assert response.status_code == 413 and response.json()["error"]
    assert CallRecord.objects.count() == 0


def test_endpoint_needs_login_permission_post_and_csrf(client, agent, django_user_model):
    body = {"event": "ringing", "contactId": "c", "direction": "inbound"}
    assert post(client, body).status_code == 401
    client.force_login(django_user_model.objects.create_user("nobody", password="x-pw-123"))
    assert post(client, body).status_code == 403
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 405 and response["Allow"] == "POST"
    strict = type(client)(enforce_csrf_checks=True)
    strict.force_login(agent)
    assert post(strict, body).status_code == 403
    assert CallRecord.objects.count() == 0


# --- pages -------------------------------------------------------------------------------------


def test_customer_page_shows_the_calls_with_duration_and_notes(agent_client, agent, mr_lu):
    inbound(agent, "ringing", T0)
    inbound(agent, "answered", T0 + timedelta(seconds=2))
    inbound(agent, "released", T0 + timedelta(seconds=64))
    inbound(agent, "notes", None, notes="Asked for <b>the invoice</b>")
    html = agent_client.get(reverse("customers:detail", args=[mr_lu.pk])).content.decode()
    assert 'data-contact-id="c-1"' in html
    assert '<td class="duration">62 s</td>' in html
    assert "Asked for &lt;b&gt;the invoice&lt;/b&gt;" in html
    assert "completed" in html


def test_admin_shows_calls_read_only(supervisor_client, agent, mr_lu):
    inbound(agent, "ringing", T0)
    inbound(agent, "notes", None, notes="Left a message")
    url = reverse("admin:customers_customer_change", args=[mr_lu.pk])
    html = supervisor_client.get(url).content.decode()
    assert "Left a message" in html
    assert 'name="calls-0-notes"' not in html  # shown, not editable


def test_admin_call_times_are_labelled_as_shown_local_not_utc(supervisor_client, agent, mr_lu):
    # Stored UTC, shown in TIME_ZONE by Django: a "(UTC)" label would be wrong.
    started = datetime(2026, 3, 1, 2, 0, 0, tzinfo=UTC)
    inbound(agent, "ringing", T0)
    CallRecord.objects.update(started_at=started)
    url = reverse("admin:customers_customer_change", args=[mr_lu.pk])
    html = supervisor_client.get(url).content.decode()
    assert "(UTC)" not in html
    local = timezone.localtime(started)
    assert local.hour != started.hour  # TIME_ZONE is not UTC in this test
    assert date_format(local, "DATETIME_FORMAT") in html
    assert CallRecord.objects.get().started_at == started  # still stored UTC


def test_new_customer_form_is_prefilled_and_takes_over_the_call(agent_client, agent):
    inbound(agent, "ringing", T0, caller="13900001111")
    url = reverse("customers:create")
    html = agent_client.get(url, {"phone": "13900001111", "call": "c-1"}).content.decode()
    assert 'value="13900001111"' in html and 'value="c-1"' in html
    response = agent_client.post(
        url, {"name": "Ms New", "phone": "13900001111", "company": "", "call": "c-1"}
    )
    customer = Customer.objects.get(name="Ms New")
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    assert CallRecord.objects.get().customer == customer


def test_new_customer_form_errors_keep_the_input_and_save_nothing(agent_client):
    response = agent_client.post(
        reverse("customers:create"), {"name": "Ms New", "phone": "call me", "phone2": ""}
    )
    assert response.status_code == 400
    assert "is not a phone number" in response.content.decode()
    assert 'value="Ms New"' in response.content.decode()
    assert not Customer.objects.exists()


def test_new_customer_needs_the_add_permission(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer", password="x-pw-123"))
    assert client.get(reverse("customers:create")).status_code == 403


@pytest.mark.parametrize(
    ("number", "dial"),
    [
        ("+86135012345678", "135012345678"),  # the seed's 12 digits, as typed
        ("+86 135-0123-4567", "13501234567"),
        ("0086 10 6552 9988", "01065529988"),  # trunk 0 back for a landline
        ("+1 415 555 0100", "0014155550100"),  # international from China
    ],
)
def test_dial_string_is_what_an_agent_in_china_would_dial(number, dial):
    assert dial_string(number) == dial


def test_agent_edits_own_call_notes_on_the_customer_page(agent_client, agent, supervisor, mr_lu):
    record = inbound(agent, "released", T0)
    other = inbound(supervisor, "released", T0)
    url = reverse("customers:call_notes", args=[record.pk])
    response = agent_client.post(url, {"notes": "Called back, all fine"})
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[mr_lu.pk]) + "#calls"
    record.refresh_from_db()
    assert record.notes == "Called back, all fine"
    page = agent_client.get(reverse("customers:detail", args=[mr_lu.pk])).content.decode()
    assert page.count("Edit notes") == 1  # only the agent's own call
    # Another agent's call, a GET, unusable notes.
    assert agent_client.post(reverse("customers:call_notes", args=[other.pk])).status_code == 404
    assert agent_client.get(url).status_code == 405
    response = agent_client.post(url, {"notes": "bad\x00notes"})
    assert response.status_code == 400
    assert "control characters" in response.content.decode()
    record.refresh_from_db()
    assert record.notes == "Called back, all fine"


def test_new_customer_form_refuses_control_characters(agent_client):
    response = agent_client.post(
        reverse("customers:create"), {"name": "Ms\x01New", "phone": "13900001111"}
    )
    assert response.status_code == 400
    assert "control characters" in response.content.decode()
    assert not Customer.objects.exists()


def test_endpoint_without_csrf_token_is_a_json_403(agent):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    body = {"event": "ringing", "contactId": "c-csrf", "direction": "inbound"}
    response = post(client, body)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "CSRF verification failed" in response.json()["error"]
    assert CallRecord.objects.count() == 0


def test_pages_keep_djangos_csrf_page(agent):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_endpoint_refuses_an_answer_after_the_end_with_a_json_400(agent_client):
    body = {"contactId": "c-5", "direction": "inbound", "caller": "1" * 101}
    ended = post(agent_client, body | {"event": "released", "at": T0.isoformat()})
    assert ended.status_code == 200
    late = post(agent_client, body | {"event": "answered", "at": (T0 + S).isoformat()})
    assert late.status_code == 400 and "after it ended" in late.json()["error"]
    call = CallRecord.objects.get()
    assert call.answered_at is None and call.caller.endswith("\u2026")


def test_events_without_a_time_in_reverse_arrival_order_are_still_one_call(agent):
    # Server-stamped times are arrival times, not event times: never "ended before it started".
    fields = {"contact_id": "c-7", "direction": "outbound", "callee": "13900001111"}
    log_call(agent, event="released", **fields)
    log_call(agent, event="answered", **fields)
    record = log_call(agent, event="dialing", **fields)
    assert record.started_at <= record.answered_at <= record.ended_at
    assert record.outcome == CallRecord.COMPLETED
