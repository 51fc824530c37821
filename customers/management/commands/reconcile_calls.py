"""``manage.py reconcile_calls [--since …] [--agent …]``: settle the call log from CCC's call
detail records (customers.reconcile), for every agent with a linked cloud account.

Run it from the system's scheduler (cron or a systemd timer, see the README); it is idempotent
and safe to run twice at once. Exit status 0 even when some agents were skipped (they are named);
1 when every agent failed.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_duration

from customers.reconcile import reconcile


def _since(value: str):
    """An ISO 8601 time with offset (``2026-12-01T08:00:00Z``) or a duration back from now
    (``2h``, ``30m``, ``7d`` or Django's ``HH:MM:SS``)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = value.strip()
    if text[:-1].isdigit() and text[-1:] in units:
        return timezone.now() - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        when = parse_datetime(text)
    except ValueError:
        when = None
    if when is not None and not timezone.is_naive(when):
        return when
    duration = parse_duration(text) if when is None else None
    if duration is not None:
        return timezone.now() - duration
    raise CommandError(
        f"--since {value!r}: give a time with a UTC offset (2026-12-01T08:00:00Z) "
        "or a duration back from now (2h, 30m, 7d)."
    )


class Command(BaseCommand):
    help = "Settle the call log from CCC's call detail records, for every linked agent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            help="start of the window: an ISO 8601 time with offset or a duration back from now "
            "(2h, 7d); default CALL_RECONCILE_WINDOW, reaching back to the oldest unconfirmed call",
        )
        parser.add_argument(
            "--agent", action="append", default=[], help="only this CRM username (repeatable)"
        )

    def handle(self, *args, since=None, agent=(), **options):
        reports = reconcile(since=_since(since) if since else None, usernames=list(agent) or None)
        if not reports:
            self.stdout.write("No linked agent to reconcile.")
            return
        for report in reports:
            self.stdout.write(report.line())
        failed = [r for r in reports if r.error]
        total = sum(r.upstream_calls for r in reports)
        changed = sum(r.created + r.updated + r.unknown for r in reports)
        self.stdout.write(
            f"{len(reports)} agents, {changed} records changed, {total} upstream calls, "
            f"{len(failed)} agents skipped."
        )
        if len(failed) == len(reports):
            raise CommandError("No agent could be reconciled.")
