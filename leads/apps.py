from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"

    def ready(self):
        from leads import importing  # noqa: F401 (registers the import schema of its kind: imports.schema)
