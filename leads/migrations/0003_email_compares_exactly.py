from django.db import migrations

from core.fields import exact_email_on_mysql


class Migration(migrations.Migration):
    """Emails compare exactly on MariaDB/MySQL too (a binary collation): see core.fields.NormalizedEmailField."""

    dependencies = [("leads", "0002_search_keys")]

    operations = [exact_email_on_mysql("leads_lead")]
