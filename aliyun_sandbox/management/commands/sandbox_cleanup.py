"""``manage.py sandbox_cleanup``: the sandbox's house-keeping (see aliyun_sandbox.cleanup)."""

from django.core.management.base import BaseCommand

from aliyun_sandbox.cleanup import clean_up


class Command(BaseCommand):
    help = (
        "Release the calls of agents whose softphone is gone and delete expired authorization "
        "codes and old signature nonces."
    )

    def handle(self, *args, **options):
        for name, count in clean_up().items():
            self.stdout.write(f"{name.replace('_', ' ')}: {count}")
