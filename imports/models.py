"""The import history: every import, by the admin or a command, dry runs included, is an ImportRun.

A run is written by the import service only (read-only in the admin). Its status moves queued -> running ->
previewed (a dry run) | done | failed | cancelled, and a done run may later become reverted. While it runs,
`rows_done` and `bytes_done` say how far it got, for the progress bar of the admin and the command.

An import writes in one transaction (on SQLite holding the database's one write lock), so while it runs its
progress, heartbeat and a request to cancel it travel through the cache (imports.progress), not this row; the
row gets the outcome when the transaction has ended.
"""

import json

from django.conf import settings
from django.db import models

from core.clock import now


class ImportRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        PREVIEWED = "previewed"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"
        REVERTED = "reverted"

    kind = models.CharField(max_length=20, help_text="What the file holds: the import schema's kind (lead, agent).")
    source = models.CharField(max_length=100, help_text="Who started it: admin, or the command's name.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    file_name = models.CharField(max_length=500)
    file_size = models.BigIntegerField(default=0, help_text="bytes")
    dry_run = models.BooleanField(default=False)
    options = models.JSONField(default=dict, blank=True, help_text="How the file was read (dayfirst, batch size).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="The background job running it, if any.")
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the process running it.")
    rows_done = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    rows = models.BigIntegerField(default=0)
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    unchanged = models.BigIntegerField(default=0)
    merged_duplicates = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    rejects_file = models.CharField(max_length=1000, blank=True)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=now)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="Also the import's clock: the timestamps it wrote on the records."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # The revert (imports.reverting), if any.
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revert_source = models.CharField(max_length=100, blank=True, help_text="admin, or the command's name.")
    before_columns = models.JSONField(
        default=list, blank=True, help_text="[column, kind] of each value in its changes' before-images, in order."
    )
    revert_report = models.JSONField(
        default=dict, blank=True, help_text="deleted, restored, skipped, and the first skipped records with why."
    )

    class Meta:
        ordering = ["-queued_at", "-pk"]
        indexes = [models.Index(fields=["kind", "status"], name="importrun_kind_status_idx")]
        permissions = [("revert_importrun", "Can revert an import")]

    def __str__(self):
        return f"Import #{self.pk} of {self.file_name} ({self.get_status_display()})"


class ImportChange(models.Model):
    """One record a run created or updated, with the stored values it overwrote: what a revert undoes.

    Written by the import in one INSERT ... SELECT from its staging table (imports.history), never row by row.
    `before` holds, for an updated record, every column the import's UPDATE writes (the schema's fields and keys
    but the identity, and its update timestamps) as they were: a JSON array in the order of the run's
    `before_columns` (an array, not an object, and text, not a JSON column whose check parses it again: about half
    the cost); NULL for a created record.
    """

    class Action(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="changes")
    record_id = models.BigIntegerField()
    identity = models.CharField(max_length=254)
    action = models.CharField(max_length=10, choices=Action.choices)
    before = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: no before-image, a created record)

    class Meta:
        # A record's page lists the runs that touched it: by record, then run.
        indexes = [models.Index(fields=["record_id", "run"], name="importchange_record_idx")]

    def __str__(self):
        return f"{self.action} {self.identity} (import #{self.run_id})"

    def before_values(self) -> dict | None:
        """The stored values the run overwrote, by column (reads the run)."""
        if self.before is None:
            return None
        return {name: value for (name, _), value in zip(self.run.before_columns, json.loads(self.before), strict=True)}
