"""Customers on PostgreSQL: collation-ordered keyset pages and an all-or-nothing CSV import.

Run with ``DATABASE_URL=postgres://... pytest -m postgres`` (scripts/test.sh does); they also
pass on SQLite.
"""

import pytest
import tablib

from customers.models import Customer, PhoneNumber
from customers.resources import CustomerResource
from customers.services import ensure_customer, search_customers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_keyset_pages_follow_the_database_collation():
    names = ["王芳", "Wang Fang", "wang fang", "Émile", "Zoë", "a", "B", "李娜", "Mr Lu", "mr lu"]
    Customer.objects.bulk_create(Customer(name=names[i % len(names)]) for i in range(47))
    seen, page = [], search_customers(page_size=10)
    while True:
        seen += [c.pk for c in page.customers]
        if not page.next_cursor:
            break
        page = search_customers(after=page.next_cursor, page_size=10)
    assert seen == list(Customer.objects.order_by("name", "id").values_list("pk", flat=True))
    back = search_customers(before=page.prev_cursor, page_size=10)
    assert [c.pk for c in back.customers] == seen[-17:-7]


def test_search_is_case_insensitive_and_finds_numbers():
    ensure_customer("Mr Lu", ["135012345678"], company="Alibaba Cloud Demo")
    assert [c.name for c in search_customers("ALIBABA").customers] == ["Mr Lu"]
    assert [c.name for c in search_customers("0086-135012345678").customers] == ["Mr Lu"]


def test_bad_csv_row_rolls_back_committed_rows():
    text = "name,phones\nChen Jing,13800138000\nWu Tao,not-a-number\n"
    result = CustomerResource().import_data(tablib.Dataset().load(text, format="csv"))
    assert result.has_validation_errors()
    assert not Customer.objects.exists()
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("term", ["\x00", "a\x00b"])
def test_nul_in_search_is_a_400_not_a_database_error(agent_client, mr_lu, term):
    from django.urls import reverse

    response = agent_client.get(reverse("customers:list"), {"q": term})
    assert response.status_code == 400
    response = agent_client.get(reverse("customers:lookup"), {"number": term})
    assert response.status_code == 400
    response = agent_client.get(f"/customer/phoneNumber/{term}")
    assert response.status_code == 400


def test_nul_in_admin_search_matches_nothing(supervisor_client, mr_lu):
    from django.urls import reverse

    url = reverse("admin:customers_customer_changelist")
    response = supervisor_client.get(url, {"q": "a\x00b"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_too_long_phone_or_nul_in_csv_is_a_row_error_not_a_silent_failure():
    long_number = "138 " + "-" * 92 + " 8000"  # 101 characters
    text = f'name,phones\nChen Jing,{long_number}\n"Wu\x00Tao",13900139000\n'
    result = CustomerResource().import_data(tablib.Dataset().load(text, format="csv"))
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert "at most 64 characters" in " ".join(invalid[1]["phones"])
    assert "name" in invalid[2]
    assert not result.has_errors()
    assert not Customer.objects.exists()
