"""Database router: every model of ``aliyun_sandbox`` lives in the ``sandbox`` database.

The sandbox stands in for Alibaba Cloud, which keeps its own data; a separate database (by
default a second SQLite file, ``SANDBOX_DATABASE_URL``) means the CRM's transactions and the
sandbox's never wait on each other's locks, and the product needs no special case for sharing.
"""

SANDBOX_APP = "aliyun_sandbox"
SANDBOX_DB = "sandbox"


class SandboxRouter:
    """Sends reads, writes and migrations of the sandbox's models to ``sandbox``; everything
    else to ``default``. Relations never cross the two databases."""

    def db_for_read(self, model, **hints):
        return SANDBOX_DB if model._meta.app_label == SANDBOX_APP else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        same_side = (obj1._meta.app_label == SANDBOX_APP) == (obj2._meta.app_label == SANDBOX_APP)
        return None if same_side else False

    def allow_migrate(self, db, app_label, **hints):
        if app_label == SANDBOX_APP:
            return db == SANDBOX_DB
        return db != SANDBOX_DB
