from django.urls import path  # noqa: F401

app_name = "aliyun_oauth"
urlpatterns: list = []
