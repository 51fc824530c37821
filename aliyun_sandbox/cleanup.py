"""House-keeping of the sandbox, kept out of the requests that read: release the calls of
agents whose softphone is gone, and delete what can no longer be used (authorization codes a
day past their expiry, signature nonces older than the timestamp window). Run by
``manage.py sandbox_cleanup`` and, at most once a minute, by the softphone's poll."""

import time
from datetime import timedelta

from django.utils import timezone

from aliyun_sandbox.ccc.signature import TIMESTAMP_WINDOW
from aliyun_sandbox.models import AuthorizationCode, UsedNonce
from aliyun_sandbox.telephony import simulator

PERIOD = 60.0  # seconds between two clean-ups run from polls
_last_run = float("-inf")


def clean_up() -> dict[str, int]:
    """Do the house-keeping now; return how many rows each step changed:
    ``{"calls_released", "codes_deleted", "nonces_deleted"}``."""
    now = timezone.now()
    released = simulator.release_gone_agents()
    # Codes long past their expiry are no use, not even for replay detection.
    codes = AuthorizationCode.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()[0]
    nonces = UsedNonce.objects.filter(seen_at__lt=now - 2 * TIMESTAMP_WINDOW).delete()[0]
    return {"calls_released": released, "codes_deleted": codes, "nonces_deleted": nonces}


def clean_up_now_and_then() -> None:
    """:func:`clean_up` if the last one in this process is ``PERIOD`` seconds old (a cheap
    periodic step for a development server that runs no scheduler)."""
    global _last_run
    if time.monotonic() - _last_run >= PERIOD:
        _last_run = time.monotonic()
        clean_up()
