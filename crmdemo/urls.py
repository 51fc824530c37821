"""Root URLs. The sandbox add-on (``aliyun_sandbox``) is routed only when it is installed, that is
when ``SANDBOX_ENABLED``; otherwise ``/sandbox/`` is a plain 404."""

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from crmdemo import health
from workbench import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("customers.urls")),
    path("aliyun/ccc/", include("ccc_proxy.urls")),
    path("aliyun/", include("aliyun_oauth.urls")),
    path("profile/", views.profile, name="profile"),
]
if apps.is_installed("aliyun_sandbox"):
    urlpatterns.append(path("sandbox/", include("aliyun_sandbox.urls")))

handler500 = "crmdemo.errors.server_error"
