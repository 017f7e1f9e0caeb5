import json

from django.core.management.base import BaseCommand, CommandError

from leads.routing import RefusedFile, RulesFileError, import_rules_file


class Command(BaseCommand):
    help = (
        "Replace the whole routing rule set with a CSV file's, in one transaction. Columns exactly: position, name, "
        "team, source, country, email_domain, company_contains, classification (any order); an empty condition "
        "matches anything, | separates alternatives. A rule naming an unknown team, an unknown column, a class "
        "that is not one, or a position used twice refuses the file with each problem's line and column, nothing "
        "changed. Exit 0 when replaced, 2 when refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE")
        parser.add_argument("--json", action="store_true", help='print {"rules": n, "replaced": n}')

    def handle(self, *args, **options):
        try:
            result = import_rules_file(path=options["path"])
        except (RefusedFile, RulesFileError) as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict()))
        else:
            self.stdout.write(f"{result.rules} routing rules imported; {result.replaced} replaced.")
