"""Phone number normalization: one function for storage and for every lookup.

Follows ITU-T E.164 as implemented by Google's libphonenumber (the ``phonenumbers`` package):
https://github.com/google/libphonenumber. Public through ``customers.services``.
"""

import contextlib
import re
import unicodedata
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

from customers.text import has_control_characters, printable


class InvalidPhoneNumber(ValueError):
    """The text holds no usable phone number (no digits, too few or too many, or stray letters)."""


# An extension written after the number: "ext. 12", "x12", "#12", "转12", "分机12".
_EXTENSION = re.compile(r"(?:ext\.?|extension|x|#|转|分机)\s*(\d{1,10})\s*$", re.IGNORECASE)
# What may remain once the extension is gone: digits, one leading +, and separators.
_ALLOWED = re.compile(r"[(\s]*\+?[\d\s\-.()/]*")
_MIN_DIGITS = 3
_MAX_DIGITS = 20


def normalize_phone(raw: str) -> str:
    """Return the lookup key of a phone number typed in any common form.

    The key is E.164 (``"+8613800138000"``) whenever libphonenumber can read the number, valid or
    not, reading national numbers in ``settings.PHONE_DEFAULT_REGION`` (read at call time). So
    ``"+86 138-0013-8000"``, ``"008613800138000"``, ``"86 13800138000"`` and ``"13800138000"``
    share one key, and so do ``"010-6552 9988"``, ``"+86 (0)10 6552 9988"`` and
    ``"+861065529988"`` (trunk 0 dropped). The seed's 12-digit ``135012345678`` (no valid Chinese
    number) still gets ``"+86135012345678"`` however it is written. Full-width digits are read as
    digits; an extension (``ext 12``, ``x12``, ``#12``, ``转12``) is not part of the key. A number
    libphonenumber cannot read at all (e.g. an unknown country code) gets its digits as the key
    (with the leading ``+`` when it was written with one). ``normalize_phone(key) == key``.

    Raises :class:`InvalidPhoneNumber` (a ``ValueError``) when the text has letters other than an
    extension marker, a control character (NUL, tab... anywhere but the ends), fewer than 3 or more
    than 20 digits. Messages quote ``raw`` with control characters escaped.
    """
    if raw is None:
        raise InvalidPhoneNumber(_("No phone number given."))
    return _normalize(str(raw), settings.PHONE_DEFAULT_REGION)


