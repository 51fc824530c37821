"""``manage.py renormalize_phones``: recompute every stored phone key and its search digits, e.g.
after changing ``PHONE_DEFAULT_REGION`` (keys of numbers written without a country code depend
on it), or after loading numbers with SQL."""

from django.core.management.base import BaseCommand

from customers.services import renormalize_phones


class Command(BaseCommand):
    help = "Recompute the lookup key and search digits of every stored phone number."

    def handle(self, *args, **options):
        changed, total = renormalize_phones()
        self.stdout.write(f"{changed} of {total} phone numbers had a new key or search digits.")
