from datetime import timedelta

import factory

from core import clock
from leads.models import Lead, LeadStatus


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"Lead {n}")
    email = factory.Sequence(lambda n: f"lead{n}@example.org")
    status = LeadStatus.NEW
    created_at = factory.LazyFunction(lambda: clock.now() - timedelta(days=1))
