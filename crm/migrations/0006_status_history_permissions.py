"""Let Sales managers read the leads' status history (view only: audit records are read-only for everyone), like
0005 gave them the SLA data.

Reuses 0004's way of finding the permissions (creating them first in a fresh database), written out here so that
it keeps meaning what it meant when it ran. Re-running it adds nothing twice; reversing it takes just these
permissions away from the group.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import migrations

GROUP = "Sales managers"
PERMISSIONS = [f"{app}.{action}_{model}" for app, model in (("leads", "leadstatuschange"),) for action in ("view",)]


def _permissions(apps, using):
    for label in ("leads",):  # in a fresh database post_migrate has not created them yet
        app_config = global_apps.get_app_config(label)
        create_contenttypes(app_config, verbosity=0, using=using, apps=apps)
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    Permission = apps.get_model("auth", "Permission")
    found = []
    for perm in PERMISSIONS:
        app_label, codename = perm.split(".")
        found.append(Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename))
    return found


def grant(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    group, _ = apps.get_model("auth", "Group").objects.using(using).get_or_create(name=GROUP)
    group.permissions.add(*_permissions(apps, using))


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps, using))


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_sla_permissions"),
        ("leads", "0013_status_history"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
