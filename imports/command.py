"""What the import_leads and import_agents commands share: flags, summary, JSON, exit codes.

Each import is a run of the import history (imports.runs): created, then executed; `--json` names it ("run")."""

import codecs
import json
import os
import sys
from pathlib import Path

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.db_lock import OneLineFailures
from imports.files import RefusedFile, check_readable
from imports.reading import DEFAULT_CHUNK_ROWS
from imports.runs import create_run, execute, record_rejects_file

SHOWN_REJECTS = 10


class ImportCommand(OneLineFailures, BaseCommand):
    noun = "rows"  # "leads" / "agents"
    # The models' checks only: the URL checks import the whole URLconf (the intake API, the admin's pages), about
    # 0.4 s of an import's start-up, for nothing an import uses. `manage.py check` still runs every check.
    requires_system_checks = [Tags.models]
    schema = None  # the app's imports.schema.Schema: set by subclasses

    @property
    def command_name(self) -> str:
        return self.__module__.rpartition(".")[2]

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV/TSV file (UTF-8, UTF-16 with BOM or cp1252; , ; tab or | separated)")
        parser.add_argument("--dry-run", action="store_true", help="do everything, then roll back: nothing is written")
        parser.add_argument(
            "--rejects",
            metavar="OUT.csv",
            help="write rejected rows (original columns, line, reason); checked before importing: a "
            "folder, the input file or a path that cannot be written exits 2, nothing imported",
        )
        parser.add_argument("--dayfirst", action="store_true", help="read 03/11/2026 as 3 November (DD/MM/YYYY)")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_CHUNK_ROWS,
            metavar="N",
            help=f"rows read and staged per batch (default {DEFAULT_CHUNK_ROWS})",
        )
        parser.add_argument("--json", action="store_true", help="print exactly one JSON object with the counts")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError(f"--batch-size must be 1 or more, not {options['batch_size']}.", returncode=2)
        rejects = _rejects_target(options["rejects"], options["path"]) if options["rejects"] else None
        try:
            check_readable(options["path"])  # no file, no import to record
        except RefusedFile as exc:
            raise CommandError(str(exc), returncode=2) from None
        progress = _Progress(self.stderr, options["path"]) if _is_terminal(self.stderr) else None
        run = create_run(
            schema=self.schema,
            source=self.command_name,
            path=options["path"],
            dry_run=options["dry_run"],
            options={"dayfirst": options["dayfirst"], "batch_size": options["batch_size"]},
        )
        try:
            result = execute(
                run, schema=self.schema, path=options["path"], progress=progress.update if progress else None
            )
        except RefusedFile as exc:
            raise CommandError(str(exc), returncode=2) from None
        finally:
            if progress:
                progress.finish()
        if rejects:
            _write_rejects(result, rejects)
            record_rejects_file(run, result.rejects_file)
        if options["json"]:
            self.stdout.write(json.dumps({**result.to_dict(), "run": run.pk}))
            return
        self.stdout.write(
            f"{options['path']}: {result.rows} rows: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.merged_duplicates} merged duplicates, {result.rejected} rejected."
        )
        if result.ignored_columns:
            self.stdout.write("Ignored columns: " + ", ".join(result.ignored_columns))
        if result.rejected:
            self.stdout.write("First rejected rows:")
            for line, reason in result.rejects["reason"].head(SHOWN_REJECTS).items():
                self.stdout.write(f"  line {line}: {reason}")
            if result.rejects_file:
                self.stdout.write(f"All {result.rejected} rejected rows: {result.rejects_file}")
            elif result.rejected > SHOWN_REJECTS:
                self.stdout.write("Use --rejects OUT.csv to get all of them.")
        if result.dry_run:
            self.stdout.write(f"Dry run: nothing was written (import #{run.pk}).")
        else:
            self.stdout.write(f"Import #{run.pk}; manage.py revert_import {run.pk} undoes it.")


def _rejects_target(value: str, source: str) -> Path:
    """Check --rejects before importing, so that writing it after the commit does not fail (exit 2 if it would)."""
    target = Path(value)

    def refuse(why: str):
        raise CommandError(f"--rejects {value}: {why}; nothing was imported.", returncode=2)

    if target.is_dir():
        refuse("is a folder, not a file")
    try:
        if os.path.samefile(target, source):
            refuse("is the file being imported; name another file")
    except OSError:
        pass  # one of them does not exist: not the same file
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        refuse(f"cannot create its folder ({exc.strerror})")
    existed = target.exists()
    try:
        with open(target, "ab") as handle:  # appending nothing leaves an existing file as it is
            if not target.is_file():  # a device such as /dev/full: only a write tells
                handle.write(codecs.BOM_UTF8)
                handle.flush()
    except OSError as exc:
        refuse(f"cannot be written ({exc.strerror})")
    finally:
        if not existed and target.is_file():
            target.unlink()
    return target


def _write_rejects(result, target: Path) -> None:
    try:
        result.write_rejects(target)
    except OSError as exc:
        done = "nothing was written (dry run)" if result.dry_run else "the import itself is committed"
        raise CommandError(f"--rejects {target}: cannot be written ({exc.strerror}); {done}.", returncode=1) from None


def _is_terminal(stream) -> bool:
    target = getattr(stream, "_out", stream)
    return bool(getattr(target, "isatty", lambda: False)())


class _Progress:
    """Rows read so far as a tqdm bar on the command's stderr (made only when stderr is a terminal)."""

    def __init__(self, stream, path):
        self.bar = tqdm(
            total=_count_lines(path) or None, unit="rows", file=getattr(stream, "_out", sys.stderr), dynamic_ncols=True
        )

    def update(self, rows: int) -> None:
        self.bar.update(rows - self.bar.n)

    def finish(self) -> None:
        self.bar.close()


def _count_lines(path) -> int:
    if not os.path.isfile(path):  # a FIFO or a device would block or never end: the import refuses those anyway
        return 0
    try:
        with open(path, "rb") as handle:
            return max(sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)
    except OSError:
        return 0
