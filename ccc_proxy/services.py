"""The softphone proxy: validate an SDK call, forward it as the agent, translate the answer.

Flow (docs/ccc-openapi.md, docs/ccc-2x.md): the WorkbenchSdk posts ``?action=<Api>`` (the 2.x
SDK adds ``&product=CloudCallCenter&version=2020-07-01&region=<regionId>``, checked by
``check_sdk_query``) with ``request=<JSON object>``; the action is checked against the allowlist
(``CCC_PROXY_ALLOWED_ACTIONS``, by default the table of ``ALIYUN_CCC_API_VERSION`` in
``ccc_proxy.actions``), ``InstanceId`` pinned to ``ALIYUN_CCC_INSTANCE_ID``, keys and values
converted (``conversion``), the agent's access token fetched (``aliyun_oauth.services``) and
turned into STS credentials or a bearer token, and the call signed and sent (``client``). For
API 2017-07-05 the answer is converted for the 1.x SDK; 2020-07-01 answers pass through as the
public OpenAPI JSON.

Errors are ``ProxyError``: an HTTP status plus, for 1.x, the demo's error body
``{"requestId", "errorCode", "message"}`` (``linkUrl`` added when the agent must link the
Alibaba Cloud account), for 2.x the OpenAPI envelope ``{"RequestId", "Code", "HttpStatusCode",
"Message", "Params", "Data"}`` (``Data.LinkUrl`` then).
"""

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from aliyun_oauth import services as oauth
from ccc_proxy import actions, client
from ccc_proxy.conversion import ConversionError, to_openapi_parameters, to_sdk_response
from crmdemo.request_id import current_request_id

logger = logging.getLogger("ccc_proxy")

# Upstream error codes meaning "these credentials are expired or unknown" (docs/ccc-openapi.md, and
# the Alibaba Cloud gateway's documented access-key errors).
TOKEN_REJECTED_CODES = frozenset(
    {
        "InvalidSecurityToken.Expired",
        "InvalidSecurityToken.Malformed",
        "InvalidSecurityToken.MismatchWithAccessKey",
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId.Inactive",
        "InvalidAccessKeyId",
        # Bearer mode: the code for an unknown bearer token is the sandbox's (Alibaba's is
        # unconfirmed); an expired one is InvalidSecurityToken.Expired there too.
        "InvalidBearerToken.NotFound",
    }
)

# How deeply arrays and objects may nest in the request JSON (the SDK's requests are flat; a
# limit well below Python's recursion limit keeps the decoder from failing half-way).
MAX_REQUEST_NESTING = 32
# A JSON string (brackets inside it do not nest).
_JSON_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)

_ACTION_RE = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")

_FORM = "application/x-www-form-urlencoded"


class ProxyError(Exception):
    """A refused or failed proxy call: ``status`` (HTTP), ``error_code``, ``message``.

    ``request_id`` is the upstream's RequestId when the upstream answered; otherwise the CRM's own
    request id (``X-Request-ID``, crmdemo.request_id) so that the browser's report and the server
    log can be matched. ``link_url`` is where the agent links the Alibaba Cloud account (401
    ``NotAuthenticated`` only); ``retry_after`` the seconds to wait (429 only).
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        request_id: str | None = None,
        link_url: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.upstream_request_id = request_id
        self.request_id = request_id or current_request_id() or str(uuid.uuid4()).upper()
        self.link_url = link_url
        self.retry_after = retry_after

    def as_json(self, version: str | None = None) -> dict[str, Any]:
        """The body sent to the SDK of API ``version`` (default ``ALIYUN_CCC_API_VERSION``):
        1.x ``{"requestId", "errorCode", "message"[, "linkUrl"]}``; 2.x the OpenAPI envelope
        ``{"RequestId", "Code", "HttpStatusCode", "Message", "Params", "Data"}`` with
        ``Data: {"LinkUrl"}`` or null, so that the 2.x SDK's ``onErrorNotify`` shows the code
        and the request id."""
        if (version or settings.ALIYUN_CCC_API_VERSION) == actions.API_2020:
            return {
                "RequestId": self.request_id,
                "Code": self.error_code,
                "HttpStatusCode": self.status,
                "Message": self.message,
                "Params": [],
                "Data": {"LinkUrl": self.link_url} if self.link_url else None,
            }
        body = {"requestId": self.request_id, "errorCode": self.error_code, "message": self.message}
        if self.link_url:
            body["linkUrl"] = self.link_url
        return body


@dataclass(frozen=True)
class ProxyResult:
    """A successful call: ``body`` for the SDK, ``raw`` as the upstream answered it."""

    body: dict[str, Any]
    raw: dict[str, Any]
    request_id: str | None
    retried: bool


def allowed_actions() -> list[str]:
    """The actions the proxy forwards: ``CCC_PROXY_ALLOWED_ACTIONS`` when set, else every action
    of ``ALIYUN_CCC_API_VERSION``'s table (``ccc_proxy.actions``), in that order."""
    configured = list(settings.CCC_PROXY_ALLOWED_ACTIONS)
    return configured or actions.default_allowed(settings.ALIYUN_CCC_API_VERSION)


