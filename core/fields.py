from django.db import migrations, models

from core import sql
from core.normalize import name_key, normalize_email, phone_key


class NormalizedEmailField(models.EmailField):
    """An email stored trimmed and lower-cased, and looked up the same way.

    Normalizing in pre_save (like auto_now) covers save() and bulk_create();
    get_prep_value covers filters, so Lead.objects.get(email=" A@B.org ") works.
    Emails compare exactly on every engine: on MariaDB/MySQL the column is binary (utf8mb4_bin), so the unique
    constraint and every join on it tell `üser@` from `user@` (case is already folded by the normalizing).
    """

    def db_parameters(self, connection):
        parameters = super().db_parameters(connection)
        exact = sql.dialect(connection).exact_collation
        if exact and not self.db_collation:
            parameters["collation"] = exact
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

    key = staticmethod(name_key)

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
        value = self.key(getattr(model_instance, self.source))[: self.max_length]
        setattr(model_instance, self.attname, value)
        return value


class PhoneKeyField(NameKeyField):
    """The digits of a phone number, last first (core.normalize.phone_key)."""

    key = staticmethod(phone_key)


class Prefix(models.Lookup):
    """`field__prefix="ab"`: the value starts with "ab", as a condition that each engine answers from an index.

    PostgreSQL: LIKE 'ab%' (served by the varchar_pattern_ops index Django adds to indexed text columns);
    MariaDB/MySQL: LIKE 'ab%' without BINARY (a range on the index; the keys and emails it is used on are
    lower-cased, so the case-insensitive collation changes nothing); SQLite: GLOB 'ab*' (case-sensitive, so
    its BINARY index serves it, where its LIKE ignores case and could not).
    """

    lookup_name = "prefix"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} LIKE %s", [*lhs_params, connection.ops.prep_for_like_query(self.rhs) + "%"]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        glob = "".join(f"[{ch}]" if ch in "*?[" else ch for ch in self.rhs)
        return f"{lhs} GLOB %s", [*lhs_params, glob + "*"]


models.CharField.register_lookup(Prefix)


def exact_email_on_mysql(table: str, *, max_length: int = 254) -> migrations.RunPython:
    """A migration operation giving an existing email column NormalizedEmailField's binary collation on
    MariaDB/MySQL (new databases get it from the field); nothing on the other engines, which compare exactly."""

    def alter(which: str):
        def run(apps, schema_editor):
            collation = getattr(sql.dialect(schema_editor.connection), which)
            if collation is None:  # the engine compares exactly already
                return
            quoted = schema_editor.quote_name
            with schema_editor.connection.cursor() as cursor:  # MariaDB cannot roll DDL back anyway
                cursor.execute(
                    f"ALTER TABLE {quoted(table)} MODIFY {quoted('email')} varchar({max_length}) "
                    f"CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL"
                )

        return run

    return migrations.RunPython(alter("exact_collation"), alter("default_collation"), elidable=False)
