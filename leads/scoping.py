"""Agent scoping for the lead admin: an agent sees and edits only their own leads.

Who is scoped is decided in agents/roles.py. This mixin goes first in LeadAdmin's bases so that it wraps
whatever the other mixins (import/export, assignment actions) add: for a scoped user the queryset is cut
down to their leads before anything else sees it, and everything that is not reading or updating one of
those leads is refused.
"""

from django.http import Http404

from agents.roles import agent_id_of, is_scoped_agent

# What an agent may change on their own lead; every other field is shown read-only.
AGENT_EDITABLE_FIELDS = ("name", "email", "phone", "company", "status")


class AgentScopedAdminMixin:
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_scoped_agent(request.user):
            # Through the login, not an agent id: a user with no linked agent sees nothing.
            queryset = queryset.filter(assigned_agent__user=request.user)
        return queryset

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and is_scoped_agent(request.user):
            # The admin's default answer for a missing object is a redirect with a message; for
            # someone else's lead a plain 404 says less and reads clearly in tests.
            raise Http404("No such lead among your leads.")
        return obj

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if is_scoped_agent(request.user):
            for field in self.model._meta.fields:
                if field.editable and field.name not in AGENT_EDITABLE_FIELDS and field.name not in readonly:
                    readonly.append(field.name)
        return readonly

    def get_list_filter(self, request):
        list_filter = list(super().get_list_filter(request))
        if is_scoped_agent(request.user):
            # An agent filter would list every agent's name; an agent only has their own leads anyway.
            list_filter = [f for f in list_filter if not _is_agent_filter(f)]
        return list_filter

    def get_actions(self, request):
        # No bulk actions at all (delete, assign, export, ...): an agent works one lead at a time.
        if is_scoped_agent(request.user):
            return {}
        return super().get_actions(request)

    def has_add_permission(self, request):
        return not is_scoped_agent(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return not is_scoped_agent(request.user) and super().has_delete_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and not _may_touch(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        if obj is not None and not _may_touch(request.user, obj):
            return False
        return super().has_view_permission(request, obj)

    # django-import-export's hooks; harmless when LeadAdmin has no import/export.
    def has_import_permission(self, request):
        parent = getattr(super(), "has_import_permission", None)
        return not is_scoped_agent(request.user) and parent is not None and parent(request)

    def has_export_permission(self, request):
        parent = getattr(super(), "has_export_permission", None)
        return not is_scoped_agent(request.user) and parent is not None and parent(request)


def _may_touch(user, lead) -> bool:
    if not is_scoped_agent(user):
        return True
    return lead.assigned_agent_id is not None and lead.assigned_agent_id == agent_id_of(user)


def _is_agent_filter(list_filter_entry) -> bool:
    entry = list_filter_entry[0] if isinstance(list_filter_entry, (tuple, list)) else list_filter_entry
    if isinstance(entry, str):
        return entry.split("__")[0] == "assigned_agent"
    return getattr(entry, "parameter_name", None) == "agent"