def check_sdk_query(product: str | None, version: str | None, region: str | None) -> None:
    """Check the ``product``, ``version`` and ``region`` query parameters of an SDK call.

    The 2.x SDK always sends all three (``CloudCallCenter``, ``2020-07-01``, its
    ``regionId``); the 1.x SDK sends none. Each one given must match this server (product
    ``CloudCallCenter``, ``ALIYUN_CCC_API_VERSION``, ``ALIYUN_CCC_REGION``); with API
    2020-07-01 configured all three are required. Raises ``ProxyError`` 400
    (``InvalidProduct``, ``InvalidVersion``, ``InvalidRegion``) before anything is sent.
    """
    configured = settings.ALIYUN_CCC_API_VERSION
    checks = (
        ("product", product, actions.SDK_2X_PRODUCT, "InvalidProduct"),
        ("version", version, configured, "InvalidVersion"),
        ("region", region, settings.ALIYUN_CCC_REGION, "InvalidRegion"),
    )
    for name, given, expected, code in checks:
        if given is None and configured != actions.API_2020:
            continue
        if given != expected:
            raise ProxyError(
                400,
                code,
                f"the {name} query parameter must be {expected!r} on this server"
                + (f", not {given[:64]!r}" if given is not None else ""),
            )


def read_request_text(
    content_type: str, body: bytes, query_request: str | None, form_request: str | None = None
) -> str:
    """Return the softphone's ``request`` JSON text from where the SDK may put it.

    In order: the ``request`` field of an urlencoded form body; of a multipart body
    (``form_request``, as Django parsed it); the ``request`` query parameter; else the raw body
    as JSON. The body must be UTF-8 (and so must the percent-decoded form fields). Raises
    ``ProxyError`` 413 past ``CCC_PROXY_MAX_BODY_BYTES`` and 400 for anything unreadable or empty.
    """
    limit = settings.CCC_PROXY_MAX_BODY_BYTES
    if len(body) > limit or len(query_request or "") > limit:
        raise ProxyError(413, "RequestTooLarge", f"the request is larger than {limit} bytes")
    media_type = content_type.split(";", 1)[0].strip().lower()
    text = None
    if media_type == _FORM and body:
        try:
            fields = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="strict",
                max_num_fields=settings.CCC_PROXY_MAX_PARAMETERS + 10,
            )
        except UnicodeDecodeError as exc:
            raise ProxyError(400, "InvalidRequest", "the form body is not valid UTF-8") from exc
        except ValueError as exc:
            raise ProxyError(400, "InvalidRequest", "the form body has too many fields") from exc
        text = next((value for name, value in fields if name == "request"), None)
    elif media_type == "multipart/form-data":
        text = form_request
    if text is None and query_request is not None:
        text = query_request
    if text is None and media_type not in (_FORM, "multipart/form-data"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProxyError(400, "InvalidRequest", "the request body is not valid UTF-8") from exc
    if not text or not text.strip():
        raise ProxyError(400, "MissingRequest", "the request JSON object is missing or empty")
    return text


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key in a JSON object")
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def json_nesting_depth(text: str) -> int:
    """Return how deeply arrays and objects nest in the JSON ``text`` (``{}`` = 1, ``[{}]`` = 2),
    without decoding it; brackets inside strings are not counted. Meaningful for valid JSON only
    (invalid text gets some number and is refused by the decoder anyway)."""
    depth = deepest = 0
    for char in _JSON_STRING_RE.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_request_object(text: str) -> dict[str, Any]:
    """Parse the ``request`` JSON text into an object (no duplicate keys, no NaN/Infinity,
    nesting at most ``MAX_REQUEST_NESTING`` deep).

    Raises ``ProxyError`` 400 ``InvalidRequest`` when it is not such a JSON object.
    """
    if json_nesting_depth(text) > MAX_REQUEST_NESTING:
        raise ProxyError(
            400,
            "InvalidRequest",
            f"the request JSON nests deeper than {MAX_REQUEST_NESTING} levels",
        )
    try:
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except ValueError as exc:
        raise ProxyError(400, "InvalidRequest", f"the request is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # not reached after the depth check; never echo its text
        raise ProxyError(400, "InvalidRequest", "the request JSON nests too deeply") from exc
    if not isinstance(value, dict):
        raise ProxyError(400, "InvalidRequest", "the request must be a JSON object")
    return value


def check_action(action: str | None) -> str:
    """Return ``action`` when it is a well-formed API name in the allowlist.

    Raises ``ProxyError`` 400 ``MissingAction``/``InvalidAction`` or 403 ``ActionNotAllowed``.
    """
    if not action:
        raise ProxyError(400, "MissingAction", "the action query parameter is missing")
    if not _ACTION_RE.fullmatch(action):
        raise ProxyError(400, "InvalidAction", "the action is not an API name")
    if action not in allowed_actions():
        raise ProxyError(403, "ActionNotAllowed", f"{action} is not allowed through this proxy")
    return action


def build_parameters(request_object: dict[str, Any]) -> dict[str, str]:
    """Convert the request object into OpenAPI parameters with ``InstanceId`` pinned.

    ``InstanceId`` is added when absent and must equal ``ALIYUN_CCC_INSTANCE_ID`` when given.
    Raises ``ProxyError`` 400 (bad keys or values, more than ``CCC_PROXY_MAX_PARAMETERS``) or
    403 ``InstanceNotAllowed``.
    """
    if len(request_object) > settings.CCC_PROXY_MAX_PARAMETERS:
        raise ProxyError(
            400,
            "TooManyParameters",
            f"at most {settings.CCC_PROXY_MAX_PARAMETERS} parameters are accepted",
        )
    try:
        parameters = to_openapi_parameters(request_object)
    except ConversionError as exc:
        raise ProxyError(400, "InvalidParameter", str(exc)) from exc
    instance_id = settings.ALIYUN_CCC_INSTANCE_ID
    given = parameters.setdefault("InstanceId", instance_id)
    if given != instance_id:
        raise ProxyError(403, "InstanceNotAllowed", "this proxy serves another CCC instance")
    return parameters


def _not_linked(exc: oauth.NotLinked) -> ProxyError:
    relink = isinstance(exc, oauth.RelinkRequired)
    # Shown to the agent by the softphone (the SDK's error tip), hence translated.
    message = (
        _("The Alibaba Cloud link has expired or was revoked: link the account again.")
        if relink
        else _("Not authenticated to access Aliyun Cloud Call Center resources: link the account.")
    )
    return ProxyError(401, "NotAuthenticated", message, link_url=reverse("aliyun_oauth:authorize"))


def _credentials(user, rejected_token: str | None = None) -> tuple[str, client.Credentials]:
    try:
        token = oauth.get_valid_token(user, rejected_token=rejected_token)
    except oauth.NotLinked as exc:
        raise _not_linked(exc) from exc
    except oauth.AliyunOAuthError as exc:
        raise ProxyError(
            502, "OAuthUnavailable", _("the Alibaba Cloud sign-in service did not answer")
        ) from exc
    try:
        return token.access_token, client.credentials_for(token.access_token)
    except client.InvalidAccessToken as exc:
        raise ProxyError(
            502, "InvalidAccessToken", f"the provider's access token is unusable: {exc}"
        ) from exc


def _upstream_error(exc: client.UpstreamError) -> ProxyError:
    status = exc.http_status if 400 <= exc.http_status < 500 else 502
    return ProxyError(status, exc.code, exc.message, request_id=exc.request_id)


def _token_rejected(exc: client.UpstreamError) -> bool:
    return exc.http_status < 500 and exc.code in TOKEN_REJECTED_CODES


def _call(credentials: client.Credentials, action: str, parameters: dict[str, str]):
    try:
        return client.call(credentials, action, parameters)
    except client.CredentialOverrideError as exc:
        logger.error("ccc_proxy refused to call: %s", exc)
        raise ProxyError(
            503, "ServerMisconfigured", "the server's credentials are misconfigured"
        ) from exc
    except client.UpstreamTimeout as exc:
        raise ProxyError(504, "UpstreamTimeout", str(exc)) from exc
    except client.UpstreamUnavailable as exc:
        raise ProxyError(502, "UpstreamUnavailable", str(exc)) from exc


def _signed_call(user, action: str, parameters: dict[str, str]) -> tuple[client.CccAnswer, bool]:
    """Call ``action`` as ``user``: the one signing, refresh and error path of every CCC call."""
    access_token, credentials = _credentials(user)
    try:
        return _call(credentials, action, parameters), False
    except client.UpstreamError as exc:
        if not _token_rejected(exc):
            raise _upstream_error(exc) from exc
        new_token, new_credentials = _credentials(user, rejected_token=access_token)
        retry_safe = actions.is_retry_safe(settings.ALIYUN_CCC_API_VERSION, action)
        if not retry_safe or new_token == access_token:
            raise _upstream_error(exc) from exc
        try:
            return _call(new_credentials, action, parameters), True
        except client.UpstreamError as again:
            raise _upstream_error(again) from again


def call_as(user, action: str, parameters: dict[str, str]) -> dict[str, Any]:
    """Call CCC OpenAPI ``action`` from the server as ``user`` (e.g. ``reconcile_calls``) and
    return the raw OpenAPI answer (a dict, never converted for the SDK).

    Same path as the softphone's calls: the agent's token from ``get_valid_token`` (refreshed
    when near expiry or rejected, the call then repeated once if retry-safe), STS or bearer
    signing, ``InstanceId`` pinned to ``ALIYUN_CCC_INSTANCE_ID``. Server-side actions are chosen
    by the code, so ``CCC_PROXY_ALLOWED_ACTIONS`` does not apply. Raises :class:`ProxyError`
    (401 ``NotAuthenticated`` when the agent's link is gone).
    """
    parameters = {**parameters, "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID}
    answer, _retried = _signed_call(user, action, parameters)
    return answer.body


def forward(user, action: str | None, request_text: str) -> ProxyResult:
    """Forward one softphone call as ``user`` and return the answer for the SDK.

    ``request_text`` is the ``request`` JSON (see ``read_request_text``). Validation happens
    before any upstream call. When the upstream refuses the credentials
    (``TOKEN_REJECTED_CODES``) the token is refreshed through
    ``get_valid_token(user, rejected_token=...)``; the call is then repeated once if the action
    is retry-safe (``ccc_proxy.actions``), otherwise the upstream error is returned. Raises
    ``ProxyError`` for every failure (see the module docstring).
    """
    action = check_action(action)
    parameters = build_parameters(parse_request_object(request_text))
    answer, retried = _signed_call(user, action, parameters)
    body = answer.body
    if settings.ALIYUN_CCC_API_VERSION == actions.API_2017:
        try:
            body = to_sdk_response(body)
        except RecursionError as exc:  # absurdly deep answers only
            raise ProxyError(
                502, "UpstreamUnavailable", "the CCC OpenAPI answer is nested too deeply"
            ) from exc
    return ProxyResult(body=body, raw=answer.body, request_id=answer.request_id, retried=retried)


def log_call(
    user, action: str | None, status: int, request_id: str | None, started: float, **extra
) -> None:
    """Write the one log line of a proxy call (logger ``ccc_proxy``, INFO).

    Fields: user, action, HTTP status, upstream request id (``-`` when the call was not
    forwarded), latency in ms since ``started`` (``time.monotonic()``), and ``extra`` (error code,
    retried). Never tokens, secrets or request parameters.
    """
    latency_ms = round((time.monotonic() - started) * 1000)
    username = user.get_username() if getattr(user, "is_authenticated", False) else "-"
    details = "".join(f" {key}={value}" for key, value in extra.items() if value is not None)
    logger.info(
        "ccc_proxy call user=%s action=%s status=%s upstream_request_id=%s latency_ms=%d%s",
        username,
        action if action and _ACTION_RE.fullmatch(action) else "-",
        status,
        request_id or "-",
        latency_ms,
        details,
    )
