"""The intake API's keys: listed with their use, revoked by an action. Keys are made by `manage.py
create_api_key`, which shows a key once: the admin never sees one (only its first characters)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from core.admin_lists import date_column
from core.clock import request_as_of
from leads.models import ApiKey


@admin.action(description="Revoke the selected keys...", permissions=["change"])
def revoke_keys(modeladmin, request, queryset):
    """Two steps, like delete_selected: the first POST shows the keys, the second revokes them."""
    keys = queryset.usable()
    if not keys.exists():
        modeladmin.message_user(request, "The selected keys are revoked already.", messages.WARNING)
        return None
    if request.POST.get("post") == "yes":
        revoked = keys.revoke(as_of=request_as_of(request))
        modeladmin.message_user(request, f"Revoked {revoked} key{'s' if revoked != 1 else ''}.", messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Revoke API keys",
        "opts": modeladmin.model._meta,
        "keys": list(keys),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/leads/apikey/revoke.html", context)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "source",
        "key_start",
        date_column("created_at", "created", with_time=True),
        date_column("last_used_at", "last used", with_time=True),
        "requests",
        "revoked",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "source"]
    actions = [revoke_keys]
    fields = ["name", "source", "key_start", "created_at", "last_used_at", "requests", "revoked_at"]
    readonly_fields = ["key_start", "created_at", "last_used_at", "requests", "revoked_at"]

    def has_add_permission(self, request):
        return False  # a key is shown once, by the command that makes it

    @admin.display(description="revoked", boolean=True, ordering="revoked_at")
    def revoked(self, key):
        return key.is_revoked
