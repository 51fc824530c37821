"""Customers' public services: phone normalization, lookup by phone, search and creation.

Other apps call only the functions here (no app imports another app's models): ``normalize_phone``,
``find_by_phone``, ``log_call`` and, for seeding, ``ensure_customer``. The normalized key is what
``PhoneNumber.normalized`` stores and what every lookup compares against, so storage and search
always go through the same function.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Value
from django.db.models.functions import Left, Upper
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from customers.models import CallRecord, Customer, PhoneNumber
from customers.phones import (
    InvalidPhoneNumber,
    dial_string,
    display_phone,
    is_complete_number,
    normalize_phone,
    partial_number,
    search_digits,
)
from customers.text import MULTILINE_ALLOWED, has_control_characters, printable

__all__ = [
    "CALL_EVENTS",
    "CustomerPage",
    "InvalidCallEvent",
    "InvalidCursor",
    "InvalidPhoneNumber",
    "InvalidSearch",
    "SearchTerms",
    "call_as_json",
    "create_customer",
    "customer_as_json",
    "customer_search_q",
    "dial_string",
    "display_phone",
    "ensure_customer",
    "find_by_phone",
    "log_call",
    "normalize_phone",
    "parse_search",
    "printable",
    "recent_calls",
    "renormalize_phones",
    "search_customers",
    "set_call_notes",
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
    customers: dict[int, Customer] = {}
    phones: dict[int, list[PhoneNumber]] = {}
    # One round trip (screen pop waits on it), written out once: building this query with the
    # ORM on every call cost more than the query itself (py-spy: a third of the lookup).
    with connection.cursor() as cursor:
        cursor.execute(_find_by_phone_sql(), [key])
        for row in cursor.fetchall():
            phone = PhoneNumber.from_db("default", _PHONE_COLUMNS, row[: len(_PHONE_COLUMNS)])
            customer = customers.get(phone.customer_id)
            if customer is None:
                values = row[len(_PHONE_COLUMNS) :]
                customer = Customer.from_db("default", _CUSTOMER_COLUMNS, values)
                customers[customer.id] = customer
            phone.customer = customer
            phones.setdefault(customer.id, []).append(phone)
    for pk, customer in customers.items():
        # What prefetch_related("phones") would have stored: customer.phones.all() reads it.
        customer._prefetched_objects_cache = {"phones": phones[pk]}
    return list(customers.values())


# What the screen pop, the call log and the by-number page read; other columns (notes, times)
# stay deferred (read on access). Text and integers only: no backend converters needed.
_PHONE_COLUMNS = ["id", "customer_id", "raw", "normalized", "digits"]
_CUSTOMER_COLUMNS = ["id", "name", "company", "email"]


@lru_cache(maxsize=1)
def _find_by_phone_sql() -> str:
    """Every phone of the customers having a number with key %s, each with its customer's
    columns, ordered as the list orders customers: (name, id), then the phone's id."""
    quote = connection.ops.quote_name
    phone, customer = PhoneNumber._meta, Customer._meta
    columns = [f"p.{quote(phone.get_field(n).column)}" for n in _PHONE_COLUMNS[:1]]
    columns += [f"p.{quote(n)}" for n in _PHONE_COLUMNS[1:]]
    columns += [f"c.{quote(customer.get_field(n).column)}" for n in _CUSTOMER_COLUMNS]
    phones = quote(phone.db_table)
    # Names from the models' metadata, the key a parameter: nothing typed reaches the text.
    return (
        f"SELECT {', '.join(columns)} FROM {phones} p "  # noqa: S608
        f"JOIN {quote(customer.db_table)} c ON c.id = p.customer_id "
        f"WHERE p.customer_id IN (SELECT customer_id FROM {phones} WHERE normalized = %s) "
        "ORDER BY c.name, c.id, p.id"
    )


