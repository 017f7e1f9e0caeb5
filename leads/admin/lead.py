from datetime import datetime

from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from agents.roles import is_scoped_agent
from core import clock
from core.admin_counts import EstimatedCountPaginator
from core.admin_lists import NarrowListMixin, agent_column, date_column, text_column
from imports.admin import CleanImportExportMixin
from imports.admin_runs import import_history_links
from leads.admin.actions import LeadAssignmentAdminMixin
from leads.admin.classification import LeadClassificationAdminMixin
from leads.explanation import explain_assignment
from leads.filters import AgentListFilter, CountryListFilter, LeadClassListFilter, SlaStateListFilter
from leads.models import Lead
from leads.resources import LeadResource
from leads.scoping import AgentScopedAdminMixin
from leads.status_history import CREATED, Source, StatusChange, record_status_changes

LEAD_NAME = text_column("name", "name", "9em")
# The "Status history" section of a lead's change page, and how many of its changes it shows.
HISTORY_FIELDS = ["first_touched_at", "last_activity_at", "status_changes"]
HISTORY_SHOWN = 50


@admin.register(Lead)
class LeadAdmin(
    AgentScopedAdminMixin,
    CleanImportExportMixin,
    LeadClassificationAdminMixin,
    LeadAssignmentAdminMixin,
    NarrowListMixin,
    admin.ModelAdmin,
):
    resource_classes = [LeadResource]
    import_kind = "lead"
    command_name = "import_leads"
    # Narrow columns (core/admin_lists.py), so that the agent column fits at 1366 px.
    list_display = [
        LEAD_NAME,
        text_column("email", "email", "11em"),
        text_column("company", "company", "7em"),
        "status",
        "class_badge",
        date_column("created_at", "created"),
        agent_column("assigned_agent", "agent", "7em"),
    ]
    list_display_links = [LEAD_NAME]
    list_filter = [LeadClassListFilter, "status", SlaStateListFilter, CountryListFilter, AgentListFilter]
    list_select_related = ["assigned_agent"]
    # Searched through the indexed keys (see get_search_results and leads.lookup.search_conditions).
    search_fields = ["name_key", "email", "company_key", "phone_key"]
    search_help_text = (
        "Part of a name, the beginning of an email or of a company (accents and case ignored), or a phone "
        "number by its last digits."
    )
    date_hierarchy = "created_at"
    raw_id_fields = ["assigned_agent"]
    readonly_fields = [
        "classification_reason",
        "name_key",
        "assigned_at",
        "added_at",
        "updated_at",
        "import_history",
        "why_this_agent",
        *HISTORY_FIELDS,
    ]
    # Counted exactly up to ADMIN_EXACT_COUNT_UP_TO leads, estimated beyond (core/admin_counts.py).
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description="import history")
    def import_history(self, lead):
        return import_history_links(kind="lead", record_id=lead.pk)

    def get_fieldsets(self, request, obj=None):
        # "Why this agent" is a section of its own on a lead's change page; an agent does not see it (it names
        # the other agents and their loads), nor does the add page (no lead, no run yet).
        fieldsets = super().get_fieldsets(request, obj)
        if self.fieldsets is None:  # the default single fieldset: take the section's field out of it
            fieldsets = [
                (name, {**opts, "fields": [f for f in opts["fields"] if f not in ("why_this_agent", *HISTORY_FIELDS)]})
                for name, opts in fieldsets
            ]
        if obj is not None and obj.pk is not None and not is_scoped_agent(request.user):
            fieldsets = [*fieldsets, ("Why this agent", {"fields": ["why_this_agent"]})]
        if obj is not None and obj.pk is not None:
            fieldsets = [*fieldsets, ("Status history", {"fields": HISTORY_FIELDS})]
        return fieldsets

    def save_model(self, request, obj, form, change):
        """Save the lead and record its creation or change of status (leads.status_history), at the request's
        moment; an edit is activity."""
        as_of = clock.request_as_of(request)
        if not change or form.has_changed():
            obj.last_activity_at = as_of
        super().save_model(request, obj, form, change)
        if not change or "status" in form.changed_data:
            before = form.initial.get("status", obj.status) if change else CREATED
            record_status_changes(
                changes=[StatusChange(obj.pk, before, obj.status)], as_of=as_of, source=Source.ADMIN, user=request.user
            )

    @admin.display(description="changes")
    def status_changes(self, lead):
        changes = lead.status_history.select_related("user", "api_key")
        shown = list(changes[: HISTORY_SHOWN + 1])
        context = {"changes": shown[:HISTORY_SHOWN], "more": len(shown) > HISTORY_SHOWN}
        if context["more"]:
            context["total"] = changes.count()
            context["all_url"] = reverse("admin:leads_leadstatuschange_changelist") + f"?lead__id__exact={lead.pk}"
        return render_to_string("admin/leads/lead/status_history.html", context)

    @admin.display(description="from the run's record")
    def why_this_agent(self, lead):
        """The lead's latest assignment explained from what its run recorded (leads.explanation)."""
        data = explain_assignment(lead).to_dict()
        as_of = data["as_of"]
        as_of_text = f"{timezone.localtime(datetime.fromisoformat(as_of)):%d %b %Y %H:%M}" if as_of else ""
        return render_to_string("admin/leads/lead/why_this_agent.html", {**data, "as_of_text": as_of_text})
