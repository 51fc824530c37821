"""The sandbox's routes, under ``/sandbox/`` (crmdemo/urls.py). Paths mirror Alibaba Cloud's hosts:
``signin/`` = signin.aliyun.com, ``oauth/`` = oauth.aliyun.com, ``ccc/`` =
ccc.cn-shanghai.aliyuncs.com; ``agent/`` is the softphone's agent server and ``simulator/`` the
call simulator."""

from django.urls import path

from aliyun_sandbox import views_agent, views_ccc, views_oauth, views_simulator

app_name = "aliyun_sandbox"
urlpatterns = [
    path("signin/oauth2/v1/auth", views_oauth.authorize, name="oauth_authorize"),
    path("oauth/v1/token", views_oauth.token, name="oauth_token"),
    path("oauth/v1/revoke", views_oauth.revoke, name="oauth_revoke"),
    path("oauth/v1/userinfo", views_oauth.userinfo, name="oauth_userinfo"),
    path("oauth/v1/keys", views_oauth.jwks, name="oauth_jwks"),
    path(
        "oauth/.well-known/openid-configuration",
        views_oauth.openid_configuration,
        name="oauth_openid_configuration",
    ),
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
