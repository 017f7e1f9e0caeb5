from django.db import migrations

from core.fields import exact_email_on_mysql


class Migration(migrations.Migration):
    """Emails compare exactly on MariaDB/MySQL too (a binary collation): see core.fields.NormalizedEmailField."""

    dependencies = [("agents", "0001_initial")]

    operations = [exact_email_on_mysql("agents_agent")]
