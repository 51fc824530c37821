"""``manage.py create_roles``: the Agents and Supervisors groups, without any demo account."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from customers.roles import AGENTS, SUPERVISORS, PermissionsMissing, ensure_roles, give_role


class Command(BaseCommand):
    help = (
        "Create or update the groups Agents and Supervisors with their permissions; optionally "
        "put existing users in them (supervisors also get staff status). Safe to run again, "
        "also with DEBUG off: it sets no password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--agent", action="append", default=[], metavar="USERNAME", help="an existing user"
        )
        parser.add_argument(
            "--supervisor",
            action="append",
            default=[],
            metavar="USERNAME",
            help="an existing user",
        )

    @transaction.atomic
    def handle(self, *args, agent=(), supervisor=(), **options):
        try:
            groups = ensure_roles()
        except PermissionsMissing as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"groups: {AGENTS}, {SUPERVISORS}")
        users = get_user_model().objects
        for role, names in ((AGENTS, agent), (SUPERVISORS, supervisor)):
            for name in names:
                user = users.filter(username__iexact=name).first()
                if user is None:  # nothing is half-done: the transaction rolls back
                    raise CommandError(f"No user “{name}”: create it first (see README, Deploy).")
                give_role(user, groups[role])
                self.stdout.write(f"{user.get_username()}: {role}")
