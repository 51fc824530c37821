"""The two conversions of docs/PROTOCOL.md §2, on examples and as hypothesis properties."""

import json
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccc_proxy.conversion import (
    ConversionError,
    parameter_text,
    to_openapi_parameters,
    to_sdk_response,
)

# --- request: softphone JSON object -> OpenAPI parameters --------------------------------------


def test_request_example():
    params = to_openapi_parameters(
        {
            "instanceId": "i-1",
            "pageSize": 10,
            "ratio": 1.5,
            "hidden": False,
            "visible": True,
            "criteria": {"phone": "135", "tags": [1, None, "中"]},
            "ids": ["a", "b"],
            "skipped": None,
            "Already": "x",
        }
    )
    assert params == {
        "InstanceId": "i-1",
        "PageSize": "10",
        "Ratio": "1.5",
        "Hidden": "false",
        "Visible": "true",
        "Criteria": '{"phone":"135","tags":[1,null,"中"]}',
        "Ids": '["a","b"]',
        "Already": "x",
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"": 1},
        {"with space": 1},
        {"1abc": 1},
        {"a" * 65: 1},
        {"a\nb": 1},
        {"instanceId": "a", "InstanceId": "b"},
        {"accessKeyId": "STS.x"},
        {"SecurityToken": "x"},
        {"signature": "x"},
        {"action": "MakeCall"},
        {"regionId": "cn-hangzhou"},
    ],
)
def test_request_refuses_bad_or_reserved_keys(bad):
    with pytest.raises(ConversionError):
        to_openapi_parameters(bad)


@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "\x00", "\x01", "\x1b", "\x7f"])
@pytest.mark.parametrize(
    "where",
    [
        lambda c: {"userId": f"u{c}"},
        lambda c: {"criteria": {"name": [1, f"x{c}"]}},
        lambda c: {"criteria": {f"k{c}": 1}},
        lambda c: {"list": [[{"deep": c}]]},
    ],
)
def test_request_refuses_unsendable_characters_anywhere(bad, where):
    with pytest.raises(ConversionError, match=f"U\\+{ord(bad):04X}"):
        to_openapi_parameters(where(bad))


def test_request_keeps_tab_newline_and_non_ascii():
    text = "line 1\tA\r\nline 2 é 中 😀"
    assert to_openapi_parameters({"note": text, "c": {"k": [text]}}) == {
        "Note": text,
        "C": json.dumps({"k": [text]}, ensure_ascii=False, separators=(",", ":")),
    }


def test_parameter_text_refuses_nan():
    with pytest.raises(ConversionError):
        parameter_text(float("nan"))


# What no request text may carry: lone surrogates, C0 controls other than tab/LF/CR, and DEL.
UNSENDABLE = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]
sendable_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=UNSENDABLE)
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    sendable_text.filter(lambda t: len(t) <= 20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(sendable_text.filter(lambda t: len(t) <= 8), children, max_size=4),
    ),
    max_leaves=20,
)
# lowerCamel keys, distinct after upper-casing the first letter.
request_keys = st.from_regex(r"[a-z][A-Za-z0-9]{0,12}", fullmatch=True).filter(
    lambda k: (
        k[:1].upper() + k[1:]
        not in {
            "AccessKeyId",
            "Action",
            "BearerToken",
            "Format",
            "RegionId",
            "SecurityToken",
            "Signature",
            "SignatureMethod",
            "SignatureNonce",
            "SignatureType",
            "SignatureVersion",
            "Timestamp",
            "Version",
        }
    )
)


@given(st.dictionaries(request_keys, json_values, max_size=8))
def test_request_properties(obj):
    params = to_openapi_parameters(obj)
    # null dropped, every other key kept with its first letter upper-cased
    assert set(params) == {k[0].upper() + k[1:] for k, v in obj.items() if v is not None}
    for key, value in obj.items():
        if value is None:
            continue
        text = params[key[0].upper() + key[1:]]
        assert isinstance(text, str)
        if isinstance(value, bool):
            assert text == ("true" if value else "false")
        elif isinstance(value, int):
            assert text == str(value) and text.lstrip("-").isdigit()
        elif isinstance(value, str):
            assert text == value
        else:  # floats, objects and arrays: JSON text (never Python's repr) of the same value
            assert json.loads(text) == value


# --- response: OpenAPI answer -> what the 1.x SDK expects -------------------------------------


def test_response_example_from_protocol():
    upstream = {
        "RequestId": "r",
        "Success": True,
        "Code": "OK",
        "HttpStatusCode": 200,
        "SkillLevels": {
            "SkillLevel": [
                {
                    "SkillLevelId": "1",
                    "Level": 5,
                    "Skill": {
                        "SkillGroupId": "g",
                        "SkillGroupName": "n",
                        "OutboundPhoneNumbers": {"PhoneNumber": []},
                    },
                }
            ]
        },
    }
    assert to_sdk_response(upstream) == {
        "requestId": "r",
        "success": True,
        "code": "OK",
        "httpStatusCode": 200,
        "skillLevels": [
            {
                "skillLevelId": "1",
                "level": 5,
                "skill": {"skillGroupId": "g", "skillGroupName": "n", "outboundPhoneNumbers": []},
            }
        ],
    }


def test_response_keeps_two_key_objects_and_single_key_non_arrays():
    upstream = {
        "CallDetailRecords": {"List": [{"ContactId": "c"}], "TotalCount": 1},
        "Token": {"Signature": "s"},
        "LoginInfo": {"Roles": {"Role": [{"RoleId": "x"}]}},
    }
    assert to_sdk_response(upstream) == {
        "callDetailRecords": {"list": [{"contactId": "c"}], "totalCount": 1},
        "token": {"signature": "s"},
        "loginInfo": {"roles": [{"roleId": "x"}]},
    }


upper_keys = st.from_regex(r"[A-Z][A-Za-z0-9]{0,10}", fullmatch=True)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
answers = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(upper_keys, children, max_size=4)
    ),
    max_leaves=25,
)


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def _has_wrapper(value):
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(next(iter(value.values())), list):
            return True
        return any(_has_wrapper(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_wrapper(v) for v in value)
    return False


def _upper_keys(value):
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: _upper_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_upper_keys(v) for v in value]
    return value


@given(st.dictionaries(upper_keys, answers, max_size=5))
def test_response_properties(answer):
    converted = to_sdk_response(answer)
    # the root stays an object, with one key per upstream key
    assert isinstance(converted, dict) and len(converted) == len(answer)
    # no key starts with an upper-case letter any more
    assert all(k[:1] not in string.ascii_uppercase for k in _keys(converted))
    # nothing is lost or reordered: same scalar leaves, same order
    assert list(_leaves(converted)) == list(_leaves(answer))
    # without wrappers the conversion only renames keys, and renaming back restores the answer
    if not any(_has_wrapper(v) for v in answer.values()):
        assert _upper_keys(converted) == answer


@given(upper_keys, upper_keys, st.lists(answers, max_size=4))
def test_response_wrapper_collapses_to_its_converted_list(outer, inner, items):
    converted = to_sdk_response({outer: {inner: items}})
    assert converted == {outer[0].lower() + outer[1:]: to_sdk_response({"X": items})["x"]}
