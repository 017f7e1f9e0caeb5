"""Sales managers, who import leads and agents, see the import history and may revert an import.

Written out, not imported, like 0001_roles. Reversing it takes the permissions back from the group only.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import migrations

GROUP = "Sales managers"
PERMISSIONS = ["imports.view_importrun", "imports.revert_importrun"]


def _permissions(apps, using):
    # In a fresh database post_migrate has not run yet, so the permissions do not exist at this point.
    app_config = global_apps.get_app_config("imports")
    create_contenttypes(app_config, verbosity=0, using=using, apps=apps)
    create_permissions(app_config, verbosity=0, using=using, apps=apps)
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.using(using).get(content_type__app_label=label, codename=codename)
        for label, codename in (perm.split(".") for perm in PERMISSIONS)
    ]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).first()
    if group is not None:
        group.permissions.add(*_permissions(apps, using))


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps, using))


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_managers_view_notifications"),
        ("imports", "0002_history_and_revert"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
