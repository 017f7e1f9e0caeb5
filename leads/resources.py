"""Lead import/export columns for the admin (django-import-export).

Exports neutralize spreadsheet formulas. Imports do not go through the resource's row-by-row path: the admin
mixin (imports.admin) hands the whole file to leads.importing.import_leads, the same service as the command.
"""

from import_export import fields, resources

from imports.export_safety import FormulaSafeExportMixin
from leads.models import Lead


class LeadResource(FormulaSafeExportMixin, resources.ModelResource):
    agent = fields.Field(attribute="assigned_agent__email", column_name="agent", readonly=True)

    class Meta:
        model = Lead
        import_id_fields = ["email"]
        fields = [
            "name",
            "email",
            "phone",
            "company",
            "source",
            "country",
            "status",
            "created_at",
            "agent",
            "assigned_at",
            "added_at",
            "updated_at",
        ]
        export_order = fields
