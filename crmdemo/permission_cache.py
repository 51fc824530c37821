"""Each signed-in user's permissions read from the shared cache instead of two queries a request.

Django's ``ModelBackend`` loads a user's permissions (their own, their groups') with two queries
on every request that checks one; at a screen pop that was a quarter of ``GET /customers/lookup``
(py-spy, benchmarks/search.py). This backend (the case-insensitive sign-in backend, whose
``has_perm`` it replaces; listed before it, which stays for sessions signed in with it) answers
``has_perm`` from the cache: the permission names ``ModelBackend`` computes, stored per user under
a generation number that any change of users' groups, groups' permissions, users' own permissions
or a user's active/superuser flags moves on (signals below), so a revoked permission stops working
on the next request. It grants nothing ``ModelBackend`` would not: when it answers False the next
backend decides as before.

Only with a cache every instance shares (``crmdemo.cache.FailSoftRedisCache``): a per-process
cache could not be told about a change made in another process. While Redis is down every read
misses and ``ModelBackend`` answers; entries expire after ``TTL`` seconds in any case, which
bounds how long a change made while Redis was unreachable can go unseen.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from workbench.auth_backends import CaseInsensitiveModelBackend

GENERATION_KEY = "perms:generation"
TTL = 300  # seconds


def enabled() -> bool:
    """True when the default cache is shared by every instance (Redis)."""
    return settings.CACHES["default"]["BACKEND"] == "crmdemo.cache.FailSoftRedisCache"


def invalidate() -> None:
    """Make every cached permission set stale (called on any change that may alter one)."""
    if not enabled():
        return
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet (or Redis lost it): any new value outdates old keys
        cache.set(GENERATION_KEY, 1, timeout=None)


class CachedPermissionsBackend(CaseInsensitiveModelBackend):
    """Sign-in as ``CaseInsensitiveModelBackend``; ``has_perm`` from the cache (module doc)."""

    def get_all_permissions(self, user_obj, obj=None):
        """The ``"app.codename"`` set ``ModelBackend`` gives, read from the cache when it can."""
        if not enabled() or not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_cached_perms"):
            user_obj._cached_perms = self._load(user_obj)
        return user_obj._cached_perms

    def _load(self, user_obj) -> set[str]:
        generation = cache.get(GENERATION_KEY)
        if generation is None:
            invalidate()
            generation = cache.get(GENERATION_KEY)
        key = f"perms:{generation}:{user_obj.pk}"
        perms = cache.get(key) if generation is not None else None
        if perms is None:
            perms = ModelBackend.get_all_permissions(self, user_obj)
            if generation is not None:
                cache.set(key, perms, timeout=TTL)
        return set(perms)

    def has_perm(self, user_obj, perm, obj=None):
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label):
        return any(p.startswith(app_label + ".") for p in self.get_all_permissions(user_obj))


def _changed(**kwargs) -> None:
    if kwargs.get("action", "post_").startswith("post_"):
        invalidate()


_User = get_user_model()
for _through in (
    _User.groups.through,
    _User.user_permissions.through,
    Group.permissions.through,
):
    m2m_changed.connect(_changed, sender=_through, dispatch_uid=f"perm-cache-{_through}")


@receiver(post_save, sender=_User, dispatch_uid="perm-cache-user-save")
@receiver(post_delete, sender=_User, dispatch_uid="perm-cache-user-delete")
@receiver(post_delete, sender=Group, dispatch_uid="perm-cache-group-delete")
def _user_or_group_changed(sender, **kwargs):
    # is_active / is_superuser change what a user may do; a deleted group takes its permissions.
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every sign-in saves last_login: that changes no permission
    invalidate()
