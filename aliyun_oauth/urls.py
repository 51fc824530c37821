from django.urls import path

from aliyun_oauth import views

app_name = "aliyun_oauth"
urlpatterns = [
    path("auth", views.authorize, name="authorize"),
    path("auth/callback", views.callback, name="callback"),
    path("refresh", views.refresh, name="refresh"),
    path("revoke", views.revoke, name="revoke"),
]
