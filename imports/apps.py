from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self):
        from imports import admin_runs  # noqa: F401 (registers the import history's admin: ImportRun)
