"""Input a tester sent by hand: control characters, forged admin posts, odd CSV files, exports."""

import base64
import json

import pytest
import tablib
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, PhoneNumber
from customers.resources import CustomerResource
from customers.services import InvalidSearch, ensure_customer, search_customers

pytestmark = pytest.mark.django_db

CONTROL_TERMS = ["\x00", "a\x00b", "Mr\x01Lu", "\x7f", "138\t0013 8000"]


def _import(text):
    return CustomerResource().import_data(tablib.Dataset().load(text, format="csv"))


def _errors(result):
    return {row.number: row.error_dict for row in result.invalid_rows}


def _cursor(name, pk):
    data = json.dumps([name, pk]).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# --- 1. Control characters never reach a query -------------------------------------------------


@pytest.mark.parametrize("term", CONTROL_TERMS)
def test_search_with_control_characters_is_a_readable_400(agent_client, mr_lu, term):
    response = agent_client.get(reverse("customers:list"), {"q": term})
    assert response.status_code == 400
    assert "cannot contain control characters" in response.content.decode()
    assert response.context["customers"] == []
    assert "\x00" not in response.content.decode()


def test_search_service_refuses_control_characters_and_cursors_holding_them(mr_lu):
    with pytest.raises(InvalidSearch):
        search_customers("a\x00b")
    with pytest.raises(InvalidSearch):
        search_customers(after=_cursor("Mr\x00Lu", 1))


def test_cursor_with_a_nul_name_is_a_400(agent_client, mr_lu):
    response = agent_client.get(reverse("customers:list"), {"after": _cursor("\x00", 1)})
    assert response.status_code == 400


@pytest.mark.parametrize("number", CONTROL_TERMS)
def test_lookup_with_control_characters_is_json_400(agent_client, mr_lu, number):
    response = agent_client.get(reverse("customers:lookup"), {"number": number})
    assert response.status_code == 400
    assert "is not a phone number" in response.json()["error"]


@pytest.mark.parametrize("number", ["\x00", "135012345678\x00", "138\x1f0013 8000"])
def test_by_phone_with_control_characters_is_a_readable_400(agent_client, mr_lu, number):
    response = agent_client.get(f"/customer/phoneNumber/{number}")
    html = response.content.decode()
    assert response.status_code == 400
    assert "contains control characters" in html or "is not a phone number" in html
    assert "\x00" not in html


