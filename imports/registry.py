"""The import schemas by kind (imports.schema): the engine finds a schema by kind (`schema_for("lead")`: a job, a
revert) without importing any app.

An app declares where its schema lives in its AppConfig.ready() (`declare("lead", "leads.importing.LEAD_SCHEMA")`),
so every process (web, worker, command) knows every kind; the schema itself, which loads the cleaning stack
(imports.values: pandas, pyarrow), is imported when first asked for, not at every start-up. Importing the module
that declares a schema registers it too (`register`).
"""

from importlib import import_module

_DECLARED: dict[str, str] = {}  # kind -> dotted path of the schema
_REGISTRY: dict = {}  # kind -> Schema


def declare(kind: str, path: str) -> None:
    """The schema of that kind is `path` (module.NAME), imported by schema_for when first needed."""
    _DECLARED[kind] = path


def register(schema):
    """Make the schema known by its kind (an app calls it where it declares the schema)."""
    known = _REGISTRY.get(schema.kind)
    if known is not None and known.table != schema.table:
        raise ValueError(f"Two import schemas of kind {schema.kind!r}: {known.table} and {schema.table}.")
    _REGISTRY[schema.kind] = schema
    return schema


def schema_for(kind: str):
    """The registered schema of that kind (imported if only declared); LookupError naming the known kinds
    otherwise."""
    if kind not in _REGISTRY and kind in _DECLARED:
        module, name = _DECLARED[kind].rsplit(".", 1)
        register(getattr(import_module(module), name))
    try:
        return _REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted({*_REGISTRY, *_DECLARED})) or "none"
        raise LookupError(f"No import schema of kind {kind!r} (known: {known}).") from None
