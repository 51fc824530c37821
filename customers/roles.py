"""The two roles of the CRM as Django groups: *Agents* view customers and add the unknown callers
they talk to; *Supervisors* (staff, in ``/admin/``) add, change, delete, import and export them,
and read the call log."""

from django.contrib.auth.models import Group, Permission

AGENTS, SUPERVISORS = "Agents", "Supervisors"
ROLE_PERMISSIONS = {
    # Agents add the unknown callers they talk to (the workbench's prefilled new-customer form).
    AGENTS: ["view_customer", "view_phonenumber", "add_customer", "add_phonenumber"],
    SUPERVISORS: [
        f"{action}_{model}"
        for model in ("customer", "phonenumber")
        for action in ("view", "add", "change", "delete")
    ]
    # The call log, read-only in the admin (written by the softphone and reconcile_calls).
    + ["view_callrecord"],
}


class PermissionsMissing(Exception):
    """The customers app's permissions are not in the database yet (run ``migrate``)."""


def ensure_roles() -> dict[str, Group]:
    """Create or update the groups with exactly their permissions; ``{name: Group}``. Raises
    :class:`PermissionsMissing` before ``migrate`` has run."""
    groups = {}
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(
            content_type__app_label="customers", codename__in=codenames
        )
        if perms.count() != len(codenames):
            raise PermissionsMissing("Customer permissions are missing: run `manage.py migrate`.")
        group.permissions.set(perms)
        groups[name] = group
    return groups


def give_role(user, group: Group) -> None:
    """Put ``user`` in ``group``; a supervisor also gets staff status (the admin site)."""
    user.groups.add(group)
    if group.name == SUPERVISORS and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
