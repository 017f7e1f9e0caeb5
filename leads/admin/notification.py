"""The agents' notification emails, read-only like the audit trail: what was sent to whom, when, or why not.

Nobody adds, changes or deletes them here (core.admin_audit); "Send again" puts failed ones back in the queue.
A digest's leads are its run's assignment rows to the agent: the change page lists the first of them and links
to all of them in the assignment history.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.admin_audit import ReadOnlyAdminMixin
from core.admin_lists import NarrowListMixin, date_column, text_column
from leads.models import LeadAssignment, Notification
from leads.notifications import send_again

LEADS_LISTED = 100


@admin.action(description="Send the selected failed notifications again", permissions=["view"])
def send_failed_again(modeladmin, request, queryset):
    ids = send_again(queryset)
    modeladmin.message_user(
        request,
        f"{len(ids)} failed notification{'s' if len(ids) != 1 else ''} queued to be sent again.",
        messages.SUCCESS if ids else messages.WARNING,
    )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, NarrowListMixin, admin.ModelAdmin):
    list_display = [
        date_column("created_at", "created", with_time=True),
        text_column("to", "to", "12em"),
        "kind",
        "leads_count",
        "status",
        "attempts",
        date_column("sent_at", "sent", with_time=True),
    ]
    list_filter = ["kind", "status"]
    search_fields = ["to"]
    list_select_related = ["agent"]
    actions = [send_failed_again]
    fields = [
        "to",
        "agent",
        "kind",
        "status",
        "subject",
        "created_at",
        "sent_at",
        "attempts",
        "next_attempt_at",
        "last_error",
        "run",
        "leads_count",
        "leads",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        # Addresses are stored lower-cased, as the agents' emails are.
        return super().get_search_results(request, queryset, search_term.lower())

    @admin.display(description="leads")
    def leads(self, notification):
        history = (
            reverse("admin:leads_leadassignment_changelist")
            + f"?run__id__exact={notification.run_id}&to_agent__id__exact={notification.agent_id}"
        )
        if notification.kind != Notification.Kind.DIGEST:  # an arrival, an SLA reminder or escalation: one lead
            if notification.lead_id is None:
                return "(the lead was deleted)"
            return format_html(
                '<a href="{}">{}</a>',
                reverse("admin:leads_lead_change", args=[notification.lead_id]),
                notification.lead.name,
            )
        changes = list(
            LeadAssignment.objects.filter(run_id=notification.run_id, to_agent_id=notification.agent_id)
            .select_related("lead")
            .order_by("lead_id")[:LEADS_LISTED]
        )
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a></li>',
            ((reverse("admin:leads_lead_change", args=[c.lead_id]), c.lead.name) for c in changes),
        )
        more = (
            f"the first {len(changes)} of {notification.leads_count}"
            if notification.leads_count > len(changes)
            else f"{notification.leads_count}"
        )
        return format_html(
            '<ul class="notification-leads">{}</ul><p>Showing {}; <a href="{}">all of them in the assignment '
            "history</a>.</p>",
            items,
            more,
            history,
        )
