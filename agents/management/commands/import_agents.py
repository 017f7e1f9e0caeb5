from agents.importing import AGENT_SCHEMA
from imports.command import ImportCommand


class Command(ImportCommand):
    help = (
        "Import agents from a CSV: name, email, active (yes/no, true/false, y/n, 1/0, active/inactive, "
        "enabled/disabled), capacity (a whole number, empty = no limit). Existing agents (same email) are updated "
        "from non-empty cells only; a new agent needs a name. Exit 0 when the file was processed (rejections "
        "included), 2 when the file was refused. "
        "Each import, dry runs included, is recorded as an import run (`manage.py revert_import RUN` undoes one)."
    )

    schema = AGENT_SCHEMA
