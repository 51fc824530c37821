"""Bidirectional controls: refused like control characters by form, admin and import (one check,
customers.text), and free text displayed isolated so it never reorders the page around it."""

import pytest
import tablib
from django.urls import reverse

from customers.models import Customer
from customers.resources import CustomerResource
from customers.services import ensure_customer

pytestmark = pytest.mark.django_db

# RLO (the tester's "‮evil" shows as "live"), LRE, PDF, RLI, PDI.
BIDI = ["\u202eevil", "a\u202ab", "x\u202c", "\u2067abc", "abc\u2069"]


@pytest.mark.parametrize("name", BIDI)
def test_new_customer_form_refuses_bidi_controls(agent_client, name):
    response = agent_client.post(
        reverse("customers:create"), {"name": name, "phone": "13900001111"}
    )
    assert response.status_code == 400
    assert "control characters" in response.content.decode()
    assert not Customer.objects.exists()


@pytest.mark.parametrize("field", ["name", "company", "notes"])
def test_admin_refuses_bidi_controls(supervisor_client, field):
    data = {
        "name": "Zhao Lei",
        "company": "",
        "email": "",
        "notes": "",
        "phones-TOTAL_FORMS": "1",
        "phones-INITIAL_FORMS": "0",
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
        "phones-0-raw": "13900001111",
    }
    data[field] = "\u202eevil"
    response = supervisor_client.post(reverse("admin:customers_customer_add"), data)
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    assert not Customer.objects.exists()


def test_import_refuses_bidi_controls():
    text = (
        "name,company,email,notes,phones\n"
        "\u202eevil,,,,13800138000\n"
        "Wu Tao,Tea\u2066Co,,,13900139000\n"
        "Li Na,,,note\u202b,13700137000\n"
        'Ma Li,,,"\u200fmarks \u200e stay",13600136000\n'
    )
    result = CustomerResource().import_data(tablib.Dataset().load(text, format="csv"))
    assert {row.number for row in result.invalid_rows} == {1, 2, 3}
    assert not Customer.objects.exists()


def test_the_error_shows_the_control_escaped(agent_client):
    response = agent_client.post(
        reverse("customers:create"), {"name": "\u202eevil", "phone": "13900001111"}
    )
    assert "\\u202eevil" in response.content.decode()


def test_free_text_is_displayed_isolated(agent_client):
    customer = ensure_customer("سلام Ali", ["13800138000"], company="شركة", notes="ملاحظة")[0]
    detail = agent_client.get(customer.get_absolute_url()).content.decode()
    assert '<h1 dir="auto">سلام Ali</h1>' in detail
    assert '<dd dir="auto">شركة</dd>' in detail and '<dd dir="auto">ملاحظة</dd>' in detail
    listing = agent_client.get(reverse("customers:list")).content.decode()
    assert '<td class="free" dir="auto"><a href' in listing
