from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Sales agents"

    def ready(self):
        from agents import importing  # noqa: F401 (registers the import schema of its kind: imports.schema)
