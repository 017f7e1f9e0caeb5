from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from leads.api import api

handler403 = "crm.error_pages.permission_denied"
handler404 = "crm.error_pages.page_not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
