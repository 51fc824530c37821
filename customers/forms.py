"""Forms of the customers pages."""

from django import forms

from customers.phones import InvalidPhoneNumber, normalize_phone


class CustomerCreateForm(forms.Form):
    """The "new customer" page: name, company, email, notes and up to two phone numbers.

    ``call`` is the CCC contact id of the call the form was opened for (screen pop of an unknown
    caller), so the call is attached to the new customer.
    """

    name = forms.CharField(max_length=200)
    company = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)
    phone = forms.CharField(label="Phone number", max_length=64)
    phone2 = forms.CharField(label="Second phone number", max_length=64, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    call = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

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
