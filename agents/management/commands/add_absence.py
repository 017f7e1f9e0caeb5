from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from agents.models import Absence, Agent
from core.clock import parse_as_of

WHEN_HELP = (
    "an ISO date (2026-12-24: midnight in TIME_ZONE) or date-time (2026-12-24T09:00:00+01:00; without a zone it is "
    "in TIME_ZONE)"
)


class Command(BaseCommand):
    help = (
        "Record an absence of an agent (by email): from --from (included) until --until (excluded), it gets no "
        "leads. Exit 0 when recorded, 2 on an unknown agent or bad dates (nothing recorded)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--from", dest="starts", required=True, metavar="WHEN", help=f"the first moment: {WHEN_HELP}"
        )
        parser.add_argument(
            "--until", dest="ends", required=True, metavar="WHEN", help=f"the end (excluded): {WHEN_HELP}"
        )
        parser.add_argument("--reason", default="", help="why (holiday, training ...), shown in the admin")

    def handle(self, *args, **options):
        for flag, key in (("--from", "starts"), ("--until", "ends")):
            if not options[key].strip():
                raise CommandError(f"{flag} is empty: give a date or a date-time.", returncode=2)
        starts_at = parse_as_of(options["starts"], flag="--from")
        ends_at = parse_as_of(options["ends"], flag="--until")
        agent = Agent.objects.filter(email=options["email"]).first()
        if agent is None:
            raise CommandError(f"No agent with the email {options['email'].strip()!r}.", returncode=2)
        if ends_at <= starts_at:
            raise CommandError(
                f"--until ({ends_at.isoformat()}) must be after --from ({starts_at.isoformat()}).", returncode=2
            )
        absence = Absence(agent=agent, starts_at=starts_at, ends_at=ends_at, reason=options["reason"].strip())
        try:
            absence.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            raise CommandError(f"The absence cannot be recorded: {problems}", returncode=2) from None
        absence.save()
        reason = f" ({absence.reason})" if absence.reason else ""
        self.stdout.write(
            f"Absence recorded for {agent.name} <{agent.email}>: from {starts_at.isoformat()} "
            f"until {ends_at.isoformat()}{reason}."
        )
