"""Django's PostgreSQL backend whose check of a persistent connection (``CONN_HEALTH_CHECKS``)
asks the socket, not the server.

Django checks a reused connection at the start of every request with ``SELECT 1``: a round trip
to PostgreSQL before the request's own first query (about a tenth of a proxied softphone call).
A connection the server ended (restart, ``pg_terminate_backend``, idle timeout) has the
server's goodbye or the end of the stream waiting on its socket, which a zero-timeout
``select()`` sees without sending anything: such a connection is reported unusable and Django
reconnects, as after a failed ``SELECT 1``. Anything else waiting unasked (a notice after a
configuration reload) is treated the same way, which costs one reconnect. A connection that is
not idle outside a transaction gets Django's own check. A peer gone silently (a cut cable) is
noticed by neither check until TCP gives up.
"""

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    """``django.db.backends.postgresql``'s wrapper with :meth:`is_usable` as described above."""

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()
        try:
            waiting, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not waiting
