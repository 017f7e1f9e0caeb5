"""Create the two staff roles as groups with their permissions.

The permission lists are written out here, not imported, so this migration keeps meaning what it meant
when it ran. Re-running it adds nothing twice; reversing it removes the two groups (and only them).
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import migrations

ROLES = {
    "Sales managers": [
        "leads.view_lead",
        "leads.add_lead",
        "leads.change_lead",
        "leads.import_lead",
        "leads.export_lead",
        "leads.assign_lead",
        "leads.view_assignmentrun",
        "leads.view_leadassignment",
        "leads.view_verificationrun",
        "agents.view_agent",
        "agents.add_agent",
        "agents.change_agent",
        "agents.import_agent",
        "agents.export_agent",
    ],
    # What an agent may do to their own leads; leads/scoping.py narrows it to those leads and fields.
    "Agents": [
        "leads.view_lead",
        "leads.change_lead",
    ],
}


def create_roles(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    # In a fresh database post_migrate has not run yet, so the permissions do not exist at this point.
    for label in ("agents", "leads"):
        app_config = global_apps.get_app_config(label)
        create_contenttypes(app_config, verbosity=0, using=using, apps=apps)
        create_permissions(app_config, verbosity=0, using=using, apps=apps)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename))
        group.permissions.add(*wanted)


def remove_roles(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    apps.get_model("auth", "Group").objects.using(using).filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("agents", "0001_initial"),
        ("leads", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
