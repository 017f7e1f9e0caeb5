from django.db import models

from crm.normalize import name_key, normalize_email


class NormalizedEmailField(models.EmailField):
    """An email stored trimmed and lower-cased, and looked up the same way.

    Normalizing in pre_save (like auto_now) covers save() and bulk_create();
    get_prep_value covers filters, so Lead.objects.get(email=" A@B.org ") works.
    """

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
