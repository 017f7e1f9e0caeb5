from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Sales agents"

    def ready(self):
        from imports.registry import declare

        # The schema is imported when a job or a revert needs it: it loads the cleaning stack (pandas).
        declare("agent", "agents.importing.AGENT_SCHEMA")
