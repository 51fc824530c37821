"""The sandbox's demo cloud users: one RAM user of the sandbox Alibaba Cloud account per demo agent.

Used by ``manage.py sandbox_seed`` (and so by ``bootstrap_demo``) and shown as a hint on the
sandbox sign-in page. The ids are fixed digit strings so that a re-seeded database keeps the
same identities (the CRM stores the ``upn``/``uid`` it linked); ``ccc_user_id`` is the agent's user
id in the sandbox CCC instance (a UUID, as CCC 2017-07-05 user ids are) and ``extension`` the
softphone extension.
"""

import uuid
from dataclasses import dataclass

from aliyun_sandbox.models import CloudUser

# The sandbox's Alibaba Cloud account id (the ``aid`` claim).
ACCOUNT_ID = "1290000000000001"
_CCC_NAMESPACE = uuid.UUID("6b1f6c1e-2f4e-4c3a-9d7e-0c0c0c0c0c0c")


@dataclass(frozen=True)
class DemoCloudUser:
    """A demo RAM user: sign-in name (upn), display name, demo password, ids and extension."""

    upn: str
    display_name: str
    password: str
    uid: str
    extension: str

    @property
    def ccc_user_id(self) -> str:
        """The agent's CCC user id: a UUID derived from the upn, stable across re-seeding."""
        return str(uuid.uuid5(_CCC_NAMESPACE, self.upn))


DEMO_CLOUD_USERS = (
    DemoCloudUser("edward@crmdemo.onaliyun.com", "Edward", "1234", "2030000000000001", "8001"),
    DemoCloudUser("sissi@crmdemo.onaliyun.com", "Sissi", "5678", "2030000000000002", "8002"),
)


def seed_cloud_users() -> list[tuple[CloudUser, bool]]:
    """Create or update the demo cloud users; idempotent. Returns ``[(user, created), ...]``.

    A password is only re-hashed when it no longer matches, so running it again changes nothing.
    """
    results = []
    for demo in DEMO_CLOUD_USERS:
        user, created = CloudUser.objects.update_or_create(
            upn=demo.upn,
            defaults={
                "display_name": demo.display_name,
                "uid": demo.uid,
                "aid": ACCOUNT_ID,
                "ccc_user_id": demo.ccc_user_id,
                "extension": demo.extension,
            },
        )
        if not user.check_password(demo.password):
            user.set_password(demo.password)
            user.save(update_fields=["password"])
        results.append((user, created))
    return results


def demo_hints() -> list[DemoCloudUser]:
    """The demo users that exist in the database, for the sign-in page's hint."""
    existing = set(
        CloudUser.objects.filter(upn__in=[d.upn for d in DEMO_CLOUD_USERS]).values_list(
            "upn", flat=True
        )
    )
    return [d for d in DEMO_CLOUD_USERS if d.upn in existing]
