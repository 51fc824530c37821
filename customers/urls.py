from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/lookup", views.customer_lookup, name="lookup"),
    path("customers/new", views.customer_create, name="create"),
    path("customers/calls/log", views.call_log, name="call_log"),
    path("customers/calls/<int:pk>/notes", views.call_notes, name="call_notes"),
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/context", views.customer_context, name="context"),
    path("customer/phoneNumber/<str:number>", views.customer_by_phone, name="by_phone"),
]
