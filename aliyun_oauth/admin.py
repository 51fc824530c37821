"""Admin: who is linked and until when (read only, never a token value), plus a revoke action."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from aliyun_oauth import services
from aliyun_oauth.models import LinkedAccount

DISPLAY_FIELDS = (
    "user",
    "upn",
    "name",
    "aid",
    "uid",
    "subject",
    "scope",
    "token_type",
    "expires_at",
    "issued_at",
    "linked_at",
)


@admin.register(LinkedAccount)
class LinkedAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "upn", "name", "expires_at", "linked_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "upn", "name")
    fields = DISPLAY_FIELDS
    readonly_fields = DISPLAY_FIELDS
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # unlink through the revoke action, which also tells the provider

    def has_revoke_permission(self, request):
        return request.user.has_perm("aliyun_oauth.delete_linkedaccount")

    @admin.action(description=_("Revoke selected Alibaba Cloud tokens"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        for account in queryset.select_related("user"):
            try:
                outcome = services.revoke_account(account.user)
            except services.NotLinked:
                continue
            level = messages.SUCCESS if outcome.upstream_revoked else messages.WARNING
            self.message_user(request, f"{account.user}: {outcome.message}", level)
