from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CrmConfig(AppConfig):
    name = "crm"
    # The app's own config: CrmAdminConfig below is listed in INSTALLED_APPS by its path, in place of
    # "django.contrib.admin", and must not be taken for the config of "crm".
    default = True


class CrmAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "crm.admin_site.CrmAdminSite"

    def ready(self):
        from imports.formats import register_lazy_formats

        # Before the admin modules (autodiscover): their import-export mixins list tablib's formats on import.
        register_lazy_formats()
        super().ready()
