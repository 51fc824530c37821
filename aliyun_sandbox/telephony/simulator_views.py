"""The call simulator page, ``/sandbox/simulator/``: ring an agent, play the remote party.

A plain page of the sandbox site (CSRF-protected forms, post/redirect/get); the page polls
``calls.json`` to show live and past calls. It lists every agent's calls and can hang them up,
so it needs a signed-in CRM user: pages redirect to the sign-in page, ``calls.json`` answers a
JSON 401.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aliyun_sandbox.ccc import data as ccc_data
from aliyun_sandbox.ccc.views import sandbox_only
from aliyun_sandbox.models import CloudUser
from aliyun_sandbox.telephony import simulator


def signed_in(view):
    """Only for a signed-in CRM user; others are sent to sign in (a JSON 401 for JSON)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.path.endswith(".json"):
            return JsonResponse({"error": _("Sign in to use the call simulator.")}, status=401)
        return redirect_to_login(request.get_full_path())

    return wrapper


def _agents() -> list[dict]:
    rows = []
    for user in CloudUser.objects.order_by("upn"):
        state = simulator.agent_state(user)
        rows.append(
            {
                "upn": user.upn,
                "name": user.display_name,
                "extension": ccc_data.agent_extension(user),
                "status": simulator.effective_status(state),
            }
        )
    return rows


def _render(request, error: str = "", status: int = 200, form: dict | None = None):
    context = {
        "agents": _agents(),
        "calls": [simulator.call_json(c) for c in simulator.recent_calls()],
        "error": error,
        "form": form or {},
        "instance_id": settings.ALIYUN_CCC_INSTANCE_ID,
    }
    return render(request, "aliyun_sandbox/simulator.html", context, status=status)


@require_GET
@sandbox_only
@signed_in
def page(request):
    """The simulator page."""
    return _render(request)


@require_GET
@sandbox_only
@signed_in
def calls_json(request):
    """``{"agents": [...], "calls": [...]}``: agents' status and the newest 50 calls."""
    calls = [simulator.call_json(c) for c in simulator.recent_calls()]
    return JsonResponse({"agents": _agents(), "calls": calls})


@require_POST
@sandbox_only
@signed_in
def ring(request):
    """Ring the agent ``agent`` (upn or short name) from number ``caller``, or from a withheld
    number when ``withheld`` is ticked; a busy agent's call queues."""
    form = {
        "agent": request.POST.get("agent", ""),
        "caller": request.POST.get("caller", ""),
        "withheld": bool(request.POST.get("withheld")),
    }
    user = ccc_data.find_agent_by_name(form["agent"]) if form["agent"] else None
    if user is None:
        return _render(request, _("Choose an agent to ring."), 400, form)
    try:
        simulator.ring_agent(user, form["caller"], withheld=form["withheld"])
    except simulator.SimulatorError as exc:
        return _render(request, exc.message, exc.status, form)
    return redirect("aliyun_sandbox:simulator")


@require_POST
@sandbox_only
@signed_in
def remote(request, connid: str, what: str):
    """The remote party answers (``what`` = answer) or hangs up (hangup) call ``connid``."""
    try:
        simulator.remote_party(connid, what)
    except simulator.SimulatorError as exc:
        return _render(request, exc.message, exc.status)
    return redirect("aliyun_sandbox:simulator")


calls_json.json_api = True  # its errors in JSON too, as the page's script expects
