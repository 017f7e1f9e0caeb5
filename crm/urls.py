from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from leads.admin_overview import install_lead_overview
from leads.admin_workspace import install_workspace

admin.site.site_header = "Lead management"
admin.site.site_title = "Lead management"
admin.site.index_title = "Sales operations"
install_lead_overview(admin.site)
install_workspace(admin.site)

handler403 = "crm.error_pages.permission_denied"
handler404 = "crm.error_pages.page_not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
