"""The sandbox's agent server over HTTP, ``/sandbox/agent/<command>``, for the stand-in SDK.

Every request is a POST form carrying ``signData`` and ``signature`` (from ``LoginInfo``).
No cookie is used, so the endpoints are CSRF-exempt and answer CORS for any origin without
credentials: the CRM page (another site) calls them as Alibaba's SDK calls its agent server.
Answers: ``{"status", "call"}`` (see :mod:`aliyun_sandbox.telephony.agent_server`); errors
``{"code", "message"}`` with 400/401/404/409 (413 for a body too large to parse).
"""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from aliyun_sandbox.ccc.views import sandbox_only
from aliyun_sandbox.request_parsing import UnreadableRequest, query_and_form
from aliyun_sandbox.telephony import agent_server, simulator

COMMANDS = {"poll", "state", "call", "answer", "hangup", "hold", "retrieve"}


def _cors(response):
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Cache-Control"] = "no-store"
    return response


def _error(code: str, message: str, status: int):
    return _cors(JsonResponse({"code": code, "message": message}, status=status))


@csrf_exempt  # No cookie authenticates these requests: the LoginInfo signature does.
@sandbox_only
def command(request, name: str):
    """Authenticate the softphone and run one agent-server command."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if request.method != "POST":
        return _error("MethodNotAllowed", "Use POST.", 405)
    if name not in COMMANDS:
        return _error("InvalidAction", f"Unknown command {name!r}.", 404)
    try:
        _, form = query_and_form(request)
    except UnreadableRequest as exc:
        return _error("InvalidRequest", str(exc), exc.status)
    try:
        user = agent_server.authenticate(form.get("signData", ""), form.get("signature", ""))
        params = form.dict()
        if name == "poll":
            body = agent_server.poll(user, params.get("connid", ""))
        else:
            body = agent_server.control(user, name, params)
    except agent_server.AgentAuthError as exc:
        return _error(exc.code, exc.message, 401)
    except simulator.SimulatorError as exc:
        return _error(exc.code, exc.message, exc.status)
    return _cors(JsonResponse(body))


command.json_api = True
command.unreadable_request = lambda request, message, status: _error(
    "InvalidRequest", message, status
)
