"""``manage.py rotate_token_encryption``: re-encrypt every stored token with the first key of
TOKEN_ENCRYPTION_KEYS (MultiFernet.rotate), so older keys can then be removed."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from aliyun_oauth import crypto
from aliyun_oauth.models import LinkedAccount

FIELDS = ("access_token_encrypted", "refresh_token_encrypted", "id_token_encrypted")


class Command(BaseCommand):
    help = "Re-encrypt stored Alibaba Cloud tokens with the first TOKEN_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        done = 0
        for pk in LinkedAccount.objects.values_list("pk", flat=True):
            with transaction.atomic():
                row = LinkedAccount.objects.select_for_update().filter(pk=pk).first()
                if row is None:
                    continue
                try:
                    for field in FIELDS:
                        setattr(row, field, crypto.rotate(getattr(row, field)))
                except crypto.DecryptionError as exc:
                    raise CommandError(f"row {pk}: {exc} Nothing after it was rotated.") from exc
                row.save(update_fields=FIELDS)
                done += 1
        self.stdout.write(f"Re-encrypted {done} linked account(s) with the first key.")
