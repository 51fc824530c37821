"""normalize_phone: one key for every way a number is written; a clear error for garbage."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customers.services import InvalidPhoneNumber, normalize_phone

MR_LU = "+86135012345678"


@pytest.mark.parametrize(
    "raw",
    [
        "135012345678",
        "135 0123 45678",
        "+86 135012345678",
        "0086-135012345678",
        "86135012345678",
        "86 135 0123 4567 8",
        "(+86) 135.0123.45678",
        "１３５０１２３４５６７８",  # full-width digits
        "＋８６ １３５０１２３４５６７８",
    ],
)
def test_seed_number_same_key_however_typed(raw):
    assert normalize_phone(raw) == MR_LU


@pytest.mark.parametrize(
    "raw",
    ["+86 138-0013-8000", "008613800138000", "13800138000", "86 13800138000", "138.0013.8000"],
)
def test_mobile_forms(raw):
    assert normalize_phone(raw) == "+8613800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "010-6552 9988",
        "(010) 6552-9988",
        "+86 10 6552 9988",
        "+86 (0)10 6552 9988",
        "+86 010 6552 9988",
        "0086 10 65529988",
        "+861065529988",
        "010-65529988 ext. 12",
        "010-65529988 x12",
        "010 6552 9988 转 8001",
    ],
)
def test_landline_trunk_zero_and_extension(raw):
    assert normalize_phone(raw) == "+861065529988"


def test_foreign_number_keeps_its_country():
    assert normalize_phone("+1 (650) 253-0000") == "+16502530000"


def test_unparseable_number_falls_back_to_digits():
    # +999 is no country code: libphonenumber cannot read it, the digits are the key.
    assert normalize_phone("+999 1234 5678") == "+99912345678"
    assert normalize_phone("+99912345678") == "+99912345678"
    assert normalize_phone("00999 1234 5678") == "0099912345678"
    assert normalize_phone("0099912345678") == "0099912345678"


def test_region_is_read_at_call_time(settings):
    settings.PHONE_DEFAULT_REGION = "US"
    assert normalize_phone("(650) 253-0000") == "+16502530000"
    settings.PHONE_DEFAULT_REGION = "CN"
    assert normalize_phone("650 253 0000").startswith("+86")


@pytest.mark.parametrize(
    "raw", ["", "   ", None, "abc", "call me", "12", "--", "13800138000abc", "1" * 21, "+86+86"]
)
def test_garbage_raises_clear_error(raw):
    with pytest.raises(InvalidPhoneNumber) as exc:
        normalize_phone(raw)
    assert isinstance(exc.value, ValueError)
    assert str(exc.value)


# Mainland mobiles: 13x-19x, but not 179xx, which is China's IP-dialling (carrier selection) prefix
# that phonenumbers strips ("17900001000" is not a mobile number).
national = st.from_regex(r"1(?:[3-68-9][0-9]|7[0-8])[0-9]{8}", fullmatch=True)
separators = st.sampled_from(["", " ", "-", ".", " - "])
prefixes = st.sampled_from(["", "+86", "+86 ", "0086", "0086-", "86 ", "(+86) "])


@given(number=national, sep=separators, prefix=prefixes)
def test_any_written_form_of_a_mobile_gives_one_key(number, sep, prefix):
    written = prefix + sep.join([number[:3], number[3:7], number[7:]])
    assert normalize_phone(written) == normalize_phone(number) == "+86" + number


@given(
    area=st.sampled_from(["10", "21", "755", "571"]),
    local=st.from_regex(r"[2-8][0-9]{7}", fullmatch=True),
)
def test_any_written_form_of_a_landline_gives_one_key(area, local):
    key = "+86" + area + local
    for written in (
        f"0{area}-{local}",
        f"+86 {area} {local}",
        f"0086{area}{local}",
        f"(0{area}) {local}",
    ):
        assert normalize_phone(written) == key


@given(st.text(max_size=30))
def test_never_crashes_with_anything_but_invalid_phone_number(text):
    try:
        key = normalize_phone(text)
    except InvalidPhoneNumber:
        return
    assert key and (key.startswith("+") or key.isdigit())
    assert normalize_phone(key) == key  # the key is a fixed point: storing it twice is harmless


def test_a_list_page_parses_each_number_once(settings, monkeypatch):
    """Rendering the same number again (25 rows of a list page, each with its dial string)
    does not parse it again; a change of PHONE_DEFAULT_REGION is still honoured."""
    import phonenumbers as lib

    from customers.phones import dial_string
    from customers.templatetags.customers_tags import phone_parts as phone

    calls = []
    real_parse = lib.parse
    monkeypatch.setattr(lib, "parse", lambda *a, **k: calls.append(a) or real_parse(*a, **k))
    settings.PHONE_DEFAULT_REGION = "CN"
    first = phone("010-6552 7700")
    for _ in range(25):
        assert phone("010-6552 7700") == first
    assert first["key"] == "+861065527700" and first["dial"] == "01065527700"
    assert first["display"] == "010 6552 7700"
    assert len(calls) <= 4
    settings.PHONE_DEFAULT_REGION = "US"
    assert dial_string("+861065527700") == "011861065527700"
