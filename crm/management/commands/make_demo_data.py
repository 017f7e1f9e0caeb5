from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.clock import AS_OF_HELP, parse_as_of
from crm.demo import SAMPLE_DATE, make_demo_leads
from imports.reading import RefusedFile


class Command(BaseCommand):
    help = (
        "Write OUT/leads.csv (default var/demo): the sample leads (default fixtures/leads.csv, made on "
        f"{SAMPLE_DATE}) with every readable created date moved on by whole days to the day of --as-of, each in "
        "its own format; unreadable dates and every other cell stay as written. The same day gives the same "
        "file. Exit 0 written, 2 bad arguments or an unreadable source."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", type=Path, default=settings.BASE_DIR / "fixtures" / "leads.csv")
        parser.add_argument("--out", type=Path, default=settings.BASE_DIR / "var" / "demo")
        parser.add_argument("--as-of", help=AS_OF_HELP.replace("classify at", "move the dates to"))
        parser.add_argument("--dayfirst", action="store_true", help="the source's slashed dates are DD/MM/YYYY")

    def handle(self, *args, source: Path, out: Path, as_of, dayfirst: bool, **options):
        as_of_date = timezone.localtime(parse_as_of(as_of)).date()
        try:
            demo = make_demo_leads(
                source=source, out_dir=out, as_of_date=as_of_date, time_zone=settings.TIME_ZONE, dayfirst=dayfirst
            )
        except RefusedFile as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(
            f"Wrote {demo.path}: {demo.moved} created dates moved {demo.days} days on ({SAMPLE_DATE} -> "
            f"{as_of_date}), {demo.kept} left as written."
        )
