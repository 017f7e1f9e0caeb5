"""Reverting an import run: delete the records it created, restore field by field the values it overwrote.

The rules:
- Only a done run can be reverted, once: not a dry run (it wrote nothing), a failed or cancelled one (nothing
  was written), one still queued or running, or one already reverted (CannotRevert, with a one-line reason).
- A record changed after the import is left as it is and listed with the reason. The import wrote its clock
  (the run's started_at) into the schema's update timestamps (`updated_at`, auto_now) of every record it created
  or changed, and every later change bumps them: an edit in the admin (save()), an assignment, unassignment or
  reassignment (leads.assignment writes updated_at in the same UPDATE), the agents' activate/deactivate
  actions, another import. So a record whose timestamp is no longer the run's was changed since. A record since
  deleted is listed too; a record the run created that other records still point at through a PROTECT
  relation (an agent given leads) is kept and listed.
- Before the restore, the schema's before-restore steps (imports.schema.BeforeRestore) see the records as they
  are and the values they are about to get back (an app's audit of what the revert changes).
- The deleted records take along what cascades from them (a lead's assignment history, LeadAssignment.lead
  CASCADE), deleted explicitly and set-based, as Django's deletion would; SET_NULL relations are set to NULL.
- One transaction, holding the import lock of the kind (core.sql.locked("import:<kind>")): no import of that
  kind runs meanwhile. A dry run does all of it and rolls back. The revert is recorded on the run (status
  reverted, reverted_at, reverted_by, revert_source, revert_report).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils.module_loading import import_string

from core import sql
from imports.history import before_columns
from imports.models import ImportChange, ImportRun
from imports.schema import Schema, schema_for

Status = ImportRun.Status
CREATED, UPDATED = ImportChange.Action.CREATED, ImportChange.Action.UPDATED
STORED_SKIPPED = 1000  # skipped records kept in the run's revert_report (the command lists them all)

CHANGED = "changed after the import"
DELETED = "deleted after the import"


class CannotRevert(Exception):
    """The run cannot be reverted (see the module docstring); nothing was changed."""


@dataclass
class RevertResult:
    run: int
    dry_run: bool
    deleted: int = 0
    restored: int = 0
    skipped_records: list[dict] = field(default_factory=list)  # {"email": identity, "reason": text}

    @property
    def skipped(self) -> int:
        return len(self.skipped_records)

    def to_dict(self) -> dict:
        return {
            "run": self.run,
            "deleted": self.deleted,
            "restored": self.restored,
            "skipped": self.skipped,
            "skipped_records": self.skipped_records,
            "dry_run": self.dry_run,
        }


def check_revertable(run: ImportRun) -> None:
    """Raise CannotRevert when the run cannot be reverted."""
    if run.status == Status.REVERTED:
        when = f" on {run.reverted_at:%Y-%m-%d %H:%M} UTC" if run.reverted_at else ""
        raise CannotRevert(f"Import #{run.pk} was already reverted{when}.")
    if run.dry_run:
        raise CannotRevert(f"Import #{run.pk} was a dry run: it wrote nothing to revert.")
    if run.status in (Status.FAILED, Status.CANCELLED):
        raise CannotRevert(f"Import #{run.pk} is {run.status}: nothing of it was written, nothing to revert.")
    if run.status != Status.DONE:
        raise CannotRevert(f"Import #{run.pk} is {run.status}: only a finished import can be reverted.")


def revert_run(*, run: ImportRun, dry_run: bool = False, user=None, source: str, as_of: datetime) -> RevertResult:
    """Revert a done run (see the module docstring). Raises CannotRevert, nothing changed, when it cannot be."""
    check_revertable(run)
    schema = schema_for(run.kind)
    if not schema.update_timestamps:
        raise CannotRevert(f"Import #{run.pk}: a {run.kind} has no updated_at, so changes since cannot be told.")
    with sql.locked(f"import:{schema.kind}"):
        run = ImportRun.objects.get(pk=run.pk)  # under the lock: another revert may just have ended
        check_revertable(run)
        result = _revert(run, schema, dry_run=dry_run, as_of=as_of)
        run.status = Status.REVERTED
        run.reverted_at = as_of
        run.reverted_by = user if user is not None and user.is_authenticated else None
        run.revert_source = source
        run.revert_report = {**result.to_dict(), "skipped_records": result.skipped_records[:STORED_SKIPPED]}
        run.save(update_fields=["status", "reverted_at", "reverted_by", "revert_source", "revert_report"])
        if dry_run:
            transaction.set_rollback(True)
    return result


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _relations(schema: Schema):
    """The model's reverse relations by what a deletion does to them: (cascading, set to null, protecting)."""
    model = apps.get_model(schema.model)
    cascade, set_null, protect = [], [], []
    for rel in model._meta.related_objects:
        if not rel.field.concrete or rel.many_to_many:
            continue
        if rel.on_delete is models.CASCADE:
            cascade.append(rel)
        elif rel.on_delete is models.SET_NULL:
            set_null.append(rel)
        elif rel.on_delete in (models.PROTECT, models.RESTRICT):
            protect.append(rel)
    return cascade, set_null, protect


