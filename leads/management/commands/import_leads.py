from imports.command import ImportCommand
from leads.importing import import_leads


class Command(ImportCommand):
    help = (
        "Import leads from a messy CSV export: headers by alias, emails trimmed and lower-cased, statuses and dates "
        "as people write them. Existing leads (same email) are updated from non-empty cells only; assignments are "
        "never touched. Rejected rows are listed with line and reason. Exit 0 when the file was processed "
        "(rejections included), 2 when the file was refused (missing, empty, not text, a required column missing)."
    )

    def import_file(self, **kwargs):
        return import_leads(**kwargs)
