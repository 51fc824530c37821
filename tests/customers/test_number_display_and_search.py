"""Numbers shown one way, search by part of a number, and searches of one or two characters."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from customers.models import CallRecord, PhoneNumber
from customers.phones import display_phone, partial_number, search_digits
from customers.services import call_as_json, ensure_customer, parse_search, search_customers

# --- display -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("+86 138-0013-8000", "138 0013 8000"),  # in the default region: national
        ("008613800138000", "138 0013 8000"),
        ("13800138000", "138 0013 8000"),
        ("+86 (0)10 6552 9988", "010 6552 9988"),  # landline: trunk 0 back
        ("０１０－６５５２　９９８８", "010 6552 9988"),  # full-width as typed
        ("010-6552 9988 转12", "010 6552 9988 ext. 12"),
        ("+1 415 555 0100", "+1 415-555-0100"),  # elsewhere: international
        ("001 415 555 0100", "+1 415-555-0100"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("135012345678", "135012345678"),  # the seed's 12 digits: no valid number, as typed
        ("  +999 1234567 ", "+999 1234567"),  # unknown country code: as typed, stripped
        ("call me maybe", "call me maybe"),  # not a number at all: never lost
        ("\u202e13800138000", "\\u202e13800138000"),  # a direction override shown escaped
        ("", ""),
        (None, ""),
    ],
)
def test_display_phone(settings, raw, shown):
    settings.PHONE_DEFAULT_REGION = "CN"
    assert display_phone(raw) == shown


def test_display_follows_the_default_region(settings):
    settings.PHONE_DEFAULT_REGION = "US"
    assert display_phone("+1 415 555 0100") == "(415) 555-0100"
    assert display_phone("+86 138-0013-8000") == "+86 138 0013 8000"


def test_phone_display_filter_escapes_and_formats(settings):
    settings.PHONE_DEFAULT_REGION = "CN"
    template = Template("{% load phones %}{{ a|phone_display }}|{{ b|phone_display }}")
    row = PhoneNumber(raw="+86 10 6552 9988")
    assert template.render(Context({"a": row, "b": "<b>x</b>"})) == (
        "010 6552 9988|&lt;b&gt;x&lt;/b&gt;"
    )


def test_pages_and_json_show_numbers_one_way(agent_client):
    customer = ensure_customer("Wang Fang", ["+86 138-0013-8000", "+1 415 555 0100"])[0]
    html = agent_client.get(reverse("customers:list")).content.decode()
    assert ">138 0013 8000</span>" in html and ">+1 415-555-0100</span>" in html
    assert 'title="+86 138-0013-8000"' in html  # as typed, kept and shown on hover
    detail = agent_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert ">138 0013 8000</span>" in detail
    body = agent_client.get(reverse("customers:lookup"), {"number": "13800138000"}).json()
    assert body["display"] == "138 0013 8000"
    assert [p["display"] for p in body["matches"][0]["phones"]] == [
        "138 0013 8000",
        "+1 415-555-0100",
    ]
    assert [p["raw"] for p in body["matches"][0]["phones"]] == [
        "+86 138-0013-8000",
        "+1 415 555 0100",
    ]


def test_call_json_and_call_admin_show_numbers_one_way(agent, supervisor_client):
    record = CallRecord.objects.create(
        agent=agent, contact_id="job-9", direction="inbound", caller="008613800138000"
    )
    data = call_as_json(record)
    assert data["caller"] == "008613800138000" and data["callerDisplay"] == "138 0013 8000"
    assert data["calleeDisplay"] == ""
    html = supervisor_client.get(reverse("admin:customers_callrecord_changelist")).content
    assert "138 0013 8000" in html.decode()


def test_admin_list_shows_numbers_one_way(supervisor_client):
    ensure_customer("Wang Fang", ["+86 138-0013-8000"])
    html = supervisor_client.get(reverse("admin:customers_customer_changelist")).content
    assert "138 0013 8000" in html.decode()


# --- search by part of a number -----------------------------------------------------------------


def test_search_digits_hold_each_form_once(settings, db):
    settings.PHONE_DEFAULT_REGION = "CN"
    assert search_digits("+86 10 6552 9988") == "861065529988 01065529988"
    assert search_digits("13800138000") == "8613800138000"
    assert search_digits("010-6552 9988 ext 12") == "861065529988 01065529988"
    assert PhoneNumber(raw="+86 10 6552 9988").digits == ""  # filled on save
    assert ensure_customer("A", ["+86 10 6552 9988"])[0].phones.get().digits == (
        "861065529988 01065529988"
    )


@pytest.mark.parametrize(
    "query, digits",
    [("0013 8000", "00138000"), ("1234", "1234"), ("１２３４", "1234"), ("123", None)],
)
def test_partial_number_needs_four_digits(query, digits):
    assert partial_number(query) == digits


@pytest.fixture
def numbers(db):
    wang = ensure_customer("Wang Fang", ["139 1111 2222", "+86 10 6552 9988"])[0]
    li = ensure_customer("Li Qiang", ["+1 415 555 0100"])[0]
    zhao = ensure_customer("Zhao 6552", ["137 0000 0000"])[0]
    return {"wang": wang, "li": li, "zhao": zhao}


@pytest.mark.parametrize(
    "query, names",
    [
        ("6552", ["Wang Fang", "Zhao 6552"]),  # the second number's digits, and a name
        ("010 6552", ["Wang Fang"]),  # as shown (national, trunk 0)
        ("8610655", ["Wang Fang"]),  # as E.164
        ("5529988", ["Wang Fang"]),
        ("4155550", ["Li Qiang"]),  # any number of the customer, any country
        ("1111-2222", ["Wang Fang"]),  # separators typed in the search are ignored
        ("0100", ["Li Qiang"]),
        ("2222 9988", []),  # digits are never joined across two numbers
        ("139 1111 2222 6552", []),
    ],
)
def test_list_finds_any_four_or_more_digits_in_any_number(agent_client, numbers, query, names):
    response = agent_client.get(reverse("customers:list"), {"q": query})
    assert response.status_code == 200
    assert [c.name for c in response.context["customers"]] == names


def test_fewer_than_four_digits_are_text(agent_client, numbers):
    ensure_customer("360 Security", ["010-6552 9900"])
    terms = parse_search("655")
    assert terms.digits is None and terms.phone_key is None and terms.text == "655"
    page = search_customers("655")
    assert [c.name for c in page.customers] == ["Zhao 6552"]  # name, never a number
    assert [c.name for c in search_customers("360").customers] == ["360 Security"]


@pytest.mark.parametrize(
    "query, names",
    [
        ("6552", ["Wang Fang", "Zhao 6552"]),
        ("010 6552", ["Wang Fang"]),
        ("4155550", ["Li Qiang"]),
        ("2222 9988", []),
        ("Li", ["Li Qiang"]),
    ],
)
def test_admin_finds_part_of_a_number(supervisor_client, numbers, query, names):
    response = supervisor_client.get(reverse("admin:customers_customer_changelist"), {"q": query})
    assert response.status_code == 200
    assert sorted(c.name for c in response.context["cl"].result_list) == names


# --- one or two characters ----------------------------------------------------------------------


def test_one_or_two_characters_find_names_and_companies_starting_with_them(agent_client):
    for name, company in [
        ("王伟", ""),
        ("王芳", ""),
        ("李王", ""),  # 王 not at the start: not a match
        ("张三", "王府井百货"),  # the company starts with it
        ("Mr Lu", ""),
        ("lucy", ""),
    ]:
        ensure_customer(name, ["13800138000"], company=company)
    assert [c.name for c in search_customers("王").customers] == ["张三", "王伟", "王芳"]
    assert [c.name for c in search_customers("王伟").customers] == ["王伟"]
    assert [c.name for c in search_customers("LU").customers] == ["lucy"]
    assert [c.name for c in search_customers("mr").customers] == ["Mr Lu"]
    assert search_customers("王").prefix and not search_customers("王伟1").prefix
    # three characters and more: anywhere in the name, as before
    assert [c.name for c in search_customers("r L").customers] == ["Mr Lu"]
    html = agent_client.get(reverse("customers:list"), {"q": "王"}).content.decode()
    assert "王伟" in html and "李王" not in html


def test_short_search_pages_through_names_and_companies_in_order(db):
    for i in range(7):
        ensure_customer(f"王{i}", [f"1380013800{i}"])
        ensure_customer(f"Z{i}", [f"1390013800{i}"], company="王氏")
    expected = sorted([f"王{i}" for i in range(7)] + [f"Z{i}" for i in range(7)])
    seen, page = [], search_customers("王", page_size=4)
    while True:
        seen += [c.name for c in page.customers]
        if not page.next_cursor:
            break
        page = search_customers("王", after=page.next_cursor, page_size=4)
    assert seen == expected
    back = search_customers("王", before=page.prev_cursor, page_size=4)
    assert [c.name for c in back.customers] == expected[-6:-2]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["9" * 5000, "+" + "1" * 80, "王" * 3000, "مرحبا 1234", "\u200f1234\u200e", "1" * 3, "%_%"],
)
def test_odd_searches_answer_a_page(agent_client, numbers, query):
    response = agent_client.get(reverse("customers:list"), {"q": query})
    assert response.status_code == 200
    forged = agent_client.get(reverse("customers:list"), {"q": query, "after": "x"})
    assert forged.status_code == 400  # a forged cursor: the page says so, no 500


def test_admin_search_beyond_the_known_ids_gives_the_same_rows(
    supervisor_client, numbers, monkeypatch
):
    """Past ``ADMIN_KNOWN_IDS`` matches the admin filters by the subquery instead of a list of
    ids: the same customers either way."""
    from customers import admin as customers_admin

    url = reverse("admin:customers_customer_changelist")
    by_list = supervisor_client.get(url, {"q": "6552"}).context["cl"].result_list
    monkeypatch.setattr(customers_admin, "ADMIN_KNOWN_IDS", 1)
    by_subquery = supervisor_client.get(url, {"q": "6552"}).context["cl"].result_list
    assert sorted(c.name for c in by_list) == sorted(c.name for c in by_subquery)
    assert sorted(c.name for c in by_subquery) == ["Wang Fang", "Zhao 6552"]


def test_a_whole_valid_number_is_matched_by_its_key_only(db):
    """A valid number finds its own customers in any format (the key), not other numbers that
    happen to contain its digits; a part of it still finds both."""
    ensure_customer("Owner", ["+86 138-0013-8000"])
    ensure_customer("Longer", ["+86 10 13800138000"])  # holds the same 11 digits
    terms = parse_search("138 0013 8000")
    assert terms.digits is None and terms.phone_key == "+8613800138000"
    assert [c.name for c in search_customers("138 0013 8000").customers] == ["Owner"]
    assert [c.name for c in search_customers("0013 8000").customers] == ["Longer", "Owner"]


def test_odd_numbers_on_a_customers_calls_show_as_typed_and_isolated(agent_client, agent):
    """A caller "number" that is no number (right-to-left text, 64 characters) is shown as typed,
    escaped and isolated (dir="auto"); a customer with no company or e-mail still renders."""
    customer = ensure_customer("شركة \u200fالنور", ["+86 138-0013-8000"])[0]
    for i, caller in enumerate(["مرحبا 123", "9" * 63 + "\u2026", "<b>1</b>"]):
        CallRecord.objects.create(
            agent=agent,
            customer=customer,
            contact_id=f"job-{i}",
            direction="inbound",
            caller=caller,
        )
    response = agent_client.get(reverse("customers:detail", args=[customer.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span class="phone" dir="auto" data-number="">مرحبا 123</span>' in html
    assert "9" * 63 + "\u2026</span>" in html
    assert "&lt;b&gt;1&lt;/b&gt;" in html and "<b>1</b>" not in html
