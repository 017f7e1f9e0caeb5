"""Agent import/export columns for the admin (django-import-export).

Exports neutralize spreadsheet formulas; imports go through agents.importing.import_agents (imports.admin).
"""

from import_export import fields, resources
from import_export.widgets import ManyToManyWidget

from agents.models import Agent, Team
from imports.export_safety import FormulaSafeExportMixin


class AgentResource(FormulaSafeExportMixin, resources.ModelResource):
    # The names, as the import's teams column reads them.
    teams = fields.Field(
        attribute="teams", column_name="teams", widget=ManyToManyWidget(Team, separator="; ", field="name")
    )

    class Meta:
        model = Agent
        import_id_fields = ["email"]
        fields = [
            "name",
            "email",
            "is_active",
            "capacity",
            "teams",
            "weight",
            "daily_cap",
            "time_zone",
            "working_hours",
            "created_at",
            "updated_at",
        ]
        export_order = fields