@dataclass
class CustomerPage:
    """One page of :func:`search_customers`.

    ``customers`` (a list), opaque ``next_cursor`` / ``prev_cursor`` (``None`` at either end),
    ``phone_key``, the normalized number searched for (``None`` when the query was not a number),
    and ``prefix``: True when the query was searched as the start of names and companies (one or
    two characters, see :func:`parse_search`).
    """

    customers: list[Customer]
    next_cursor: str | None
    prev_cursor: str | None
    phone_key: str | None
    prefix: bool = False


# Digit strings shorter than this may also be part of a name or company ("360", "58同城").
SHORT_NUMBER_DIGITS = 7
# Text of at most this many characters is searched as the start of a name or company: a
# trigram index cannot serve it, and "王" anywhere in a name matches a large share of them.
PREFIX_SEARCH_CHARS = 2


@dataclass(frozen=True)
class SearchTerms:
    """What a search text means (see :func:`parse_search`).

    ``text``: matched in name or company ("" for none); ``prefix``: ``text`` must start the name
    or company rather than appear anywhere; ``digits``: a run of 4+ digits to find anywhere in any
    stored number (``None`` for none); ``phone_key``: the whole text's normalized number, matched
    exactly (``None`` for none).
    """

    text: str
    prefix: bool
    digits: str | None
    phone_key: str | None


def parse_search(query: str) -> SearchTerms:
    """Read a search text the one way the list and the admin both read it.

    Text that reads as (part of) a phone number (only digits, ``+``, spaces, ``- . ( )``) with 4
    or more digits finds every customer with a number containing those digits (in the number as
    typed, as shown or as E.164) or equal to it in any format; a whole valid number
    (libphonenumber) only the customers with that number, by its key (one index lookup, where a
    substring search of 11 digits reads several long trigram lists); with fewer than 7 digits
    it also matches name or company ("58同城", a house number). Fewer than 4 digits, and any other
    text, match name or company only: anywhere in them from 3 characters on, as their start
    for 1 or 2 characters (case-insensitive). Raises :class:`InvalidSearch` for a control
    character (nothing is sent to the database).
    """
    query = (query or "").strip()
    if has_control_characters(query):
        raise InvalidSearch(_("Search text cannot contain control characters (such as NUL)."))
    digits = partial_number(query)
    phone_key = None
    text = query
    if digits:
        try:
            phone_key = normalize_phone(query)
        except InvalidPhoneNumber:
            phone_key = None
        if len(digits) >= SHORT_NUMBER_DIGITS:
            text = ""
        if phone_key and is_complete_number(query):
            digits = None
    prefix = 0 < len(text) <= PREFIX_SEARCH_CHARS
    return SearchTerms(text=text, prefix=prefix, digits=digits, phone_key=phone_key)


def _phone_q(terms: SearchTerms) -> Q:
    numbers = Q(digits__contains=terms.digits) if terms.digits else Q()
    if terms.phone_key:
        numbers |= Q(normalized=terms.phone_key)
    return Q(id__in=PhoneNumber.objects.filter(numbers).values("customer_id"))


def _text_qs(terms: SearchTerms) -> list[Q]:
    """One condition per field (name, company); a prefix condition is the expression the
    ``customer_<field>_p<n>`` indexes hold, so each is one index range scan in page order."""
    if not terms.text:
        return []
    if terms.prefix:
        n = len(terms.text)
        value = Upper(Value(terms.text))
        return [Q(Exact(Left(Upper(field), n), value)) for field in ("name", "company")]
    return [Q(name__icontains=terms.text), Q(company__icontains=terms.text)]


def _id_parts(terms: SearchTerms, email: bool) -> list:
    customers = Customer.objects.order_by()
    parts = [customers.filter(q).values_list("id", flat=True) for q in _text_qs(terms)]
    if email and terms.text and not terms.prefix:
        parts.append(customers.filter(email__icontains=terms.text).values_list("id", flat=True))
    if terms.digits or terms.phone_key:
        numbers = Q(digits__contains=terms.digits) if terms.digits else Q()
        if terms.phone_key:
            numbers |= Q(normalized=terms.phone_key)
        phones = PhoneNumber.objects.order_by().filter(numbers)
        parts.append(phones.values_list("customer_id", flat=True))
    return parts


