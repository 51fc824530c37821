from django.urls import path

from ccc_proxy import views

app_name = "ccc_proxy"
urlpatterns = [
    path("api", views.api, name="api"),
    path("api/debug", views.debug, name="debug"),
]
