"""The project's admin site (Django's "Overriding the default admin site"): its titles, and the leads' pages.

crm.apps.CrmAdminConfig makes it `admin.site`. On top of Django's AdminSite it adds the Lead overview
(`admin:lead_overview`, `admin:lead_overview_verify`) and My leads (`admin:my_leads`, with its arrival-emails
switch `admin:my_arrival_emails`), a link to the overview on every admin page's context, the "Workspace"
section first in the navigation, and the landing page of each role after a login that asked for no page
(leads/admin/overview.py, leads/admin/workspace.py).

Importing leads.admin registers the ModelAdmins on `admin.site`, which is this class, so this module cannot
import leads.admin at its top (the site would be built while its class is still being defined): the methods
import what they call, as Django's own AdminSite.get_urls does.
"""

from functools import partial

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.functional import SimpleLazyObject


class CrmAdminSite(admin.AdminSite):
    site_header = "Lead management"
    site_title = "Lead management"
    index_title = "Sales operations"

    def get_urls(self):
        from leads.admin.overview import overview_view, verify_view
        from leads.admin.workspace import my_arrival_emails_view, my_leads_view

        return [
            path("my-leads/", self.admin_view(partial(my_leads_view, site=self)), name="my_leads"),
            path(
                "my-leads/arrival-emails/",
                self.admin_view(partial(my_arrival_emails_view, site=self)),
                name="my_arrival_emails",
            ),
            path("lead-overview/", self.admin_view(partial(overview_view, site=self)), name="lead_overview"),
            path(
                "lead-overview/verify/",
                self.admin_view(partial(verify_view, site=self)),
                name="lead_overview_verify",
            ),
            *super().get_urls(),
        ]

    def each_context(self, request):
        from leads.admin.overview import can_view_overview

        context = super().each_context(request)
        # Lazy, so only the pages that show the link pay for the permission check.
        context["lead_overview_url"] = SimpleLazyObject(
            lambda: reverse("admin:lead_overview", current_app=self.name) if can_view_overview(request.user) else ""
        )
        return context

    def get_app_list(self, request, app_label=None):
        from leads.admin.workspace import workspace_app

        app_list = super().get_app_list(request, app_label)
        if app_label is None:
            workspace = workspace_app(request.user, self)
            if workspace is not None:
                app_list = [workspace, *app_list]
        return app_list

    def login(self, request, extra_context=None):
        from leads.admin.workspace import landing_url

        response = super().login(request, extra_context)
        index = reverse("admin:index", current_app=self.name)
        # Logged in, bound for the index only because no page was asked for: go to the role's own page.
        if isinstance(response, HttpResponseRedirect) and response.url == index and request.user.is_authenticated:
            return HttpResponseRedirect(landing_url(request.user, self))
        return response
