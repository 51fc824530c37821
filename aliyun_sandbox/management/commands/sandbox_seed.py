"""``manage.py sandbox_seed``: create the sandbox's demo cloud users (idempotent)."""

from django.core.management.base import BaseCommand

from aliyun_sandbox.oauth.users import seed_cloud_users


class Command(BaseCommand):
    help = "Create or update the sandbox's demo cloud users (one RAM user per demo agent)."

    def handle(self, *args, **options):
        for user, created in seed_cloud_users():
            verb = "created" if created else "up to date"
            self.stdout.write(
                f"{user.upn} ({user.display_name}, extension {user.extension}): {verb}"
            )
