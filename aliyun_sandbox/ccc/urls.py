"""The CCC OpenAPI's route: ``ccc/`` stands for ccc.cn-shanghai.aliyuncs.com."""

from django.urls import path

from aliyun_sandbox.ccc import views

urlpatterns = [
    path("ccc/", views.openapi, name="ccc_openapi"),
]