def _memberships(schema: Schema):
    """(through model, its foreign key's attname to the record) of every many-to-many the model takes part in."""
    meta = apps.get_model(schema.model)._meta
    found = [(f.remote_field.through, f"{f.m2m_field_name()}_id") for f in meta.many_to_many]
    found += [
        (rel.through, f"{rel.field.m2m_reverse_field_name()}_id") for rel in meta.related_objects if rel.many_to_many
    ]
    return found


def _revert(run: ImportRun, schema: Schema, *, dry_run: bool, as_of: datetime) -> RevertResult:
    dialect = sql.dialect()
    cascade, set_null, protect = _relations(schema)
    table, pk, changes = _q(schema.table), _q(schema.pk), _q(ImportChange._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(run.started_at)
    changed = " OR ".join(f"t.{_q(c)} IS NULL OR t.{_q(c)} <> %s" for c in schema.update_timestamps)
    changed_params = [stamp] * len(schema.update_timestamps)
    referenced = [
        (
            f"EXISTS (SELECT 1 FROM {_q(rel.related_model._meta.db_table)} r WHERE r.{_q(rel.field.column)} = t.{pk})",
            f"still referenced by {rel.related_model._meta.verbose_name_plural} ({rel.field.verbose_name})",
        )
        for rel in protect
    ]
    protected = " OR ".join(condition for condition, _ in referenced) or "1 = 0"
    kept = _q(f"crm_revert_{uuid.uuid4().hex[:12]}")
    with connection.cursor() as cursor:
        # The records to revert, chosen once: those the run touched that are still as it left them.
        dialect.create_temporary_table(cursor, kept, "record_id BIGINT PRIMARY KEY, action VARCHAR(10) NOT NULL")
        cursor.execute(
            f"INSERT INTO {kept} (record_id, action) SELECT c.record_id, c.action FROM {changes} c "
            f"JOIN {table} t ON t.{pk} = c.record_id WHERE c.run_id = %s AND NOT ({changed}) "
            f"AND (c.action = %s OR NOT ({protected}))",
            [run.pk, *changed_params, UPDATED],
        )
        dialect.analyze(cursor, kept)
        result = RevertResult(run=run.pk, dry_run=dry_run)
        result.skipped_records = _skipped(cursor, run, schema, kept, changed, changed_params, referenced)
        cursor.execute(f"SELECT action, COUNT(*) FROM {kept} GROUP BY action")
        counts = dict(cursor.fetchall())
        result.deleted, result.restored = int(counts.get(CREATED, 0)), int(counts.get(UPDATED, 0))
        if result.deleted:
            created = f"SELECT record_id FROM {kept} WHERE action = '{CREATED}'"
            for through, column in _memberships(schema):  # many-to-many rows go with their record
                through._base_manager.filter(**{f"{column}__in": RawSQL(created, [])}).delete()
            for rel in cascade:  # Django's deletion: collected, then deleted set-based
                rel.related_model._base_manager.filter(**{f"{rel.field.attname}__in": RawSQL(created, [])}).delete()
            for rel in set_null:
                rel.related_model._base_manager.filter(**{f"{rel.field.attname}__in": RawSQL(created, [])}).update(
                    **{rel.field.attname: None}
                )
            cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({created})")
        if result.restored:
            restorable = {name for name, _ in before_columns(schema)}  # the columns the model still has
            source = (
                f"(SELECT c.record_id, c.{_q('before')} FROM {changes} c JOIN {kept} k ON k.record_id = c.record_id "
                f"WHERE c.run_id = {int(run.pk)} AND k.action = '{UPDATED}')"
            )
            sets = [
                (_q(name), dialect.json_element(f"b.{_q('before')}", index, kind))
                for index, (name, kind) in enumerate(run.before_columns)
                if name in restorable
            ]
            for path in schema.before_restore:
                import_string(path)(
                    cursor=cursor,
                    schema=schema,
                    run_id=run.pk,
                    before_columns=[tuple(column) for column in run.before_columns],
                    restoring=source,
                    as_of=as_of,
                )
            cursor.execute(dialect.update_from(table, "t", source, "b", f"t.{pk} = b.record_id", sets))
        dialect.drop_temporary_table(cursor, kept)
    return result


def _skipped(cursor, run, schema, kept, changed, changed_params, referenced) -> list[dict]:
    """The records the run touched that are not reverted, by identity, each with why."""
    table, pk, changes = _q(schema.table), _q(schema.pk), _q(ImportChange._meta.db_table)
    flags = "".join(
        f", CASE WHEN c.action = '{CREATED}' AND {condition} THEN 1 ELSE 0 END" for condition, _ in referenced
    )
    cursor.execute(
        f"SELECT c.{_q('identity')}, CASE WHEN t.{pk} IS NULL THEN 1 ELSE 0 END, "
        f"CASE WHEN t.{pk} IS NOT NULL AND ({changed}) THEN 1 ELSE 0 END{flags} "
        f"FROM {changes} c LEFT JOIN {table} t ON t.{pk} = c.record_id "
        f"WHERE c.run_id = %s AND c.record_id NOT IN (SELECT record_id FROM {kept}) ORDER BY c.{_q('identity')}",
        [*changed_params, run.pk],
    )
    skipped = []
    for identity, gone, was_changed, *refs in cursor.fetchall():
        if gone:
            reason = DELETED
        elif was_changed:
            reason = CHANGED
        else:
            reason = "; ".join(text for (_, text), flag in zip(referenced, refs, strict=True) if flag)
        skipped.append({schema.identity: identity, "reason": reason})
    return skipped
