"""The call log does not depend on the browser (CCC 2.x, Debian Chromium, the sandbox): a call
rung while the CRM tab was closed, and a call whose workbench was closed mid-call, are settled by
``manage.py reconcile_calls`` from CCC's call detail records; a second run changes nothing."""

import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from ccc_proxy.services import call_as
from customers.models import CallRecord
from tests.workbench.conftest import link_sandbox_account, logged, sign_in, wait_status

pytestmark = [pytest.mark.browser, pytest.mark.ccc2x, pytest.mark.django_db(transaction=True)]

MR_LU, MISS_LU = "135012345678", "135012345679"


def open_softphone(page, url):
    page.goto(url)
    page.wait_for_selector(".wbsdk-v2 .wbsdk-groups input", state="attached")
    page.select_option("#cb-state", "ready")  # 2.x: sign in = ready
    wait_status(page, 3)


def reconcile():
    out = io.StringIO()
    call_command("reconcile_calls", stdout=out)
    return out.getvalue()


def test_calls_the_browser_missed_are_settled_by_reconcile(page, demo, simulator):
    sign_in(page, demo.crm_url)
    link_sandbox_account(page, demo)
    open_softphone(page, demo.crm_url + "/")
    context = page.context

    # The CRM tab is closed; Miss Lu rings and gives up before anyone could answer.
    page.close(run_before_unload=False)
    simulator.ring(MISS_LU)
    simulator.call_row(MISS_LU).locator("button.hangup").click()
    expect(simulator.call_row(MISS_LU).locator("button.hangup")).to_have_count(0)

    # Back on the workbench: Mr Lu rings, is answered, and the workbench closes mid-call.
    page = context.new_page()
    open_softphone(page, demo.crm_url + "/")
    simulator.ring(MR_LU)
    wait_status(page, 6)
    page.click("#cb-primary[data-action=answer]")
    wait_status(page, 9)
    logged(page)
    page.close(run_before_unload=False)
    simulator.call_row(MR_LU).locator("button.hangup").click()  # Mr Lu hangs up later
    expect(simulator.call_row(MR_LU).locator("button.hangup")).to_have_count(0)

    (open_record,) = CallRecord.objects.all()
    assert open_record.outcome == CallRecord.TALKING and open_record.ended_at is None
    out = reconcile()
    assert "edward: 2 listed, 1 created, 1 updated" in out, out
    # What CCC says, read as Edward like any client of the OpenAPI.
    edward = get_user_model().objects.get(username="edward")
    listed = call_as(edward, "ListRecentCallDetailRecords", {"PageSize": "10"})["Data"]["List"]
    jobs = {row["CallingNumber"]: row["ContactId"] for row in listed}
    detail = call_as(edward, "GetCallDetailRecord", {"ContactId": jobs[MR_LU]})["Data"]
    open_record.refresh_from_db()
    assert open_record.ended_at == datetime.fromtimestamp(detail["ReleaseTime"] / 1000, UTC)
    assert open_record.outcome == CallRecord.COMPLETED and open_record.released_by == "remote"
    assert open_record.ccc_state == CallRecord.CONFIRMED
    missed = CallRecord.objects.get(caller=MISS_LU)
    assert missed.customer.name == "Miss Lu" and missed.outcome == CallRecord.MISSED
    assert missed.contact_id == jobs[MISS_LU]

    before = list(CallRecord.objects.order_by("pk").values())
    assert "0 created, 0 updated, 2 unchanged" in reconcile()
    assert list(CallRecord.objects.order_by("pk").values()) == before
