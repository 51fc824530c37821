"""Phone number normalization: one function for storage and for every lookup.

Follows ITU-T E.164 as implemented by Google's libphonenumber (the ``phonenumbers`` package):
https://github.com/google/libphonenumber. Public through ``customers.services``.
"""

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
