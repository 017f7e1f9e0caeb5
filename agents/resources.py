"""Agent import/export columns for the admin (django-import-export).

Exports neutralize spreadsheet formulas; imports go through agents.importing.import_agents (crm.admin_import).
"""

from import_export import resources

from agents.models import Agent
from crm.export_safety import FormulaSafeExportMixin


class AgentResource(FormulaSafeExportMixin, resources.ModelResource):
    class Meta:
        model = Agent
        import_id_fields = ["email"]
        fields = ["name", "email", "is_active", "capacity", "created_at", "updated_at"]
        export_order = fields
