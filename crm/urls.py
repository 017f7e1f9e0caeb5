from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Lead management"
admin.site.site_title = "Lead management"
admin.site.index_title = "Sales operations"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
