"""``manage.py sandbox_call``: ring an agent's softphone, or play the remote party of a call."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aliyun_sandbox.ccc import data as ccc_data
from aliyun_sandbox.telephony import simulator


class Command(BaseCommand):
    """Drive the sandbox call simulator from a shell (see
    :mod:`aliyun_sandbox.telephony.simulator`)."""

    help = (
        "Ring an agent from a number (--agent edward --from 13501234567), make the remote "
        "party answer or hang up a call (--answer/--hangup CONNID), or list calls (--list)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agent", help="upn, short name (edward), CCC UserId or extension")
        parser.add_argument(
            "--from", dest="caller", help='the caller number (ANI), or "anonymous" if withheld'
        )
        parser.add_argument("--answer", metavar="CONNID", help="remote party answers")
        parser.add_argument("--hangup", metavar="CONNID", help="remote party hangs up")
        parser.add_argument("--list", action="store_true", help="show the newest calls")

    def handle(self, *args, **options):
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The Alibaba Cloud sandbox is off (SANDBOX_ENABLED).")
        try:
            if options["answer"] or options["hangup"]:
                connid = options["answer"] or options["hangup"]
                call = simulator.remote_party(connid, "answer" if options["answer"] else "hangup")
                self.stdout.write(f"{call.connid} {call.state.lower()}")
            elif options["list"]:
                for call in simulator.recent_calls(20):
                    self.stdout.write(
                        f"{call.connid} {call.created_at:%Y-%m-%d %H:%M:%S}Z "
                        f"{call.direction.lower():8} {call.caller} -> {call.callee} "
                        f"{call.agent.upn} {call.state.lower()} {call.duration}s"
                    )
            else:
                if not options["agent"] or not options["caller"]:
                    raise CommandError("Give --agent and --from (or --answer/--hangup/--list).")
                user = ccc_data.find_agent_by_name(options["agent"])
                if user is None:
                    raise CommandError(f"No cloud user {options['agent']!r}.")
                call = simulator.ring_agent(user, options["caller"])
                doing = "Queued for" if call.state == call.QUEUED else "Ringing"
                self.stdout.write(
                    f"{doing} {user.upn} from {call.caller}: connid {call.connid} "
                    f"contact {call.contact_id}"
                )
        except simulator.SimulatorError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
