"""Agent import/export columns for the admin (django-import-export).

Exports neutralize spreadsheet formulas; imports go through agents.importing.import_agents (imports.admin).
"""

from import_export import resources

from agents.models import Agent
from imports.export_safety import FormulaSafeExportMixin


class AgentResource(FormulaSafeExportMixin, resources.ModelResource):
    class Meta:
        model = Agent
        import_id_fields = ["email"]
        fields = ["name", "email", "is_active", "capacity", "created_at", "updated_at"]
        export_order = fields
