"""``manage.py sandbox_rotate_key``: a new id_token signing key; the old one stays in the JWKS."""

from django.conf import settings
from django.core.management.base import BaseCommand

from aliyun_sandbox.oauth.keys import rotate_signing_key


class Command(BaseCommand):
    help = (
        "Generate a new RS256 signing key for the sandbox's id_tokens. Previous keys stay "
        "published in the JWKS for SANDBOX_KEY_GRACE_PERIOD seconds."
    )

    def handle(self, *args, **options):
        new_key, retired = rotate_signing_key()
        self.stdout.write(f"New signing key kid={new_key.kid}")
        for key in retired:
            self.stdout.write(
                f"Retired kid={key.kid}: published for {settings.SANDBOX_KEY_GRACE_PERIOD} s more"
            )
