"""Forms of the customers pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.phones import InvalidPhoneNumber, normalize_phone
from customers.text import validate_multiline, validate_single_line

_LINE = [validate_single_line]


class CustomerCreateForm(forms.Form):
    """The "new customer" page: name, company, email, notes and up to two phone numbers.

    ``call`` is the CCC contact id of the call the form was opened for (screen pop of an unknown
    caller), so the call is attached to the new customer.
    """

    name = forms.CharField(label=_("Name"), max_length=200, validators=_LINE)
    company = forms.CharField(label=_("Company"), max_length=200, required=False, validators=_LINE)
    email = forms.EmailField(label=_("Email"), required=False, validators=_LINE)
    phone = forms.CharField(label=_("Phone number"), max_length=64, validators=_LINE)
    phone2 = forms.CharField(
        label=_("Second phone number"), max_length=64, required=False, validators=_LINE
    )
    notes = forms.CharField(
        label=_("Notes"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        validators=[validate_multiline],
    )
    call = forms.CharField(
        max_length=64, required=False, widget=forms.HiddenInput, validators=_LINE
    )

    def _clean_number(self, field: str) -> str:
        raw = self.cleaned_data.get(field, "").strip()
        if raw:
            try:
                normalize_phone(raw)
            except InvalidPhoneNumber as exc:
                raise forms.ValidationError(str(exc)) from exc
        return raw

    def clean_phone(self):
        return self._clean_number("phone")

    def clean_phone2(self):
        return self._clean_number("phone2")
