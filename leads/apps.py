from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"

    def ready(self):
        from imports.registry import declare

        # The schema is imported when a job or a revert needs it: it loads the cleaning stack (pandas).
        declare("lead", "leads.importing.LEAD_SCHEMA")
