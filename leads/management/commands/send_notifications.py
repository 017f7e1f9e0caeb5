import json

from django.core.management.base import BaseCommand, CommandError

from leads.notifications import send_due


class Command(BaseCommand):
    help = (
        "Send every due pending notification email: those whose job never ran (a queue that was down, a worker "
        "that died while sending) and failed ones whose wait is over. Safe beside the job worker and run twice: "
        "each email is sent once. Run it from cron (every few minutes) or after an outage. Exit 0: nothing left "
        "failing this time; 1: some emails failed (they are tried again later, or are failed for good)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help='print {"sent", "retrying", "failed"}')

    def handle(self, *args, json: bool, **options):
        result = send_due()
        if json:
            self.stdout.write(_json(result.to_dict()))
        else:
            self.stdout.write(
                f"Sent {result.sent}; {result.retrying} failed and will be tried again; "
                f"{result.failed} failed for the last time."
            )
        if result.retrying or result.failed:
            raise CommandError("Some notification emails could not be sent (see the admin).", returncode=1)


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False)
