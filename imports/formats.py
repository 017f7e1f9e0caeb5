"""tablib's XLSX (and YAML, ODS, XLS) formats, registered so that they load their library (openpyxl, ...) when a
file is first read or written in them.

django-import-export lists its formats when its admin module is imported (import_export.formats.base_formats asks
tablib for each one, to see which are available), and tablib's XLSX format imports openpyxl, and with it numpy, at
the top of its module (YAML pyyaml, ...): every process that imports the admin paid for them at start-up. This
registers in their place formats with the same titles and extensions whose reading and writing import the real
ones on first use. register_lazy_formats() runs before the admin modules are imported
(crm.apps.CrmAdminConfig.ready).
"""

from functools import cached_property
from importlib import import_module

# tablib's key (its format's title) -> the format's extensions, for the formats whose module imports a library.
LAZY_FORMATS = {"xlsx": ("xlsx",), "xls": ("xls",), "yaml": ("yaml", "yml"), "ods": ("ods",)}


class LazyFormat:
    """A tablib format whose class is imported when a set or book is first read, written or detected."""

    def __init__(self, path: str, *, title: str, extensions: tuple[str, ...]):
        self.path, self.title, self.extensions = path, title, extensions

    @cached_property
    def format(self):
        module, name = self.path.rsplit(".", 1)
        return getattr(import_module(module), name)

    def import_set(self, *args, **kwargs):
        return self.format.import_set(*args, **kwargs)

    def export_set(self, *args, **kwargs):
        return self.format.export_set(*args, **kwargs)

    def import_book(self, *args, **kwargs):
        return self.format.import_book(*args, **kwargs)

    def export_book(self, *args, **kwargs):
        return self.format.export_book(*args, **kwargs)

    def detect(self, *args, **kwargs):
        return self.format.detect(*args, **kwargs)


def register_lazy_formats() -> None:
    """Register those formats lazily where tablib registered them by their path (their library is installed),
    each in its place in the order of detection."""
    from tablib.formats import registry

    formats = getattr(registry, "_formats", None)  # tablib's own table: if a release renames it, load eagerly
    if not isinstance(formats, dict):
        return
    for key, extensions in LAZY_FORMATS.items():
        path = formats.get(key)  # a dotted path until tablib first loads the format
        if isinstance(path, str):
            registry.register(key, LazyFormat(path, title=key, extensions=extensions))
