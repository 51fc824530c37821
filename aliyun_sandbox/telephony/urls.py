"""Routes of the calls: ``agent/`` is the softphone stand-in's agent server, ``simulator/`` the
call simulator (the far end of every call)."""

from django.urls import path

from aliyun_sandbox.telephony import agent_views, simulator_views

urlpatterns = [
    path("agent/<slug:name>", agent_views.command, name="agent_command"),
    path("simulator/", simulator_views.page, name="simulator"),
    path("simulator/calls.json", simulator_views.calls_json, name="simulator_calls"),
    path("simulator/ring", simulator_views.ring, name="simulator_ring"),
    path(
        "simulator/calls/<slug:connid>/answer",
        simulator_views.remote,
        {"what": "answer"},
        name="simulator_answer",
    ),
    path(
        "simulator/calls/<slug:connid>/hangup",
        simulator_views.remote,
        {"what": "hangup"},
        name="simulator_hangup",
    ),
]
