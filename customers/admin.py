"""Admin for supervisors: customers with their phone numbers inline, CSV import/export."""

from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from customers.models import CallRecord, Customer, PhoneNumber
from customers.phones import InvalidPhoneNumber, normalize_phone
from customers.resources import CustomerResource
from customers.services import SHORT_NUMBER_DIGITS


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    fields = ("raw", "normalized")
    readonly_fields = ("normalized",)
    extra = 1
    min_num = 1
    validate_min = True


class CallRecordInline(admin.TabularInline):
    """The customer's call log, read-only: calls are written by the softphone, not by hand."""

    model = CallRecord
    fk_name = "customer"
    fields = (
        "started_at",
        "direction",
        "caller",
        "callee",
        "agent",
        "duration",
        "outcome",
        "notes",
        "contact_id",
    )
    readonly_fields = fields
    ordering = ("-started_at", "-id")
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        # The call log is part of the customer's record: whoever may see the customer sees it.
        return request.user.has_perm("customers.view_customer")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ImportExportModelAdmin):
    """Search matches name, company, email, or any form of a phone number (normalized key)."""

    resource_classes = [CustomerResource]
    list_display = ("name", "company", "email", "phone_numbers", "updated")
    list_filter = ("created", "updated")
    search_fields = ("name", "company", "email")
    search_help_text = "Name, company, email or a phone number in any form."
    inlines = [PhoneNumberInline, CallRecordInline]
    readonly_fields = ("created", "updated")
    show_full_result_count = False  # no full-table COUNT on every page at a million rows

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("phones")

    def get_inlines(self, request, obj):
        """A new customer has no calls: the add form carries only the phone numbers."""
        inlines = super().get_inlines(request, obj)
        return inlines if obj is not None else [i for i in inlines if i is not CallRecordInline]

    @admin.display(description="phone numbers")
    def phone_numbers(self, obj):
        return ", ".join(p.raw for p in obj.phones.all())

    def get_search_results(self, request, queryset, search_term):
        """Match the normalized phone key when ``search_term`` reads as a phone number.

        A term of 7 or more digits is only a phone number (an indexed lookup); a shorter one, or
        text, also goes through the usual name/company/email search.
        """
        try:
            key = normalize_phone(search_term)
        except InvalidPhoneNumber:
            return super().get_search_results(request, queryset, search_term)
        by_phone = queryset.filter(
            id__in=PhoneNumber.objects.filter(normalized=key).values("customer_id")
        )
        if sum(c.isdigit() for c in search_term) >= SHORT_NUMBER_DIGITS:
            return by_phone, False
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return results | by_phone, may_have_duplicates
