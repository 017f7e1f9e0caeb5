from django.db import migrations, models

from crm.normalize import name_key, normalize_email


# MariaDB/MySQL compare text ignoring case and accents by default: `üser@` would be the same email as `user@`.
MYSQL_EXACT_COLLATION = "utf8mb4_bin"


class NormalizedEmailField(models.EmailField):
    """An email stored trimmed and lower-cased, and looked up the same way.

    Normalizing in pre_save (like auto_now) covers save() and bulk_create();
    get_prep_value covers filters, so Lead.objects.get(email=" A@B.org ") works.
    Emails compare exactly on every engine: on MariaDB/MySQL the column is binary (utf8mb4_bin), so the unique
    constraint and every join on it tell `üser@` from `user@` (case is already folded by the normalizing).
    """

    def db_parameters(self, connection):
        parameters = super().db_parameters(connection)
        if connection.vendor == "mysql" and not self.db_collation:
            parameters["collation"] = MYSQL_EXACT_COLLATION
        return parameters

    def pre_save(self, model_instance, add):
        value = normalize_email(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value):
        return normalize_email(super().get_prep_value(value))

    def to_python(self, value):
        return normalize_email(super().to_python(value))


class NameKeyField(models.CharField):
    """A derived, indexed look-up key computed from another field on every save."""

    def __init__(self, *args, source: str = "name", **kwargs):
        self.source = source
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs.pop("editable", None)
        if kwargs.get("db_index") is True:
            kwargs.pop("db_index")
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = name_key(getattr(model_instance, self.source))[: self.max_length]
        setattr(model_instance, self.attname, value)
        return value


def exact_email_on_mysql(table: str, *, max_length: int = 254) -> migrations.RunPython:
    """A migration operation giving an existing email column NormalizedEmailField's binary collation on
    MariaDB/MySQL (new databases get it from the field); nothing on the other engines, which compare exactly."""

    def alter(collation: str):
        def run(apps, schema_editor):
            if schema_editor.connection.vendor != "mysql":
                return
            quoted = schema_editor.quote_name
            with schema_editor.connection.cursor() as cursor:  # MariaDB cannot roll DDL back anyway
                cursor.execute(
                    f"ALTER TABLE {quoted(table)} MODIFY {quoted('email')} varchar({max_length}) "
                    f"CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL"
                )
        return run

    return migrations.RunPython(alter(MYSQL_EXACT_COLLATION), alter("utf8mb4_general_ci"), elidable=False)
