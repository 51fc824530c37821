"""On PostgreSQL the searches use their indexes: the trigram index for part of a number, the
prefix indexes for one or two characters (``EXPLAIN`` names them).

The tables are small here, so a sequential scan would be cheapest: ``enable_seqscan`` is turned
off for the ``EXPLAIN`` to show whether an index *can* serve the query (a query the index does
not match still gets a sequential scan then). The 1M-customer figures: benchmarks/search.py.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.services import ensure_customer, search_customers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _plans(query: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        search_customers(query)
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for statement in captured.captured_queries:
                cursor.execute("EXPLAIN " + statement["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        finally:
            cursor.execute("RESET enable_seqscan")
    return plans


@pytest.fixture
def customers():
    for i in range(30):
        ensure_customer(f"王{i}", [f"138{i:08d}"], company="西湖茶业" if i % 2 else "")
        ensure_customer(f"Li {i}", [f"010-6552 {i:04d}"])


def test_part_of_a_number_uses_the_trigram_index(customers):
    page = search_customers("6552 0017")
    assert [c.name for c in page.customers] == ["Li 17"]
    plans = _plans("6552 0017")
    assert any("phone_digits_trgm" in plan for plan in plans), plans


def test_one_or_two_characters_use_the_prefix_indexes(customers):
    assert len(search_customers("王", page_size=50).customers) == 30
    assert [c.name for c in search_customers("西湖", page_size=5).customers] == [
        "王1",
        "王11",
        "王13",
        "王15",
        "王17",
    ]
    plans = "\n".join(_plans("王"))
    assert "customer_name_p1" in plans and "customer_company_p1" in plans, plans
    plans = "\n".join(_plans("西湖"))
    assert "customer_name_p2" in plans and "customer_company_p2" in plans, plans
