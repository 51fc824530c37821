"""The sandbox CCC OpenAPI endpoint, ``/sandbox/ccc/`` (RPC: GET query or POST form)."""

from functools import wraps

from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from aliyun_sandbox.ccc import api_2017, api_2020
from aliyun_sandbox.request_parsing import UnreadableRequest, query_and_form


def sandbox_only(view):
    """404 unless ``settings.SANDBOX_ENABLED`` (checked at call time)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.SANDBOX_ENABLED:
            raise Http404("The Alibaba Cloud sandbox is off.")
        return view(request, *args, **kwargs)

    return wrapper


@csrf_exempt  # An API for signed server-to-server calls: the signature is the request's proof.
@require_http_methods(["GET", "POST"])
@sandbox_only
def openapi(request):
    """Parse the RPC request (query + form body) and answer with the ``handle`` of the API
    version it names (``Version`` 2020-07-01: :mod:`api_2020`, else :mod:`api_2017`), or
    ``refuse_unreadable`` when Django refuses to parse it."""
    host = request.get_host()
    try:
        query, form = query_and_form(request)
    except UnreadableRequest as exc:
        status, body = api_2017.refuse_unreadable(str(exc), exc.status, host)
    else:
        params = {**query.dict(), **form.dict()}
        api = api_2020 if params.get("Version") == api_2020.VERSION else api_2017
        status, body = api.handle(request.method, params, host)
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["x-acs-request-id"] = body["RequestId"]
    return response


def _unreadable(request, message: str, status: int):
    """The OpenAPI envelope for a request the project's middleware refused before parsing."""
    status, body = api_2017.refuse_unreadable(message, status, request.get_host())
    return JsonResponse(body, status=status, headers={"x-acs-request-id": body["RequestId"]})


openapi.json_api = True
openapi.unreadable_request = _unreadable
