from django.urls import path  # noqa: F401

app_name = "ccc_proxy"
urlpatterns: list = []
