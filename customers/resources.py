"""CSV import/export of customers with django-import-export (https://django-import-export.readthedocs.io).

Columns: ``id`` (empty or absent for new customers), ``name``, ``company``, ``email``, ``notes``,
``phones`` (numbers as typed, separated by ``;``). Every field gets the model's validation (lengths,
e-mail, no control characters) and every number that of ``PhoneNumber`` (at most 64 characters, a
phone number); a row that fails is reported by row number (data rows from 1, the header not
counted), and the whole import is rolled back.

Export escapes cells a spreadsheet would run as a formula (OWASP "CSV injection") when
``settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` is on: a leading ``'`` makes them text. That
includes ``phones``: ``+8613800138000`` opens as the number 8613800138000 (the ``+`` lost) and
``+86 138-0013-8000`` as a broken formula. A cell that itself starts with ``'`` gets one more.
Import takes one leading ``'`` off a cell whose rest starts with a formula character or ``'``,
so an exported file imports back unchanged.
"""

import re

from diff_match_patch import diff_match_patch
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.encoding import force_str
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from import_export import fields, resources

from customers.models import Customer, PhoneNumber
from customers.text import printable

PHONE_SEPARATOR = ";"
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (https://owasp.org/www-community/attacks/CSV_Injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
WHOLE_NUMBER = re.compile(r"\d+")


ESCAPE = "'"


def escape_formula(value):
    """Return ``value`` with a leading ``'`` when a spreadsheet would run that text as a formula
    (or when it starts with ``'`` itself, so :func:`unescape_formula` gives it back)."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, ESCAPE)):
        return ESCAPE + value
    return value


def unescape_formula(value):
    """Undo :func:`escape_formula`: ``"'=1+1"`` -> ``"=1+1"``; other values unchanged."""
    if isinstance(value, str) and value.startswith(ESCAPE):
        rest = value[1:]
        if rest.startswith((*FORMULA_STARTS, ESCAPE)):
            return rest
    return value


class Diff(resources.Diff):
    """The import preview's diff cells without inline styles, which the Content-Security-Policy
    (``style-src 'self'``) blocks: ``diff_match_patch.diff_prettyHtml`` writes
    ``<ins style="background:...">``; here plain ``<ins>``/``<del>`` (underlined, struck through
    by the browser)."""

    TAGS = {diff_match_patch.DIFF_INSERT: "ins", diff_match_patch.DIFF_DELETE: "del"}

    def as_html(self):
        cells = []
        dmp = diff_match_patch()
        for old, new in zip(self.left, self.right, strict=False):
            if old != new and self.new:
                old = ""
            diff = dmp.diff_main(force_str(old), force_str(new))
            dmp.diff_cleanupSemantic(diff)
            parts = []
            for op, text in diff:
                if text:
                    tag = self.TAGS.get(op, "span")
                    shown = escape(text).replace("\n", "&para;<br>")  # as diff_prettyHtml does
                    parts.append(f"<{tag}>{shown}</{tag}>")
            cells.append(mark_safe("".join(parts)))  # noqa: S308 - every text escaped above
        return cells


class PhonesField(fields.Field):
    """The ``phones`` column: a customer's numbers as typed, joined by ``"; "``.

    During an import, the row's numbers (kept by ``CustomerResource.import_instance``), so the
    preview shows them before anything is saved. Read-only as a field: the resource saves them.
    """

    def get_value(self, instance):
        raws = getattr(instance, "_imported_phones", None)
        if raws is None:
            raws = [p.raw for p in instance.phones.all()] if instance.pk else []
        return f"{PHONE_SEPARATOR} ".join(raws)


class CustomerResource(resources.ModelResource):
    """Customers with their phone numbers in one ``phones`` column."""

    phones = PhonesField(column_name="phones")

    class Meta:
        model = Customer
        fields = ("id", "name", "company", "email", "notes", "phones")
        export_order = fields
        clean_model_instances = True
        skip_unchanged = False

    def get_diff_class(self):
        """:class:`Diff`: the preview without inline styles."""
        return Diff

    def before_import(self, dataset, **kwargs):
        """Accept files without an ``id`` column (every row is then a new customer)."""
        if dataset.headers and "id" not in dataset.headers:
            dataset.append_col([""] * len(dataset), header="id")
        super().before_import(dataset, **kwargs)

    def before_import_row(self, row, **kwargs):
        """Take off the export's formula escapes; refuse an ``id`` that is not a whole number
        (the library's message is unreadable)."""
        super().before_import_row(row, **kwargs)
        for column in list(row.keys()):  # cells of our own export: see the module docstring
            row[column] = unescape_formula(row[column])
        value = row.get("id")
        if value not in (None, "") and not WHOLE_NUMBER.fullmatch(str(value).strip()):
            raise ValidationError(
                {
                    "id": _(
                        "id must be a whole number (or empty for a new customer), not “%(value)s”."
                    )
                    % {"value": value}
                }
            )

    def import_instance(self, instance, row, **kwargs):
        """Read the fields, then validate every number of ``phones`` as ``PhoneNumber`` does.

        The numbers are kept on the instance for :meth:`after_save_instance`. Raises
        ``ValidationError({"phones": [...]})`` naming each bad number.
        """
        super().import_instance(instance, row, **kwargs)
        raws = [r.strip() for r in str(row.get("phones") or "").split(PHONE_SEPARATOR) if r.strip()]
        if not raws:
            raise ValidationError({"phones": _("At least one phone number is needed.")})
        errors = []
        for raw in raws:
            phone = PhoneNumber(raw=raw)
            try:  # the field's own checks (length): say which number
                phone.clean_fields(exclude=["customer", "normalized"])
            except ValidationError as exc:
                errors += [f"“{printable(raw)}”: {message}" for message in exc.messages]
            try:  # is it a phone number: the message names the number
                phone.clean()
            except ValidationError as exc:
                errors += exc.messages
        if errors:
            raise ValidationError({"phones": errors})
        instance._imported_phones = raws

    def export(self, *args, **kwargs):
        """As ``ModelResource.export``, escaping formulas (see the module docstring)."""
        self._escape_formulae = getattr(settings, "IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT", False)
        try:
            return super().export(*args, **kwargs)
        finally:
            self._escape_formulae = False

    def export_field(self, field, instance, **kwargs):
        """One exported cell, formula-escaped when export escapes (``phones`` too)."""
        value = super().export_field(field, instance, **kwargs)
        if getattr(self, "_escape_formulae", False):
            return escape_formula(value)
        return value

    def after_save_instance(self, instance, row, **kwargs):
        """Replace the customer's phone numbers by the row's (nothing is written on a dry run)."""
        super().after_save_instance(instance, row, **kwargs)
        if kwargs.get("dry_run"):
            return
        raws = getattr(instance, "_imported_phones", [])
        instance.phones.all().delete()
        for raw in raws:
            PhoneNumber.objects.create(customer=instance, raw=raw)

    def import_data(self, dataset, **kwargs):
        """As ``ModelResource.import_data``, but any invalid row rolls back the whole import."""
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().import_data(dataset, **kwargs)
