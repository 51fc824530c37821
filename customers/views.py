"""Customer pages."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def customer_list(request):
    """The customer list (search and pagination come with the customers model)."""
    return render(request, "customers/list.html", {"customers": []})
