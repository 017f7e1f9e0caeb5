import factory

from agents.models import Agent


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    name = factory.Sequence(lambda n: f"Agent {n}")
    email = factory.Sequence(lambda n: f"agent{n}@sales.test")
    is_active = True
    capacity = None
