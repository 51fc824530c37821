"""The two conversions between the softphone SDK 1.x and the CCC OpenAPI (API 2017-07-05).

The 1.x WorkbenchSdk (``useOpenApiSdk: false``) posts ``request=<JSON object with lowerCamel keys>``
and expects answers with lowerCamel keys and list wrappers removed; the OpenAPI (RPC style) takes
flat UpperCamel text parameters and answers UpperCamel JSON where lists come wrapped as
``{"SkillLevels": {"SkillLevel": [...]}}``.

Sources: docs/PROTOCOL.md §2 (CCC docs 63062/63063 "软电话SDK前端接入"), and the
``copyObject``/``invokeApi`` conversion of Alibaba's Java CRM demo (``CccController.java``,
public mirror ``leejinki1/ccc-crm-demo-java``). Unlike the demo, one-letter keys are not
upper-cased on the way back, and values are written as JSON text rather than Java's ``toString``.
"""

import json
import re
from typing import Any

# What a request key may look like: an OpenAPI parameter name, in lowerCamel or UpperCamel.
_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")

# Characters no request text may carry: lone UTF-16 surrogates (JSON's "\ud800" escape; not
# encodable as UTF-8, so the request could not even be signed) and the C0 control characters other
# than tab, LF and CR, plus DEL: no CCC parameter takes them, and NUL cuts strings short in many
# back ends.
_FORBIDDEN_TEXT_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# Common and signing parameters of the RPC protocol (docs/PROTOCOL.md §4). They are set by the proxy
# and the SDK only; a browser may never supply them.
RESERVED_PARAMETERS = frozenset(
    {
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


class ConversionError(ValueError):
    """The softphone's request object cannot be turned into OpenAPI parameters (a bad request)."""


def _upper_first(key: str) -> str:
    return key[:1].upper() + key[1:]


def _lower_first(key: str) -> str:
    return key[:1].lower() + key[1:]


def check_text(value: Any, where: str) -> None:
    """Raise ``ConversionError`` when any string in ``value`` (a JSON value: strings, object keys
    and values, array items, at any depth) holds a lone surrogate or a control character other
    than tab, LF and CR (see ``_FORBIDDEN_TEXT_RE``). ``where`` names the parameter in the
    message."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            bad = _FORBIDDEN_TEXT_RE.search(item)
            if bad:
                raise ConversionError(
                    f"parameter {where} contains the character U+{ord(bad.group()):04X}, "
                    "which cannot be sent"
                )
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def parameter_text(value: Any) -> str:
    """Return one request value as the text the OpenAPI expects.

    ``True``/``False`` -> ``"true"``/``"false"``; integers as their digits; floats as JSON numbers;
    strings unchanged; objects and arrays as compact JSON text (UTF-8, not ``\\u`` escaped).
    Raises ``ConversionError`` for anything that is not a JSON value (``None`` is the caller's
    business: it is dropped, not converted).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | dict | list):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConversionError(f"value is not JSON: {exc}") from exc
    raise ConversionError(f"unsupported value type {type(value).__name__}")


def to_openapi_parameters(request_object: dict[str, Any]) -> dict[str, str]:
    """Convert the softphone's request object into OpenAPI query parameters.

    ``{"instanceId": "i", "pageSize": 10, "hidden": false, "criteria": {"a": 1}, "x": null}``
    becomes ``{"InstanceId": "i", "PageSize": "10", "Hidden": "false", "Criteria": "{\\"a\\":1}"}``:
    the first letter of each top-level key upper-cased, every value text (see
    ``parameter_text``), ``null`` dropped.

    Raises ``ConversionError`` when a key is not a plain parameter name, when two keys differ only
    in the case of their first letter, when a string anywhere in a value cannot be sent (see
    ``check_text``), or when a key is a common/signing parameter of the
    protocol (``AccessKeyId``, ``Signature``, ``Action``... see ``RESERVED_PARAMETERS``).
    """
    parameters: dict[str, str] = {}
    for key, value in request_object.items():
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise ConversionError(f"invalid parameter name {str(key)[:80]!r}")
        name = _upper_first(key)
        if name in RESERVED_PARAMETERS:
            raise ConversionError(f"parameter {name} is set by the server, not by the client")
        if value is None:
            continue
        if name in parameters:
            raise ConversionError(f"parameter {name} is given twice")
        check_text(value, name)
        parameters[name] = parameter_text(value)
    return parameters


def _convert_value(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            (only,) = value.values()
            if isinstance(only, list):
                return [_convert_value(item) for item in only]
        return {_lower_first(k): _convert_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert_value(item) for item in value]
    return value


def to_sdk_response(answer: dict[str, Any]) -> dict[str, Any]:
    """Convert an OpenAPI answer (UpperCamel JSON object) for the 1.x softphone SDK.

    Recursively lower-cases the first letter of every key, and replaces every nested object
    that has exactly one key whose value is an array by that (converted) array:
    ``{"RequestId": "r", "SkillLevels": {"SkillLevel": [{"Level": 5}]}}`` becomes
    ``{"requestId": "r", "skillLevels": [{"level": 5}]}``. The decision to collapse looks at the
    upstream object as received (like Alibaba's demo). The root object itself is never replaced,
    so the SDK always gets an object. Scalars are kept as they are (numbers stay numbers).
    """
    return {_lower_first(k): _convert_value(v) for k, v in answer.items()}
