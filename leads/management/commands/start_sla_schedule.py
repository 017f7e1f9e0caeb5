from django.core.management.base import BaseCommand

from core.db_lock import OneLineFailures
from leads import schedule
from leads.tasks import SLA_SCHEDULE, queue_sla, sla_every


class Command(OneLineFailures, BaseCommand):
    help = (
        "Start the SLA schedule: queue a first run of enforce_sla for the job worker, which then runs it every "
        "SLA_CHECK_MINUTES. Does nothing when the schedule already runs (safe to call at every start). Exit 0."
    )

    def handle(self, *args, **options):
        if schedule.start(SLA_SCHEDULE, every=sla_every(), enqueue=queue_sla):
            self.stdout.write(f"SLA schedule started: enforce_sla every {sla_every()} on the job worker.")
        else:
            self.stdout.write("The SLA schedule is already running.")
