"""Customers' public services: phone normalization, lookup by phone, search and creation.

Other apps call only the functions here (see ARCHITECTURE.md): ``normalize_phone``,
``find_by_phone`` and, for seeding, ``ensure_customer``. The normalized key is what
``PhoneNumber.normalized`` stores and what every lookup compares against, so storage and search
always go through the same function.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from customers.models import Customer, PhoneNumber
from customers.phones import InvalidPhoneNumber, normalize_phone
from customers.text import has_control_characters, printable

__all__ = [
    "CustomerPage",
    "InvalidCursor",
    "InvalidPhoneNumber",
    "InvalidSearch",
    "customer_as_json",
    "ensure_customer",
    "find_by_phone",
    "normalize_phone",
    "printable",
    "renormalize_phones",
    "search_customers",
]


class InvalidSearch(ValueError):
    """A search that cannot be run: its text holds control characters (NUL...), or a bad cursor."""


class InvalidCursor(InvalidSearch):
    """A pagination cursor that was not produced by :func:`search_customers`."""


def find_by_phone(number: str) -> list[Customer]:
    """Return every customer with a phone number whose key equals ``normalize_phone(number)``.

    For screen pop: the caller number (ANI) as the softphone gives it, in any form. Customers come
    once each, ordered by name then id, with ``phones`` prefetched. An empty list means no match.
    Raises :class:`InvalidPhoneNumber` when ``number`` is not a phone number.
    """
    key = normalize_phone(number)
    ids = PhoneNumber.objects.filter(normalized=key).values("customer_id")
    return list(
        Customer.objects.filter(id__in=ids).order_by("name", "id").prefetch_related("phones")
    )


@dataclass
class CustomerPage:
    """One page of :func:`search_customers`.

    ``customers`` (a list), opaque ``next_cursor`` / ``prev_cursor`` (``None`` at either end), and
    ``phone_key``, the normalized number searched for (``None`` when the query was not a number).
    """

    customers: list[Customer]
    next_cursor: str | None
    prev_cursor: str | None
    phone_key: str | None


# Digit strings shorter than this may also be part of a name or company ("360", "58同城").
SHORT_NUMBER_DIGITS = 7


def _encode_cursor(customer: Customer) -> str:
    data = json.dumps([customer.name, customer.id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        name, pk = data
        if not isinstance(name, str) or not isinstance(pk, int) or isinstance(pk, bool):
            raise TypeError
        if has_control_characters(name):
            raise ValueError
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursor(
            "This page link is not valid; start again from the first page."
        ) from exc
    return name, pk


def search_customers(
    query: str = "", *, after: str | None = None, before: str | None = None, page_size: int = 25
) -> CustomerPage:
    """Return one page of customers ordered by (name, id), filtered by ``query``.

    ``query`` is read as a phone number when it holds only phone characters (digits, +, spaces,
    ``- . ( )``): then it matches the normalized phone key, and, when shorter than 7 digits, also
    name or company. Any other text matches name or company (case-insensitive substring).
    Pagination is by keyset ("seek"): ``after`` / ``before`` are cursors from a previous page; no
    COUNT and no OFFSET, so a page costs an index range scan whatever the table size. Raises
    :class:`InvalidSearch` when ``query`` holds a control character (none is sent to the
    database) and :class:`InvalidCursor` (an ``InvalidSearch``) on a forged cursor.
    """
    qs = Customer.objects.all()
    query = (query or "").strip()
    if has_control_characters(query):
        raise InvalidSearch("Search text cannot contain control characters (such as NUL).")
    phone_key = None
    if query:
        text = Q(name__icontains=query) | Q(company__icontains=query)
        try:
            phone_key = normalize_phone(query)
        except InvalidPhoneNumber:
            qs = qs.filter(text)
        else:
            by_phone = Q(
                id__in=PhoneNumber.objects.filter(normalized=phone_key).values("customer_id")
            )
            short = sum(c.isdigit() for c in query) < SHORT_NUMBER_DIGITS
            qs = qs.filter(by_phone | text if short else by_phone)
    backwards = bool(before) and not after
    if after or before:
        name, pk = _decode_cursor(after or before)
        if backwards:
            qs = qs.filter(name__lte=name).exclude(name=name, id__gte=pk)
        else:
            qs = qs.filter(name__gte=name).exclude(name=name, id__lte=pk)
    order = ("-name", "-id") if backwards else ("name", "id")
    rows = list(qs.order_by(*order).prefetch_related("phones")[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
        has_next, has_prev = True, more
    else:
        has_next, has_prev = more, bool(after)
    return CustomerPage(
        customers=rows,
        next_cursor=_encode_cursor(rows[-1]) if rows and has_next else None,
        prev_cursor=_encode_cursor(rows[0]) if rows and has_prev else None,
        phone_key=phone_key,
    )


def customer_as_json(customer: Customer, url: str) -> dict:
    """Shape one customer for the JSON lookup.

    Returns ``{"id", "name", "company", "url", "phones": [{"raw", "normalized"}]}``.
    """
    return {
        "id": customer.id,
        "name": customer.name,
        "company": customer.company,
        "url": url,
        "phones": [{"raw": p.raw, "normalized": p.normalized} for p in customer.phones.all()],
    }


@transaction.atomic
def ensure_customer(
    name: str, phones: list[str], *, company: str = "", email: str = "", notes: str = ""
) -> tuple[Customer, bool]:
    """Create or update the customer called ``name`` who has the first of ``phones``; idempotent.

    Returns ``(customer, created)``. Phone numbers not yet on the customer are added as typed.
    Raises :class:`InvalidPhoneNumber` (nothing saved) if any number is not a phone number.
    """
    if not phones:
        raise InvalidPhoneNumber("A customer needs at least one phone number.")
    keys = [normalize_phone(p) for p in phones]
    customer = Customer.objects.filter(name=name, phones__normalized=keys[0]).order_by("id").first()
    created = customer is None
    if created:
        customer = Customer.objects.create(name=name, company=company, email=email, notes=notes)
    else:
        customer.company, customer.email, customer.notes = company, email, notes
        customer.save()
    have = set(customer.phones.values_list("normalized", flat=True))
    for raw, key in zip(phones, keys, strict=True):
        if key not in have:
            PhoneNumber.objects.create(customer=customer, raw=raw)
            have.add(key)
    return customer, created


def renormalize_phones(batch_size: int = 5000) -> tuple[int, int]:
    """Recompute ``PhoneNumber.normalized`` from ``raw`` for every row, in batches.

    Needed after ``settings.PHONE_DEFAULT_REGION`` changes. Returns ``(changed, total)``. A raw
    number that no longer normalizes keeps its old key (none can: ``raw`` was checked on save).
    """
    changed = total = 0
    last_id = 0
    while True:
        rows = list(PhoneNumber.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not rows:
            return changed, total
        dirty = []
        for row in rows:
            try:
                key = normalize_phone(row.raw)
            except InvalidPhoneNumber:
                continue
            if key != row.normalized:
                row.normalized = key
                dirty.append(row)
        with transaction.atomic():
            PhoneNumber.objects.bulk_update(dirty, ["normalized"])
        changed += len(dirty)
        total += len(rows)
        last_id = rows[-1].id