def customer_search_q(terms: SearchTerms, *, email: bool = False, known_up_to: int = 0) -> Q:
    """The filter of :func:`parse_search`'s ``terms`` on ``Customer`` (an empty ``Q`` for none);
    ``email``: text matches the e-mail too (the admin's search).

    Several conditions become one ``id IN (… UNION …)``, each part read from its own index: an
    OR of them made PostgreSQL walk the whole name index (seconds at a million customers, for
    the page and again for the admin's count). With ``known_up_to`` the ids are read first (one
    query) and, when there are at most that many, given as a list: PostgreSQL cannot estimate
    how many rows a union of pattern matches gives, guesses thousands and scans the whole table
    to join them (50-100 ms at a million customers for a few hundred matches).
    """
    parts = _id_parts(terms, email)
    if not parts:
        return Q()
    ids = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    if known_up_to:
        found = list(ids[: known_up_to + 1])
        if len(found) <= known_up_to:
            return Q(id__in=found)
    return Q(id__in=ids)


# A text search matching at most this many customers is read by their ids (see below).
FEW_MATCHES = 5000


def _few_matches_first(qs, condition: Q):
    """``qs`` filtered by a name/company substring ``condition``, or ``None`` when nothing matches.

    PostgreSQL cannot estimate how many names contain a pattern (it guesses 1%): for a page in
    name order it then walks the name index checking every row, 0.9 s for "5678" at a million
    customers (300 matches). So the matching ids are read first from the trigram index, up to
    :data:`FEW_MATCHES`: fewer means a page is those rows sorted; more means matches are dense
    and walking the name index finds a page within a few thousand rows."""
    ids = list(
        Customer.objects.filter(condition)
        .order_by()
        .values_list("id", flat=True)[: FEW_MATCHES + 1]
    )
    if not ids:
        return None
    return qs.filter(condition) if len(ids) > FEW_MATCHES else qs.filter(id__in=ids)


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
    # RecursionError: a forged cursor of deeply nested JSON ("[[[[...").
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidCursor(
            _("This page link is not valid; start again from the first page.")
        ) from exc
    return name, pk


def search_customers(
    query: str = "", *, after: str | None = None, before: str | None = None, page_size: int = 25
) -> CustomerPage:
    """Return one page of customers ordered by (name, id), filtered by ``query``.

    ``query`` is read by :func:`parse_search`: a number or 4+ of its digits finds the customers
    with such a number, one or two characters the names and companies starting with them, other
    text names and companies containing it. Pagination is by keyset ("seek"): ``after`` /
    ``before`` are cursors from a previous page; no COUNT and no OFFSET, so a page costs an index
    range scan whatever the table size. Raises :class:`InvalidSearch` when ``query`` holds a
    control character (none is sent to the database) and :class:`InvalidCursor` (an
    ``InvalidSearch``) on a forged cursor.
    """
    terms = parse_search(query)
    qs = Customer.objects.all()
    backwards = bool(before) and not after
    if after or before:
        name, pk = _decode_cursor(after or before)
        if backwards:
            qs = qs.filter(name__lte=name).exclude(name=name, id__gte=pk)
        else:
            qs = qs.filter(name__gte=name).exclude(name=name, id__lte=pk)
    order = ("-name", "-id") if backwards else ("name", "id")
    # (condition, is a substring match of name or company)
    conditions = [(q, not terms.prefix) for q in _text_qs(terms)]
    if terms.digits or terms.phone_key:
        conditions.append((_phone_q(terms), False))
    if len(conditions) > 1:
        # An OR across fields (and tables) cannot be read from one index in page order, and the
        # planner then walks the whole name index: read each condition's own index for one
        # page of ids, then the page among them (a page of the union lies within the pages of
        # its parts), ordered by the database: its collation orders names, not Python's.
        ids: set[int] = set()
        for condition, substring in conditions:
            part = _few_matches_first(qs, condition) if substring else qs.filter(condition)
            if part is not None:
                ids.update(part.order_by(*order).values_list("id", flat=True)[: page_size + 1])
        page = Customer.objects.filter(id__in=ids).order_by(*order).prefetch_related("phones")
        rows = list(page[: page_size + 1]) if ids else []
    else:
        qs = qs.filter(*(q for q, _substring in conditions))
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
        phone_key=terms.phone_key,
        prefix=terms.prefix,
    )


