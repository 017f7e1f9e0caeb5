import json

from django.core.management.base import BaseCommand, CommandError

from leads.models import ApiKey


class Command(BaseCommand):
    help = (
        "Make a key for the intake API (/api/v1/) and print it once: only its hash is stored, so a lost key "
        "cannot be shown again (revoke it in the admin and make another). --source fills the source of the "
        "leads posted with it that have none. Exit 0: made; 2: bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", metavar="NAME", help="who uses the key: the form, tool or partner")
        parser.add_argument("--source", default="", help="the lead source for leads posted without one")
        parser.add_argument("--json", action="store_true", help='print {"name", "key", "source"}')

    def handle(self, *args, name: str, source: str, json: bool, **options):
        name, source = name.strip(), source.strip()
        for what, value, field in (("NAME", name, "name"), ("--source", source, "source")):
            limit = ApiKey._meta.get_field(field).max_length
            if len(value) > limit:
                raise CommandError(f"{what} is longer than {limit} characters.", returncode=2)
        if not name:
            raise CommandError("NAME is empty: say who uses the key.", returncode=2)
        record, key = ApiKey.issue(name=name, source=source)
        if json:
            self.stdout.write(_json({"name": record.name, "key": key, "source": record.source}))
            return
        self.stdout.write(f"API key for {record.name}" + (f" (source {record.source})" if record.source else "") + ":")
        self.stdout.write(key)
        self.stdout.write("It is shown only now: store it where the client keeps its secrets.")


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False)