# Pages normalize the same numbers again and again (each number's dial string starts from its
# key); the key depends only on the text and the region. Errors are not cached.
@lru_cache(maxsize=16384)
def _normalize(raw: str, region: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise InvalidPhoneNumber(_("No phone number given."))
    shown = printable(raw)
    if has_control_characters(text):
        raise InvalidPhoneNumber(
            _("“%(number)s” is not a phone number: it contains control characters.")
            % {"number": shown}
        )
    number_part = _EXTENSION.sub("", text).strip()
    if not _ALLOWED.fullmatch(number_part):
        raise InvalidPhoneNumber(
            _("“%(number)s” is not a phone number: only digits, +, spaces, - . ( ) allowed.")
            % {"number": shown}
        )
    digits = re.sub(r"\D", "", number_part)
    if len(digits) < _MIN_DIGITS:
        raise InvalidPhoneNumber(
            _("“%(number)s” is not a phone number: too few digits.") % {"number": shown}
        )
    if len(digits) > _MAX_DIGITS:
        raise InvalidPhoneNumber(
            _("“%(number)s” is not a phone number: too many digits.") % {"number": shown}
        )
    try:
        parsed = phonenumbers.parse(number_part, region)
    except phonenumbers.NumberParseException:
        # Keep a leading + so that the key, looked up again, gives itself back.
        return "+" + digits if number_part.lstrip("( ").startswith("+") else digits
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def dial_string(number: str) -> str:
    """Return what an agent in ``settings.PHONE_DEFAULT_REGION`` would dial for ``number``.

    ``number`` is a lookup key (E.164) or anything :func:`normalize_phone` accepts. A valid number
    is dialled as libphonenumber formats it for calling from the default region, digits only
    (``+8613501234567`` -> ``13501234567``, ``+861065529988`` -> ``01065529988``,
    ``+14155550100`` -> ``0014155550100`` from China). A number libphonenumber deems invalid in
    the default region's country is dialled as its national digits (the seed's 12-digit
    ``+86135012345678`` -> ``135012345678``, as typed); anything else as its key. Raises
    :class:`InvalidPhoneNumber` like :func:`normalize_phone`.
    """
    return _dial_string(normalize_phone(number), settings.PHONE_DEFAULT_REGION)


# A list page renders every number's dial string; libphonenumber's parse and format cost tens of
# microseconds each, and the answer depends only on the key and the region.
@lru_cache(maxsize=16384)
def _dial_string(key: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(key, region)
    except phonenumbers.NumberParseException:
        return key
    if phonenumbers.is_valid_number(parsed):
        text = phonenumbers.format_out_of_country_calling_number(parsed, region)
        return ("+" if text.startswith("+") else "") + re.sub(r"\D", "", text)
    if parsed.country_code == phonenumbers.country_code_for_region(region):
        return phonenumbers.national_significant_number(parsed)
    return key


def display_phone(raw) -> str:
    """Return ``raw`` (a number as typed, or a key) the one way the pages show numbers.

    A valid number of ``settings.PHONE_DEFAULT_REGION`` in its national format (``"138 0013
    8000"``, ``"010 6552 9988"`` in ``CN``), any other valid number in the international format
    (``"+1 415-555-0100"``), an extension written after it as ``" ext. 12"``. What libphonenumber
    cannot read or deems invalid (the seed's 12-digit ``135012345678``, a number with letters,
    an unknown country code) is returned as typed, stripped, control characters escaped
    (:func:`customers.text.printable`): a number is never lost or changed into another one.
    ``None`` gives ``""``. Never raises.
    """
    if raw is None:
        return ""
    return _display(str(raw), settings.PHONE_DEFAULT_REGION)


# A list page shows each number once per render; parsing and formatting cost tens of
# microseconds a number, and the answer depends only on the text and the region.
@lru_cache(maxsize=16384)
def _display(raw: str, region: str) -> str:
    shown = printable(raw.strip())  # a control character shows escaped, never reorders a line
    try:
        _normalize(raw, region)  # the same checks as storage: letters, control characters...
    except InvalidPhoneNumber:
        return shown
    text = unicodedata.normalize("NFKC", raw).strip()
    extension = _EXTENSION.search(text)
    try:
        parsed = phonenumbers.parse(_EXTENSION.sub("", text).strip(), region)
    except phonenumbers.NumberParseException:
        return shown
    if not phonenumbers.is_valid_number(parsed):
        return shown
    if extension:
        parsed.extension = extension.group(1)
    if phonenumbers.is_valid_number_for_region(parsed, region):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def is_complete_number(raw) -> bool:
    """True when libphonenumber deems ``raw`` a valid, whole number (read in
    ``settings.PHONE_DEFAULT_REGION``, extension ignored): a search for it needs only its key.
    Never raises."""
    return _is_complete(str(raw or ""), settings.PHONE_DEFAULT_REGION)


@lru_cache(maxsize=4096)
def _is_complete(raw: str, region: str) -> bool:
    text = _EXTENSION.sub("", unicodedata.normalize("NFKC", raw).strip()).strip()
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


# Fewer digits than this are not searched for as part of a number ("360" is a company's name
# more often than a piece of a phone number, and 3 digits match a large share of all numbers).
PARTIAL_NUMBER_DIGITS = 4


def search_digits(raw) -> str:
    """Return the digit strings a partial-number search looks in, for one stored number.

    Space-separated digit runs of the number as typed, of its key (E.164 without the ``+``) and of
    its display form (:func:`display_phone`, e.g. the national form with trunk ``0``), each
    without the extension, a run that is part of a longer one left out: ``"+86 10 6552 9988"`` ->
    ``"861065529988 01065529988"``. So any 4+ consecutive digits an agent sees or typed find it,
    but never digits joined across two forms. What is stored in ``PhoneNumber.digits``;
    ``""`` for text without digits. Never raises.
    """
    if raw is None:
        return ""
    return _search_digits(str(raw), settings.PHONE_DEFAULT_REGION)


@lru_cache(maxsize=4096)
def _search_digits(raw: str, region: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip()
    forms = [_digits(_EXTENSION.sub("", text))]
    with contextlib.suppress(InvalidPhoneNumber):  # text that is no number: its digits only
        forms.append(_digits(_normalize(raw, region)))
    forms.append(_digits(_EXTENSION.sub("", _display(raw, region))))
    kept: list[str] = []
    for form in sorted({f for f in forms if f}, key=len, reverse=True):
        if not any(form in longer for longer in kept):
            kept.append(form)
    return " ".join(kept)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text), flags=re.ASCII)


def partial_number(query: str) -> str | None:
    """The digits of ``query`` when it reads as (part of) a phone number, else ``None``.

    ``query`` must hold only what a number is written with (digits, full-width digits, ``+``,
    spaces, ``- . ( ) /``, an extension marker) and at least :data:`PARTIAL_NUMBER_DIGITS`
    digits outside the extension: ``"0013 8000"`` -> ``"00138000"``; ``"123"``, ``"王伟"`` ->
    ``None``.
    """
    text = unicodedata.normalize("NFKC", query or "").strip()
    number_part = _EXTENSION.sub("", text).strip()
    if not number_part or has_control_characters(text) or not _ALLOWED.fullmatch(number_part):
        return None
    digits = _digits(number_part)
    return digits if len(digits) >= PARTIAL_NUMBER_DIGITS else None
