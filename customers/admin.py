"""Admin for supervisors: customers with their phone numbers inline, CSV import/export."""

import csv
import re
from datetime import UTC, datetime

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.files.base import ContentFile
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.admin import ImportExportModelAdmin

from customers import importing
from customers.models import CallRecord, Customer, PhoneNumber, number_key
from customers.phones import display_phone
from customers.resources import CustomerResource, escape_formula
from customers.services import customer_search_q, parse_search
from customers.text import has_control_characters

# The admin is the product's, in the user's language, not "Django administration". Its
# stylesheet (fonts, word wrapping, import errors shown) is on every admin page:
# templates/admin/base_site.html.
admin.site.site_header = gettext_lazy("crmdemo administration")
admin.site.site_title = gettext_lazy("crmdemo admin")
admin.site.index_title = gettext_lazy("Customers, calls and Alibaba Cloud accounts")
# No navigation sidebar: beside it the call records (10 columns) did not fit 1024 px; the
# breadcrumbs and the index lead to the few models there are.
admin.site.enable_nav_sidebar = False

# Session key: ids of the import files this user's previews stored (newest last).
PENDING_IMPORTS = "customers_pending_imports"
MAX_PENDING_IMPORTS = 5
# A search matching at most this many customers is filtered by their ids (see
# customers.services.customer_search_q): page and count are then index lookups.
ADMIN_KNOWN_IDS = 5000


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    fields = ("raw", "normalized")
    readonly_fields = ("normalized",)
    extra = 1
    min_num = 1

    def get_formset(self, request, obj=None, **kwargs):
        """The formset refuses fewer than ``min_num`` numbers, whatever ``TOTAL_FORMS`` says.

        Django's admin passes ``min_num`` but not ``validate_min`` to the formset factory, so a
        class attribute alone does not check it.
        """
        kwargs.setdefault("validate_min", True)
        return super().get_formset(request, obj, **kwargs)