@pytest.mark.parametrize("term", CONTROL_TERMS)
def test_admin_search_with_control_characters_matches_nothing(supervisor_client, mr_lu, term):
    response = supervisor_client.get(reverse("admin:customers_customer_changelist"), {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert "control characters" in " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_import_refuses_control_characters_in_any_field():
    text = (
        "name,company,email,notes,phones\n"
        '"Chen\x00Jing",Tea,,,13800138000\n'
        'Wu Tao,"Tea\x01Co",,,13900139000\n'
        'Li Na,,,"line one\nline two\ttab",13700137000\n'
        'Ma Li,,,"bad\x00note",13600136000\n'
        'Xu Bo,,,,"1370013\x1f7000"\n'
    )
    result = _import(text)
    invalid = _errors(result)
    assert set(invalid) == {1, 2, 4, 5}
    assert "name" in invalid[1] and "company" in invalid[2] and "notes" in invalid[4]
    assert "control characters" in " ".join(invalid[5]["phones"])
    assert not Customer.objects.exists()


def test_ensure_customer_refuses_a_number_with_control_characters(db):
    from customers.services import InvalidPhoneNumber

    with pytest.raises(InvalidPhoneNumber, match=r"138\\x000013"):
        ensure_customer("Chen Jing", ["138\x000013 8000"])
    assert not Customer.objects.exists()


# --- 2. Confirm import twice -------------------------------------------------------------------

GOOD_CSV = "name,phones\nChen Jing,+86 138-0013-8000; 0571-8765 4321\nMr Lu,135 0123 45678\n"


def _preview(client, data, name="customers.csv"):
    upload = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(
        reverse("admin:customers_customer_import"),
        {"import_file": upload, "format": "0", "resource": "0"},
    )


def test_confirm_import_twice_is_a_message_not_a_500(supervisor_client):
    confirm = _preview(supervisor_client, GOOD_CSV.encode()).context["confirm_form"].initial
    url = reverse("admin:customers_customer_process_import")
    assert supervisor_client.post(url, confirm).status_code == 302
    response = supervisor_client.post(url, confirm, follow=True)
    assert response.redirect_chain[-1] == (reverse("admin:customers_customer_import"), 302)
    assert "already done or has expired" in response.content.decode()
    assert Customer.objects.count() == 2


def test_confirm_import_of_an_unknown_file_is_a_message(supervisor_client):
    confirm = _preview(supervisor_client, GOOD_CSV.encode()).context["confirm_form"].initial
    confirm["import_file_name"] = "no-such-file"
    url = reverse("admin:customers_customer_process_import")
    response = supervisor_client.post(url, confirm, follow=True)
    assert "already done or has expired" in response.content.decode()
    assert not Customer.objects.exists()


# --- 3. Every field's model validation on import -----------------------------------------------


def test_import_checks_phone_length_like_the_admin_form():
    long_number = "138 " + "-" * 92 + " 8000"  # 101 characters, 11 digits: a number, too long
    assert len(long_number) == 101
    result = _import(f"name,phones\nChen Jing,{long_number}\n")
    [message] = _errors(result)[1]["phones"]
    assert long_number in message and "at most 64 characters" in message
    assert not Customer.objects.exists() and not PhoneNumber.objects.exists()


def test_import_checks_name_company_email_lengths_and_email():
    text = (
        "name,company,email,phones\n"
        f"{'N' * 201},,,13800138000\n"
        f"Wu Tao,{'C' * 201},,13900139000\n"
        f"Li Na,,{'e' * 250}@example.cn,13700137000\n"
        "Ma Li,,not-an-email,13600136000\n"
    )
    invalid = _errors(_import(text))
    assert "at most 200 characters" in " ".join(invalid[1]["name"])
    assert "at most 200 characters" in " ".join(invalid[2]["company"])
    assert "email" in invalid[3] and "email" in invalid[4]
    assert not Customer.objects.exists()


def test_admin_import_failure_while_saving_is_reported_not_0_new(supervisor_client, monkeypatch):
    confirm = _preview(supervisor_client, GOOD_CSV.encode()).context["confirm_form"].initial

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(PhoneNumber.objects, "create", broken)
    url = reverse("admin:customers_customer_process_import")
    response = supervisor_client.post(url, confirm, follow=True)
    html = response.content.decode()
    assert "Nothing was imported" in html and "disk full" in html
    assert "Import finished" not in html
    assert not Customer.objects.exists()


# --- 4. Formula injection on export ------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://evil.example","x")', "=1+1", "+1+cmd", "-2+3", "@SUM(A1)"]
)
def test_export_escapes_formulae(value):
    ensure_customer(value, ["+86 138-0013-8000"], company=value, notes=value)
    row = CustomerResource().export().dict[0]
    assert row["name"] == row["company"] == row["notes"] == "'" + value
    # A spreadsheet would drop the "+" (or read a broken formula): text too.
    assert row["phones"] == "'+86 138-0013-8000"


def test_export_imports_back_unchanged():
    values = ["=1+1", "+1+cmd", "'quoted", "''twice", "@SUM(A1)", "plain"]
    for n, value in enumerate(values):
        ensure_customer(value, [f"+86 138-0013-800{n}"], company=value, notes=value)
    ensure_customer("Mr Lu", ["+8613900139000", "010-6552 9988"])
    before = {
        c.name: (c.company, c.notes, sorted(p.raw for p in c.phones.all()))
        for c in Customer.objects.all()
    }
    exported = CustomerResource().export()
    assert "'+8613900139000; 010-6552 9988" in exported.csv
    Customer.objects.all().delete()
    result = CustomerResource().import_data(tablib.Dataset().load(exported.csv, format="csv"))
    assert not result.has_errors() and not result.has_validation_errors()
    after = {
        c.name: (c.company, c.notes, sorted(p.raw for p in c.phones.all()))
        for c in Customer.objects.all()
    }
    assert after == before


def test_admin_csv_export_escapes_formulae(supervisor_client):
    ensure_customer("=1+1", ["+86 138-0013-8000"], company="@SUM(A1)")
    response = supervisor_client.post(
        reverse("admin:customers_customer_export"),
        {
            "format": "0",
            "resource": "0",
            **{
                f"customerresource_{f}": "on"
                for f in ["id", "name", "company", "email", "notes", "phones"]
            },
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "'=1+1" in body and "'@SUM(A1)" in body and "'+86 138-0013-8000" in body
    assert ",=1+1" not in body and ",+86" not in body


# --- 5. At least one phone number in the admin -------------------------------------------------


def _admin_form(name, total, **phones):
    return {
        "name": name,
        "company": "",
        "email": "",
        "notes": "",
        "phones-TOTAL_FORMS": str(total),
        "phones-INITIAL_FORMS": "0",
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
        **phones,
    }


def test_admin_add_without_phone_forms_is_refused(supervisor_client):
    url = reverse("admin:customers_customer_add")
    response = supervisor_client.post(url, _admin_form("Zhao Lei", 0))
    assert response.status_code == 200
    assert "Please submit at least 1 form" in response.content.decode()
    assert not Customer.objects.exists()


def test_admin_change_cannot_delete_the_last_phone(supervisor_client):
    chen = ensure_customer("Chen Jing", ["13800138000"])[0]
    phone = chen.phones.get()
    data = _admin_form(
        "Chen Jing",
        1,
        **{
            "phones-INITIAL_FORMS": "1",
            "phones-0-id": str(phone.pk),
            "phones-0-customer": str(chen.pk),
            "phones-0-raw": phone.raw,
            "phones-0-DELETE": "on",
        },
    )
    response = supervisor_client.post(
        reverse("admin:customers_customer_change", args=[chen.pk]), data
    )
    assert response.status_code == 200
    assert chen.phones.count() == 1


# --- Minor ------------------------------------------------------------------------------------


def test_admin_import_preview_shows_the_phone_numbers(supervisor_client):
    response = _preview(supervisor_client, GOOD_CSV.encode())
    html = response.content.decode()
    assert "+86 138-0013-8000; 0571-8765 4321" in html
    assert "135 0123 45678" in html


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-3", "1e3"])
def test_non_numeric_id_says_whole_number(bad_id):
    result = _import(f"id,name,phones\n{bad_id},Chen Jing,13800138000\n")
    assert not result.has_errors()
    [message] = _errors(result)[1]["id"]
    assert "id must be a whole number" in message and bad_id in message
    assert "ConversionSyntax" not in message


def test_gbk_csv_is_accepted(supervisor_client):
    data = "name,company,phones\n王芳,杭州茶叶,13800138000\n".encode("gbk")
    response = _preview(supervisor_client, data)
    confirm = response.context["confirm_form"].initial
    supervisor_client.post(reverse("admin:customers_customer_process_import"), confirm)
    assert Customer.objects.get().company == "杭州茶叶"


def test_undecodable_csv_says_it_must_be_utf8(supervisor_client):
    response = _preview(supervisor_client, b"name,phones\n\x80\xff,13800138000\n")
    html = response.content.decode()
    assert "UTF-8" in html and "UnicodeDecodeError" not in html


def test_login_message_says_only_the_password_is_case_sensitive(client, agent):
    response = client.post(reverse("login"), {"username": "edward", "password": "wrong"})
    html = response.content.decode()
    assert "The password is case-sensitive; the username is not." in html
    assert "both fields may be case-sensitive" not in html


def test_staff_who_may_not_add_phones_may_not_add_customers(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("clerk", password="pw-clerk-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_customer", "add_customer"])
    )
    client.force_login(user)
    response = client.post(reverse("admin:customers_customer_add"), _admin_form("Zhao Lei", 0))
    assert response.status_code == 403
    assert not Customer.objects.exists()
