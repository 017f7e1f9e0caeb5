import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor):
    from leads import load_counts

    load_counts.install_triggers(schema_editor)
    load_counts.fill_counts(schema_editor.connection)


def uninstall(apps, schema_editor):
    from leads import load_counts

    load_counts.drop_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0004_teams_weights_hours_absences"),
        ("leads", "0008_routing_rules"),
    ]

    operations = [
        migrations.CreateModel(
            name="AgentLoadCount",
            fields=[
                (
                    "agent",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="load_count",
                        serialize=False,
                        to="agents.agent",
                    ),
                ),
                ("open_leads", models.BigIntegerField(default=0)),
                ("new_leads", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