class CallRecordInline(admin.TabularInline):
    """The customer's call log, read-only: calls are written by the softphone, not by hand."""

    model = CallRecord
    fk_name = "customer"
    fields = (
        "started_at",
        "direction",
        "caller_shown",
        "callee_shown",
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

    @admin.display(description=gettext_lazy("caller number (ANI)"))
    def caller_shown(self, obj):
        return display_phone(obj.caller)

    @admin.display(description=gettext_lazy("callee number"))
    def callee_shown(self, obj):
        return display_phone(obj.callee)

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
    search_help_text = gettext_lazy(
        "Name, company or e-mail (one or two characters: names and companies starting with "
        "them); a phone number in any form, or 4 or more of its digits."
    )
    inlines = [PhoneNumberInline, CallRecordInline]
    readonly_fields = ("created", "updated")
    show_full_result_count = False  # no full-table COUNT on every page at a million rows
    tmp_storage_class = importing.OneShotTempFolderStorage

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("phones")

    def get_inlines(self, request, obj):
        """A new customer has no calls: the add form carries only the phone numbers."""
        inlines = super().get_inlines(request, obj)
        return inlines if obj is not None else [i for i in inlines if i is not CallRecordInline]

    def has_add_permission(self, request):
        """Adding a customer needs adding phone numbers too: without that permission the phone
        inline would be missing and the customer saved with no number."""
        return super().has_add_permission(request) and request.user.has_perm(
            "customers.add_phonenumber"
        )

    @admin.display(description=gettext_lazy("phone numbers"))
    def phone_numbers(self, obj):
        # One number never breaks across lines (a narrow column split "188 4630 / 7113").
        return format_html_join(
            ", ",
            '<span class="phone">{}</span>',
            ((display_phone(p.raw),) for p in obj.phones.all()),
        )

    def get_search_results(self, request, queryset, search_term):
        """Search as the agents' list does (``customers.services.parse_search``): a number, or 4+
        consecutive digits of one, finds customers with such a number (any of their numbers, any
        format); one or two characters find names and companies starting with them; longer text
        is found anywhere in name, company or e-mail. A term with a control
        character (NUL...) matches nothing and is never sent to the database.
        """
        # Django's search form drops a term with NUL and then lists everything: check the raw one.
        if has_control_characters(request.GET.get(SEARCH_VAR, "")) or has_control_characters(
            search_term
        ):
            messages.warning(
                request, _("Search text cannot contain control characters (such as NUL).")
            )
            return queryset.none(), False
        terms = parse_search(search_term)
        if not terms.text and not terms.digits and not terms.phone_key:
            return queryset, False
        found = customer_search_q(terms, email=True, known_up_to=ADMIN_KNOWN_IDS)
        return queryset.filter(found), False

    def write_to_tmp_storage(self, import_file, input_format):
        """Keep the upload as UTF-8 (a GB18030/GBK file is converted) for preview and confirm."""
        if not input_format.is_binary():
            import_file = ContentFile(importing.to_utf8(import_file.read()))
        return super().write_to_tmp_storage(import_file, input_format)

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, UnicodeDecodeError):
            form.add_error("import_file", importing.NOT_TEXT)
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def import_action(self, request, **kwargs):
        """The upload and preview step; remembers in the session the id of the file it stored,
        the only id this user may confirm."""
        response = super().import_action(request, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("confirm_form")
        file_id = form.initial.get("import_file_name") if form is not None else None
        if importing.is_import_id(file_id):
            pending = request.session.get(PENDING_IMPORTS, [])[-(MAX_PENDING_IMPORTS - 1) :]
            request.session[PENDING_IMPORTS] = [*pending, file_id]
        return response

    def process_import(self, request, **kwargs):
        """Confirm an import: only a file this user's own preview stored (its id is in the
        session), each form field given once, ``format``/``resource`` one of the offered ones.
        Anything else, or a second confirm of the same file, gets a message, not a 500."""
        if request.method == "POST" and self.has_import_permission(request):
            problem = self._confirm_problem(request)
            if problem:
                messages.error(request, problem)
                return redirect("admin:customers_customer_import")
            pending = request.session.get(PENDING_IMPORTS, [])
            file_id = request.POST["import_file_name"]
            request.session[PENDING_IMPORTS] = [i for i in pending if i != file_id]
        try:
            return super().process_import(request, **kwargs)
        except importing.AlreadyImported as exc:
            messages.error(request, str(exc))
            return redirect("admin:customers_customer_import")

    def _confirm_problem(self, request) -> str | None:
        post = request.POST
        for name in ("import_file_name", "original_file_name", "format", "resource"):
            if len(post.getlist(name)) > 1:
                return _("The import form was changed: choose the file again.")
        if post.get("import_file_name") not in request.session.get(PENDING_IMPORTS, []):
            return importing.ALREADY_IMPORTED
        choices = {
            "format": len(self.get_import_formats()),
            "resource": len(self.get_import_resource_classes(request)),
        }
        for name, count in choices.items():
            value = post.get(name, "0" if name == "resource" else "")
            if value not in {str(i) for i in range(count)} and not (
                name == "resource" and value == ""
            ):
                return _("The import form was changed: choose the file again.")
        return None

    def delete_view(self, request, object_id, extra_context=None):
        """Delete only on the confirmation form's own POST (``post=yes``): Django's admin deletes
        on any non-empty POST, so a stray or forged form body removed the customer and calls."""
        if request.method == "POST" and request.POST.get("post") != "yes":
            messages.error(request, _("Nothing was deleted: confirm with the button below."))
            return redirect(request.path)
        return super().delete_view(request, object_id, extra_context)

    def export_action(self, request):
        """The export form; query parameters that are not the list's filters (``?format=0``)
        give a message on the list, as the list itself does, instead of a 500."""
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            messages.error(request, _("These export filters are not valid: export from the list."))
            return redirect("admin:customers_customer_changelist")

    def process_result(self, result, request):
        """An import that failed while saving (rolled back) says so instead of "0 new"."""
        if result.has_errors() or result.has_validation_errors():
            messages.error(request, importing.describe_failure(result))
            return redirect("admin:customers_customer_import")
        return super().process_result(result, request)


_PLAIN_NUMBER = re.compile(r"\+?[0-9]+")

# Columns of the call-log CSV export: (header, attribute or callable of a record).
CALL_CSV_COLUMNS = [
    ("agent", lambda r: r.agent.get_username() if r.agent else ""),
    ("customer", lambda r: r.customer.name if r.customer else ""),
    ("direction", "direction"),
    ("caller", "caller"),
    ("callee", "callee"),
    ("started", "started_at"),
    ("answered", "answered_at"),
    ("ended", "ended_at"),
    ("duration_s", "duration"),
    ("outcome", "outcome"),
    ("released_by", "released_by"),
    ("release_reason", "release_reason"),
    ("skill_group", "skill_group"),
    ("ccc", "ccc_state"),
    ("contact_id", "contact_id"),
    ("notes", "notes"),
]


@admin.register(CallRecord)
class CallRecordAdmin(admin.ModelAdmin):
    """The call log for supervisors, read-only: filters, search by a number in any format
    (the normalized caller/callee keys) or a CCC contact id, and CSV export of the selection."""

    list_display = (
        "started_at",
        "agent",
        "customer",
        "direction",
        "caller_shown",
        "callee_shown",
        # Answer and end times are on each record's page: with them the list had 12 columns and
        # at 1024 px half of them were out of view.
        "duration",
        "outcome",
        "ccc_state",
        "short_notes",
    )
    list_filter = ("direction", "outcome", "ccc_state", "agent", "started_at")
    list_select_related = ("agent", "customer")
    search_fields = ("=contact_id",)
    search_help_text = gettext_lazy("A phone number in any format, or a CCC contact id (jobId).")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")
    show_full_result_count = False
    actions = ["export_csv"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("caller number (ANI)"), ordering="caller")
    def caller_shown(self, obj):
        return display_phone(obj.caller)

    @admin.display(description=gettext_lazy("callee number"), ordering="callee")
    def callee_shown(self, obj):
        return display_phone(obj.callee)

    @admin.display(description=gettext_lazy("wrap-up notes"))
    def short_notes(self, obj):
        return obj.notes if len(obj.notes) <= 80 else obj.notes[:79] + "\u2026"

    def get_search_results(self, request, queryset, search_term):
        """A term that reads as a phone number matches the caller's or callee's normalized key;
        any other term matches a contact id exactly. Control characters match nothing."""
        if has_control_characters(request.GET.get(SEARCH_VAR, "")) or has_control_characters(
            search_term
        ):
            messages.warning(
                request, _("Search text cannot contain control characters (such as NUL).")
            )
            return queryset.none(), False
        term = search_term.strip()
        if not term:
            return queryset, False
        key = number_key(term)
        by_contact = queryset.filter(contact_id=term[:64])
        if key:
            return queryset.filter(Q(caller_key=key) | Q(callee_key=key)) | by_contact, False
        return by_contact, False

    @admin.action(description=gettext_lazy("Export selected calls as CSV"))
    def export_csv(self, request, queryset):
        """The selected calls as UTF-8 CSV (times ISO 8601 UTC, cells a spreadsheet would run as
        a formula written as text)."""
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="calls.csv"'
        writer = csv.writer(response)
        writer.writerow([header for header, _column in CALL_CSV_COLUMNS])
        for record in queryset.select_related("agent", "customer").order_by("-started_at", "-id"):
            row = []
            for _header, column in CALL_CSV_COLUMNS:
                value = column(record) if callable(column) else getattr(record, column)
                if isinstance(value, datetime):
                    value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
                text = "" if value is None else str(value)
                # A plain number (+8613800138000) is no formula; anything else may be one.
                row.append(text if _PLAIN_NUMBER.fullmatch(text) else escape_formula(text))
            writer.writerow(row)
        return response
