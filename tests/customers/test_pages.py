"""Customer pages and the JSON lookup, through Django's test client."""

import io
import re

import pytest
from django.urls import reverse

from customers.models import Customer, PhoneNumber
from customers.services import ensure_customer, find_by_phone, search_customers

pytestmark = pytest.mark.django_db


def names(response):
    return [c.name for c in response.context["customers"]]


def test_pages_require_login(client, mr_lu):
    for url in [
        reverse("customers:list"),
        reverse("customers:detail", args=[mr_lu.pk]),
        reverse("customers:by_phone", args=["135012345678"]),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_lookup_without_login_is_json_401(client):
    response = client.get(reverse("customers:lookup"), {"number": "135012345678"})
    assert response.status_code == 401
    assert "error" in response.json()


def test_user_without_role_is_refused(client, django_user_model, mr_lu):
    client.force_login(django_user_model.objects.create_user("nobody", password="x-pw-123"))
    assert client.get(reverse("customers:list")).status_code == 403
    assert client.get(reverse("customers:lookup"), {"number": "1380"}).status_code == 403


@pytest.mark.parametrize(
    "query",
    ["135 0123 45678", "+86 135012345678", "0086-135012345678", "Mr Lu", "mr lu", "alibaba"],
)
def test_search_finds_mr_lu(agent_client, mr_lu, query):
    ensure_customer("Miss Lu", ["135012345679"])
    response = agent_client.get(reverse("customers:list"), {"q": query})
    assert response.status_code == 200
    assert names(response) == ["Mr Lu"]


def test_phone_search_does_not_match_other_numbers(agent_client, mr_lu):
    ensure_customer("Miss Lu", ["135012345679"])
    response = agent_client.get(reverse("customers:list"), {"q": "135 0123 45679"})
    assert names(response) == ["Miss Lu"]


def test_list_renders_phones_through_the_phone_include(agent_client, mr_lu):
    html = agent_client.get(reverse("customers:list")).content.decode()
    # The seed's 12-digit number is no valid number: shown as typed, no title.
    assert (
        '<span class="phone" dir="ltr" data-number="+86135012345678" data-dial="135012345678">'
        "135012345678</span>" in html
    )


def test_no_match_says_so(agent_client, mr_lu):
    response = agent_client.get(reverse("customers:list"), {"q": "nobody here"})
    assert response.status_code == 200
    assert "No customer matches" in response.content.decode()


def test_keyset_pages_cover_everything_once(agent_client):
    Customer.objects.bulk_create(Customer(name=f"C{i % 7}") for i in range(60))  # duplicate names
    seen, params, pages = [], {}, 0
    while True:
        response = agent_client.get(reverse("customers:list"), params)
        assert response.status_code == 200
        seen += [c.pk for c in response.context["customers"]]
        pages += 1
        nxt = response.context["page"].next_cursor
        if not nxt:
            break
        params = {"after": nxt}
    assert pages == 3
    assert len(seen) == len(set(seen)) == 60
    expected = list(Customer.objects.order_by("name", "id").values_list("pk", flat=True))
    assert seen == expected


def test_previous_page_goes_back(db):
    Customer.objects.bulk_create(Customer(name=f"C{i:02d}") for i in range(60))
    first = search_customers()
    second = search_customers(after=first.next_cursor)
    back = search_customers(before=second.prev_cursor)
    assert [c.pk for c in back.customers] == [c.pk for c in first.customers]
    assert back.prev_cursor is None and back.next_cursor
    assert first.prev_cursor is None


def test_list_page_has_no_count_query(agent_client):
    Customer.objects.bulk_create(Customer(name=f"C{i}") for i in range(30))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        agent_client.get(reverse("customers:list"))
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "COUNT(" not in sql
    assert " OFFSET " not in sql


def test_forged_cursor_is_a_readable_400(agent_client):
    response = agent_client.get(reverse("customers:list"), {"after": "garbage!!"})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_detail(agent_client, mr_lu):
    PhoneNumber.objects.create(customer=mr_lu, raw="010-6552 9988")
    response = agent_client.get(reverse("customers:detail", args=[mr_lu.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mr Lu" in html
    # Shown in the national format, the number as typed in the title, dialled as digits.
    assert (
        '<span class="phone" dir="ltr" data-number="+861065529988" data-dial="01065529988" '
        'title="010-6552 9988">010 6552 9988</span>' in html
    )
    assert agent_client.get(reverse("customers:detail", args=[99999])).status_code == 404


def test_by_phone_one_match_redirects_to_detail(agent_client, mr_lu):
    response = agent_client.get("/customer/phoneNumber/135012345678")
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[mr_lu.pk])


def test_by_phone_several_matches_lists_them(agent_client):
    ensure_customer("Zhang Wei", ["010-6552 9988"])
    ensure_customer("Li Na", ["+86 10 6552 9988"])
    response = agent_client.get("/customer/phoneNumber/+861065529988")
    assert response.status_code == 200
    assert sorted(names(response)) == ["Li Na", "Zhang Wei"]


def test_by_phone_none_and_garbage_are_readable(agent_client, mr_lu):
    response = agent_client.get("/customer/phoneNumber/13800138000")
    assert response.status_code == 404
    assert "No customer with" in response.content.decode()
    response = agent_client.get("/customer/phoneNumber/hello")
    assert response.status_code == 400
    assert "not a phone number" in response.content.decode()


def test_lookup_json(agent_client, mr_lu):
    ensure_customer("Mr Lu's assistant", ["135 0123 45678"])
    response = agent_client.get(reverse("customers:lookup"), {"number": "0086-135012345678"})
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == "0086-135012345678"
    assert body["normalized"] == "+86135012345678"
    assert [m["name"] for m in body["matches"]] == ["Mr Lu", "Mr Lu's assistant"]
    first = body["matches"][0]
    assert set(first) == {"id", "name", "company", "url", "phones"}
    assert body["display"] == "0086-135012345678"  # no valid number: shown as typed
    assert first["id"] == mr_lu.pk
    assert first["url"].endswith(reverse("customers:detail", args=[mr_lu.pk]))
    assert first["phones"] == [
        {"raw": "135012345678", "normalized": "+86135012345678", "display": "135012345678"}
    ]


@pytest.mark.parametrize(
    "typed, dial, display",
    [
        ("+86 138-0013-8000 ext 12", "13800138000", "138 0013 8000 ext. 12"),
        (
            "\u0661\u0663\u0668\u0660\u0660\u0661\u0663\u0668\u0660\u0660\u0660",
            "13800138000",
            "138 0013 8000",
        ),
        ("+1 415-555-0100", "0014155550100", "+1 415-555-0100"),
    ],
)
def test_lookup_answers_the_dial_string_the_keypad_dials(
    agent_client, settings, typed, dial, display
):
    settings.PHONE_DEFAULT_REGION = "CN"
    body = agent_client.get(reverse("customers:lookup"), {"number": typed}).json()
    assert (body["dial"], body["display"]) == (dial, display)


def test_lookup_no_match_is_empty_list(agent_client, mr_lu):
    response = agent_client.get(reverse("customers:lookup"), {"number": "13800138000"})
    assert response.status_code == 200
    assert response.json()["matches"] == []


@pytest.mark.parametrize("number", [None, "", "   ", "abc", "12", "1" * 40, "<script>"])
def test_lookup_bad_number_is_json_400(agent_client, number):
    params = {} if number is None else {"number": number}
    response = agent_client.get(reverse("customers:lookup"), params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert re.search(r"phone number|No phone", response.json()["error"])


def test_find_by_phone_returns_every_match_once(db):
    a = ensure_customer("A", ["13800138000", "+86 138 0013 8000"])[0]
    b = ensure_customer("B", ["008613800138000"])[0]
    assert a.phones.count() == 1  # the same number twice is kept once
    assert find_by_phone("138-0013-8000") == [a, b]


def test_find_by_phone_is_one_round_trip_with_every_phone(db, django_assert_num_queries):
    a = ensure_customer("A", ["13800138000", "021-6552 9988"])[0]
    b = ensure_customer("B", ["008613800138000", "010 6552 9988", "13900139000"])[0]
    ensure_customer("C", ["13700137000"])
    with django_assert_num_queries(1):
        found = find_by_phone("138-0013-8000")
        phones = {c.name: sorted(p.raw for p in c.phones.all()) for c in found}
        assert [p.customer.name for c in found for p in c.phones.all()] == ["A", "A", "B", "B", "B"]
    assert found == [a, b]
    assert phones == {
        "A": ["021-6552 9988", "13800138000"],
        "B": ["008613800138000", "010 6552 9988", "13900139000"],
    }


def test_short_digit_query_also_matches_names(agent_client):
    ensure_customer("Zhou Min", ["13800138000"], company="360 Security")
    response = agent_client.get(reverse("customers:list"), {"q": "360"})
    assert names(response) == ["Zhou Min"]


def test_renormalize_after_region_change(settings):
    from django.core.management import call_command

    us = ensure_customer("Acme", ["(650) 253-0000"])[0]
    ensure_customer("Mr Lu", ["+86 135012345678"])
    assert find_by_phone("+1 650 253 0000") == []  # read as a Chinese number when saved
    settings.PHONE_DEFAULT_REGION = "US"
    out = io.StringIO()
    call_command("renormalize_phones", stdout=out)
    assert out.getvalue().strip() == "1 of 2 phone numbers had a new key or search digits."
    assert find_by_phone("+1 650 253 0000") == [us]