def customer_as_json(customer: Customer, url: str) -> dict:
    """Shape one customer for the JSON lookup.

    Returns ``{"id", "name", "company", "url", "phones": [{"raw", "normalized", "display"}]}``:
    ``raw`` as typed, ``display`` as the pages show it (:func:`display_phone`).
    """
    return {
        "id": customer.id,
        "name": customer.name,
        "company": customer.company,
        "url": url,
        "phones": [
            {"raw": p.raw, "normalized": p.normalized, "display": display_phone(p.raw)}
            for p in customer.phones.all()
        ],
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
        raise InvalidPhoneNumber(_("A customer needs at least one phone number."))
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
    """Recompute ``PhoneNumber.normalized`` and ``.digits`` from ``raw`` for every row, in batches.

    Needed after ``settings.PHONE_DEFAULT_REGION`` changes, and to fill ``digits`` of rows
    inserted with SQL. Returns ``(changed, total)``: rows with a new key or new search digits.
    A raw number that no longer normalizes keeps its old key (none can: ``raw`` was checked on
    save).
    """
    changed = total = 0
    last_id = 0
    while True:
        rows = list(
            PhoneNumber.objects.filter(id__gt=last_id)
            .order_by("id")
            .only("id", "raw", "normalized", "digits")[:batch_size]
        )
        if not rows:
            return changed, total
        dirty = []
        for row in rows:
            try:
                key = normalize_phone(row.raw)
            except InvalidPhoneNumber:
                key = row.normalized
            digits = search_digits(row.raw)
            if (key, digits) != (row.normalized, row.digits):
                row.normalized, row.digits = key, digits
                dirty.append(row)
        with transaction.atomic():
            PhoneNumber.objects.bulk_update(dirty, ["normalized", "digits"])
        changed += len(dirty)
        total += len(rows)
        last_id = rows[-1].id


# --- Customer creation (the "new customer" page, prefilled on screen pop) ---------------------


@transaction.atomic
def create_customer(
    name: str,
    phones: list[str],
    *,
    company: str = "",
    email: str = "",
    notes: str = "",
    agent=None,
    call_contact_id: str = "",
) -> Customer:
    """Create a customer with ``phones`` (as typed, blanks skipped) and return it.

    When ``agent`` and ``call_contact_id`` name one of the agent's calls without a customer (the
    unknown caller the form was opened for), that call is attached to the new customer. Raises
    :class:`InvalidPhoneNumber` when no number is given or one is not a phone number; nothing is
    saved then.
    """
    phones = [p.strip() for p in phones if p and p.strip()]
    if not phones:
        raise InvalidPhoneNumber(_("A customer needs at least one phone number."))
    for raw in phones:
        normalize_phone(raw)  # raises before anything is written
    customer = Customer.objects.create(name=name, company=company, email=email, notes=notes)
    for raw in phones:
        PhoneNumber.objects.create(customer=customer, raw=raw)
    if agent is not None and call_contact_id:
        CallRecord.objects.filter(
            agent=agent, contact_id=call_contact_id, customer__isnull=True
        ).update(customer=customer)
    return customer


# --- Call log ---------------------------------------------------------------------------------


class InvalidCallEvent(ValueError):
    """A call-log event that cannot be recorded (unknown event, missing contact id, bad time...)."""


# Events of the softphone's hooks (docs/PROTOCOL.md §2): onCallComing -> "ringing", onCallDialing ->
# "dialing", onCallEstablish -> "answered", onCallRelease -> "released"; then the agent's own
# "notes" (wrap-up) and "customer" (picked from the screen-pop chooser).
CALL_EVENTS = ("ringing", "dialing", "answered", "released", "notes", "customer")
TIMED_EVENTS = ("ringing", "dialing", "answered", "released")
# How far an event's own time may lie from the server's clock.
MAX_EVENT_SKEW = timedelta(days=1)
MAX_NOTES_CHARS = 5000
_ID_CHARS = 64
# The longest call the log believes (start to end); longer is a wrong clock or a forged event.
MAX_CALL_LENGTH = timedelta(hours=24)
# A caller/callee number longer than the column is kept shortened, ending with this mark.
SHORTENED = "\u2026"


def _event_time(at) -> datetime:
    if at is None or at == "":
        return timezone.now()
    try:
        when = at if isinstance(at, datetime) else parse_datetime(str(at))
    except ValueError:  # well-formed but impossible, e.g. month 13
        when = None
    if when is None or timezone.is_naive(when):
        raise InvalidCallEvent(
            _("“%(at)s” is not a time with a UTC offset (ISO 8601, e.g. 2026-01-01T08:00:00Z).")
            % {"at": at}
        )
    if abs(when - timezone.now()) > MAX_EVENT_SKEW:
        raise InvalidCallEvent(
            _("The event time %(at)s is more than a day away from now.") % {"at": at}
        )
    return when


def _text(value, field: str, limit: int = _ID_CHARS) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidCallEvent(_("%(field)s must be text.") % {"field": field})
    value = str(value).strip()
    if len(value) > limit:
        raise InvalidCallEvent(
            _("%(field)s is longer than %(limit)d characters.") % {"field": field, "limit": limit}
        )
    allow = MULTILINE_ALLOWED if limit == MAX_NOTES_CHARS else ""
    if has_control_characters(value, allow=allow):
        raise InvalidCallEvent(
            _("%(field)s contains control characters: %(value)s")
            % {"field": field, "value": printable(value)[:80]}
        )
    return value


def _number(value, field: str) -> str:
    """A caller/callee number as text; one over 64 characters is kept shortened, its last
    character replaced by :data:`SHORTENED` (the call is logged all the same)."""
    if isinstance(value, str) and len(value.strip()) > _ID_CHARS:
        value = value.strip()[: _ID_CHARS - 1] + SHORTENED
    return _text(value, field)


def _arrival_time(record: CallRecord, event: str, now: datetime) -> datetime:
    """The time of an event sent without one: ``now``, its arrival, moved no later than the
    record's later times (a start or answer arriving after the end was sent first) and no earlier
    than its earlier ones, since arrival order is not event order."""
    start = record.started_at if record.start_known else None
    later = {
        "ringing": (record.answered_at, record.ended_at),
        "dialing": (record.answered_at, record.ended_at),
        "answered": (record.ended_at,),
    }.get(event, ())
    earlier = {"answered": (start,), "released": (start, record.answered_at)}.get(event, ())
    for bound in later:
        if bound is not None:
            now = min(now, bound)
    for bound in earlier:
        if bound is not None:
            now = max(now, bound)
    return now


def _check_times(record: CallRecord) -> None:
    """Refuse impossible times: answered or ended before the start, answered after the end, or
    a call longer than :data:`MAX_CALL_LENGTH`. Raises :class:`InvalidCallEvent`."""
    start, answered, ended = record.started_at, record.answered_at, record.ended_at
    if answered and ended and answered > ended:
        raise InvalidCallEvent(_("The call cannot be answered after it ended."))
    if record.start_known and answered and answered < start:
        raise InvalidCallEvent(_("The call cannot be answered before it started."))
    if record.start_known and ended and ended < start:
        raise InvalidCallEvent(_("The call cannot end before it started."))
    if ended and ended - start > MAX_CALL_LENGTH:
        raise InvalidCallEvent(_("A call cannot last longer than 24 hours (start to end)."))


def _customer_for(number: str) -> Customer | None:
    """The one customer with ``number``; None for no match, several matches or no number."""
    if not number:
        return None
    try:
        matches = find_by_phone(number)
    except InvalidPhoneNumber:
        return None
    return matches[0] if len(matches) == 1 else None


def _earliest(current: datetime | None, when: datetime) -> datetime:
    return when if current is None or when < current else current


def log_call(
    agent,
    *,
    event: str,
    contact_id: str,
    direction: str,
    caller: str = "",
    callee: str = "",
    connid: str = "",
    at: datetime | str | None = None,
    notes: str | None = None,
    customer_id: int | None = None,
) -> CallRecord:
    """Record one softphone event of ``agent``'s call ``contact_id``; return the merged record.

    Idempotent and order-independent: one :class:`CallRecord` per (agent, contact_id); a repeated
    event changes nothing, and events arriving out of order merge to the same row (the earliest
    start/answer time wins, the latest end time wins, ``outcome`` and ``duration`` follow from the
    times). Times that cannot be (answered or ended before the start, answered after the end, a call
    over 24 hours) are refused; consistent events may still arrive in any order. A caller/callee
    over 64 characters is stored shortened, ending with "…". ``event`` is one of
    :data:`CALL_EVENTS`; ``direction`` is ``"inbound"`` or ``"outbound"`` (kept from the first
    event); ``at`` is the event time (aware datetime or ISO 8601 with offset, within a day of now;
    default now, UTC). ``notes`` (for ``"notes"``) replace the wrap-up notes. The customer is
    ``customer_id`` when given (the agent's choice), otherwise the single customer whose number is
    the remote party's (caller inbound, callee outbound), if exactly one matches. Once CCC has
    confirmed the record (``reconcile_calls``), events change no time. Concurrent calls
    for the same call serialize on the row lock (PostgreSQL) or the database write lock (SQLite).

    Raises :class:`InvalidCallEvent` for bad input; nothing is written then.
    """
    if event not in CALL_EVENTS:
        choices = ", ".join(CALL_EVENTS)
        raise InvalidCallEvent(
            _("Unknown call event “%(event)s”: use one of %(choices)s.")
            % {"event": event, "choices": choices}
        )
    if direction not in (CallRecord.INBOUND, CallRecord.OUTBOUND):
        raise InvalidCallEvent(_("direction must be “inbound” or “outbound”."))
    contact_id = _text(contact_id, "contactId")
    if not contact_id:
        raise InvalidCallEvent(_("contactId is required (the CCC contact or connection id)."))
    caller, callee = _number(caller, "caller"), _number(callee, "callee")
    connid = _text(connid, "connid")
    when = _event_time(at)
    if event == "notes":
        notes = _text(notes, "notes", MAX_NOTES_CHARS)
    customer = None
    if customer_id is not None:
        if isinstance(customer_id, bool) or not isinstance(customer_id, int):
            raise InvalidCallEvent(_("customerId must be a customer's id (a number)."))
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise InvalidCallEvent(_("There is no customer %(id)s.") % {"id": customer_id})
    elif event == "customer":
        raise InvalidCallEvent(_("customerId is required for the “customer” event."))

    with transaction.atomic():
        record = _locked_record(agent, contact_id, direction)
        record.caller = record.caller or caller
        record.callee = record.callee or callee
        record.connid = record.connid or connid
        if at is None or at == "":
            when = _arrival_time(record, event, when)
        if record.ccc_state == CallRecord.CONFIRMED and event in TIMED_EVENTS:
            event = "confirmed"  # CCC's own times (customers.reconcile) win over the browser's
        if event in ("ringing", "dialing"):
            known = record.started_at if record.start_known else None
            record.started_at, record.start_known = _earliest(known, when), True
        elif event == "answered":
            record.answered_at = _earliest(record.answered_at, when)
        elif event == "released":
            if record.ended_at is None or when > record.ended_at:
                record.ended_at = when
        elif event == "notes":
            record.notes = notes
        if not record.start_known:  # inferred from the earliest time known so far
            for known in (record.answered_at, record.ended_at):
                if known is not None:
                    record.started_at = _earliest(record.started_at, known)
            if record.started_at is None:
                record.started_at = when
        _check_times(record)
        if customer is not None:
            record.customer = customer
        elif record.customer_id is None:
            record.customer = _customer_for(record.remote_number)
        record.settle()
        record.save()
    return record


def _locked_record(agent, contact_id: str, direction: str) -> CallRecord:
    """The (agent, contact_id) row, locked for update; created when missing (race-safe)."""
    found = CallRecord.objects.select_for_update().filter(agent=agent, contact_id=contact_id)
    record = found.first()
    if record is not None:
        return record
    try:
        with transaction.atomic():  # a savepoint: a lost race must not poison the transaction
            return CallRecord.objects.create(
                agent=agent, contact_id=contact_id, direction=direction
            )
    except IntegrityError:
        return found.get()


def set_call_notes(agent, record_id: int, notes: str) -> CallRecord:
    """Replace the wrap-up notes of ``agent``'s own call ``record_id`` (after the call, from the
    customer's page). Raises ``CallRecord.DoesNotExist`` when the call is not the agent's, and
    :class:`InvalidCallEvent` for notes longer than 5000 characters or with control characters.
    """
    notes = _text(notes, "notes", MAX_NOTES_CHARS)
    with transaction.atomic():
        record = CallRecord.objects.select_for_update().get(pk=record_id, agent=agent)
        record.notes = notes
        record.save(update_fields=["notes", "updated"])
    return record


def recent_calls(customer: Customer, limit: int = 20) -> list[CallRecord]:
    """The customer's newest ``limit`` calls, newest first, with their agents."""
    return list(customer.calls.select_related("agent").order_by("-started_at", "-id")[:limit])


def caller_context(customer: Customer, limit: int = 5) -> dict:
    """What the console shows beside a call about its customer, in the request's language.

    ``{"id", "name", "company", "notes", "calls": [{"id", "when", "direction", "outcome",
    "duration", "number", "agent", "notes"}]}``: the newest ``limit`` calls, newest first;
    ``when`` in the language's DATETIME_FORMAT and TIME_ZONE, ``direction``/``outcome`` translated
    labels, ``duration`` in seconds (or null), ``number`` the other party as the pages show it.
    """
    calls = []
    for call in recent_calls(customer, limit):
        party = call.caller if call.direction == CallRecord.INBOUND else call.callee
        calls.append(
            {
                "id": call.pk,
                "when": (
                    date_format(timezone.localtime(call.started_at), "DATETIME_FORMAT")
                    if call.started_at
                    else ""
                ),
                "direction": call.get_direction_display(),
                "outcome": call.get_outcome_display(),
                "duration": call.duration,
                "number": display_phone(party),
                "agent": call.agent.get_username() if call.agent else "",
                "notes": call.notes,
            }
        )
    return {
        "id": customer.pk,
        "name": customer.name,
        "company": customer.company,
        "notes": customer.notes,
        "calls": calls,
    }


def call_as_json(record: CallRecord) -> dict:
    """Shape one call record for the call-log endpoint.

    ``{"id", "contactId", "direction", "caller", "callee", "callerDisplay", "calleeDisplay",
    "customerId", "startedAt", "answeredAt", "endedAt", "duration", "outcome", "notes"}``; times
    ISO 8601 UTC or null, ``duration`` in seconds, ``*Display`` the numbers as the pages show them
    (:func:`display_phone`).
    """

    def iso(value):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": record.pk,
        "contactId": record.contact_id,
        "direction": record.direction,
        "caller": record.caller,
        "callee": record.callee,
        "callerDisplay": display_phone(record.caller),
        "calleeDisplay": display_phone(record.callee),
        "customerId": record.customer_id,
        "startedAt": iso(record.started_at),
        "answeredAt": iso(record.answered_at),
        "endedAt": iso(record.ended_at),
        "duration": record.duration,
        "outcome": record.outcome,
        "notes": record.notes,
    }
