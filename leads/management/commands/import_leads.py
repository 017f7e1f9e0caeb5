from imports.command import ImportCommand
from leads.importing import LEAD_SCHEMA


class Command(ImportCommand):
    help = (
        "Import leads from a messy CSV export: headers by alias, emails trimmed and lower-cased, statuses and dates "
        "as people write them. Existing leads (same email) are updated from non-empty cells only; assignments are "
        "never touched. Rejected rows are listed with line and reason. Exit 0 when the file was processed "
        "(rejections included), 2 when the file was refused (missing, empty, not text, a required column missing). "
        "Each import, dry runs included, is recorded as an import run (`manage.py revert_import RUN` undoes one)."
    )

    schema = LEAD_SCHEMA
