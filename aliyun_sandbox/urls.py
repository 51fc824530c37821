from django.urls import path

from aliyun_sandbox import views_agent, views_ccc, views_simulator

app_name = "aliyun_sandbox"
urlpatterns: list = [
    # CCC OpenAPI, softphone agent server and call simulator (issue 3 §2-4).
    path("ccc/", views_ccc.openapi, name="ccc_openapi"),
    path("agent/<slug:name>", views_agent.command, name="agent_command"),
    path("simulator/", views_simulator.page, name="simulator"),
    path("simulator/calls.json", views_simulator.calls_json, name="simulator_calls"),
    path("simulator/ring", views_simulator.ring, name="simulator_ring"),
    path(
        "simulator/calls/<slug:connid>/answer",
        views_simulator.remote,
        {"what": "answer"},
        name="simulator_answer",
    ),
    path(
        "simulator/calls/<slug:connid>/hangup",
        views_simulator.remote,
        {"what": "hangup"},
        name="simulator_hangup",
    ),
]
