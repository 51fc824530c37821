"""Project-level pages."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    """The agent's home page (the workbench)."""
    return render(request, "home.html")
