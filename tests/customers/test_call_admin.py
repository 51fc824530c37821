"""Supervisors' read-only call log in the admin: list, filters, search by a number in any format,
CSV export of the selection; agents have no access."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import CallRecord
from customers.services import log_call

URL = "/admin/customers/callrecord/"


@pytest.fixture
def calls(agent, mr_lu):
    at = timezone.now() - timedelta(minutes=5)
    inbound = log_call(
        agent,
        event="ringing",
        contact_id="job-1",
        direction="inbound",
        caller="135012345678",
        at=at,
    )
    log_call(agent, event="answered", contact_id="job-1", direction="inbound", at=at)
    log_call(agent, event="notes", contact_id="job-1", direction="inbound", notes="=HYPERLINK(1)")
    outbound = log_call(
        agent,
        event="dialing",
        contact_id="job-2",
        direction="outbound",
        callee="+86 138-0013-8000",
        at=at,
    )
    return inbound, outbound


def test_supervisors_list_the_calls_read_only(supervisor_client, calls):
    page = supervisor_client.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "135012345678" in text and "Mr Lu" in text and "+86 138-0013-8000" in text
    assert supervisor_client.get(URL + "add/").status_code == 403
    change = supervisor_client.get(f"{URL}{calls[0].pk}/change/")
    assert change.status_code == 200 and b'name="_save"' not in change.content  # view only
    filtered = supervisor_client.get(URL, {"direction__exact": "outbound"}).content.decode()
    assert "+86 138-0013-8000" in filtered and "135012345678" not in filtered


@pytest.mark.parametrize("term", ["13800138000", "0086 138 0013 8000", "+86-138-0013-8000"])
def test_search_finds_a_number_in_any_format(supervisor_client, calls, term):
    found = supervisor_client.get(URL, {"q": term}).context["cl"].result_list
    assert [r.contact_id for r in found] == ["job-2"]


def test_search_by_contact_id_and_nothing_for_other_text(supervisor_client, calls):
    assert [
        r.contact_id for r in supervisor_client.get(URL, {"q": "job-1"}).context["cl"].result_list
    ] == ["job-1"]
    assert list(supervisor_client.get(URL, {"q": "nobody"}).context["cl"].result_list) == []


def test_csv_export_of_the_selection(supervisor_client, calls):
    answer = supervisor_client.post(
        URL, {"action": "export_csv", "_selected_action": [c.pk for c in calls]}
    )
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert [r["contact_id"] for r in rows] == ["job-2", "job-1"]  # newest first
    by_id = {r["contact_id"]: r for r in rows}
    assert by_id["job-1"]["customer"] == "Mr Lu" and by_id["job-1"]["caller"] == "135012345678"
    assert by_id["job-1"]["notes"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    assert by_id["job-1"]["started"].endswith("Z") and by_id["job-1"]["outcome"] == "talking"
    assert CallRecord.objects.count() == 2  # exporting changes nothing


def test_agents_cannot_see_the_admin_call_log(agent_client, calls):
    assert agent_client.get(URL).status_code == 302  # not staff: to the admin sign-in
