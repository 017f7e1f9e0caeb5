from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from leads.admin_overview import install_lead_overview

admin.site.site_header = "Lead management"
admin.site.site_title = "Lead management"
admin.site.index_title = "Sales operations"
install_lead_overview(admin.site)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
