"""Admin: who gets in, phone search, inline validation, CSV import and export."""

import pytest
import tablib
from django.urls import reverse

from customers.models import Customer, PhoneNumber
from customers.resources import CustomerResource
from customers.services import ensure_customer

pytestmark = pytest.mark.django_db


def test_agents_cannot_reach_admin(agent_client):
    response = agent_client.get(reverse("admin:customers_customer_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("term", ["+86 138-0013-8000", "008613800138000", "13800138000"])
def test_admin_search_by_any_form_of_a_number(supervisor_client, term):
    wang = ensure_customer("Wang Fang", ["138 0013 8000"])[0]
    ensure_customer("Li Qiang", ["139 0013 8000"])
    response = supervisor_client.get(reverse("admin:customers_customer_changelist"), {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wang]


def test_admin_search_by_name_still_works(supervisor_client):
    ensure_customer("Wang Fang", ["138 0013 8000"])
    response = supervisor_client.get(reverse("admin:customers_customer_changelist"), {"q": "wang"})
    assert [c.name for c in response.context["cl"].result_list] == ["Wang Fang"]


def _add_form(name, phone):
    return {
        "name": name,
        "company": "",
        "email": "",
        "notes": "",
        "phones-TOTAL_FORMS": "1",
        "phones-INITIAL_FORMS": "0",
        "phones-MIN_NUM_FORMS": "1",
        "phones-MAX_NUM_FORMS": "1000",
        "phones-0-raw": phone,
    }


def test_supervisor_adds_customer_with_phone(supervisor_client):
    url = reverse("admin:customers_customer_add")
    response = supervisor_client.post(url, _add_form("Zhao Lei", "+86 (0)21 6888 1234"))
    assert response.status_code == 302
    phone = PhoneNumber.objects.get(customer__name="Zhao Lei")
    assert (phone.raw, phone.normalized) == ("+86 (0)21 6888 1234", "+862168881234")


def test_malformed_phone_in_admin_is_a_field_error(supervisor_client):
    url = reverse("admin:customers_customer_add")
    response = supervisor_client.post(url, _add_form("Zhao Lei", "call the office"))
    assert response.status_code == 200
    assert "“call the office” is not a phone number" in response.content.decode()
    assert not Customer.objects.exists()


GOOD_CSV = """name,company,email,notes,phones
Chen Jing,Hangzhou Tea,chen@example.cn,,+86 138-0013-8000; 0571-8765 4321
Mr Lu,Alibaba Cloud demo,,,135 0123 45678
"""

BAD_CSV = """name,company,email,notes,phones
Chen Jing,Hangzhou Tea,chen@example.cn,,+86 138-0013-8000
,No Name Ltd,,,13900139000
Wu Tao,,,,not-a-number
"""


def _import(text, **kwargs):
    dataset = tablib.Dataset().load(text, format="csv")
    return CustomerResource().import_data(dataset, **kwargs)


def test_csv_import_good_file():
    result = _import(GOOD_CSV)
    assert not result.has_errors() and not result.has_validation_errors()
    chen = Customer.objects.get(name="Chen Jing")
    assert [p.raw for p in chen.phones.all()] == ["+86 138-0013-8000", "0571-8765 4321"]
    assert [p.normalized for p in chen.phones.all()] == ["+8613800138000", "+8657187654321"]
    assert Customer.objects.get(name="Mr Lu").phones.get().normalized == "+86135012345678"


def test_csv_import_bad_rows_are_reported_by_line_and_nothing_is_saved():
    result = _import(BAD_CSV)
    assert result.has_validation_errors()
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3}
    assert "name" in invalid[2]
    assert "“not-a-number” is not a phone number" in " ".join(invalid[3]["phones"])
    assert not Customer.objects.exists()
    assert not PhoneNumber.objects.exists()


def test_export_then_import_round_trip():
    ensure_customer("Chen Jing", ["+86 138-0013-8000", "0571-8765 4321"], company="Hangzhou Tea")
    exported = CustomerResource().export()
    assert exported.headers == ["id", "name", "company", "email", "notes", "phones"]
    # Text to a spreadsheet (a leading '), taken off again on import.
    assert exported.dict[0]["phones"] == "'+86 138-0013-8000; 0571-8765 4321"
    exported[0] = exported[0][:2] + ("Hangzhou Tea & Co",) + exported[0][3:]
    result = CustomerResource().import_data(exported)
    assert not result.has_errors() and not result.has_validation_errors()
    chen = Customer.objects.get()
    assert chen.company == "Hangzhou Tea & Co"
    assert sorted(p.raw for p in chen.phones.all()) == ["+86 138-0013-8000", "0571-8765 4321"]


def test_admin_import_bad_file_shows_line_errors_and_saves_nothing(supervisor_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("customers.csv", BAD_CSV.encode(), content_type="text/csv")
    response = supervisor_client.post(
        reverse("admin:customers_customer_import"),
        {"import_file": upload, "format": "0", "resource": "0"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "not-a-number" in html and "is not a phone number" in html
    assert not Customer.objects.exists()


def test_admin_import_bad_file_heading_reads_cleanly_in_chinese(supervisor_client):
    """The library's zh_Hans catalogue garbles the heading ("某些行验数据证失败"): ours is used."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("customers.csv", BAD_CSV.encode(), content_type="text/csv")
    response = supervisor_client.post(
        reverse("admin:customers_customer_import"),
        {"import_file": upload, "format": "0", "resource": "0"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "某些行验数据证失败" not in html
    assert "<h2>以下各行未通过数据验证</h2>" in html
    assert "not-a-number" in html


def test_admin_import_good_file_after_confirm(supervisor_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("customers.csv", GOOD_CSV.encode(), content_type="text/csv")
    response = supervisor_client.post(
        reverse("admin:customers_customer_import"),
        {"import_file": upload, "format": "0", "resource": "0"},
    )
    assert response.status_code == 200
    assert not Customer.objects.exists()  # the first step is a dry run
    confirm = response.context["confirm_form"]
    response = supervisor_client.post(
        reverse("admin:customers_customer_process_import"), confirm.initial
    )
    assert response.status_code == 302
    assert set(Customer.objects.values_list("name", flat=True)) == {"Chen Jing", "Mr Lu"}


def test_admin_short_digit_term_also_searches_names(supervisor_client):
    ensure_customer("360 Security", ["010-6552 9988"])
    response = supervisor_client.get(reverse("admin:customers_customer_changelist"), {"q": "360"})
    assert [c.name for c in response.context["cl"].result_list] == ["360 Security"]
