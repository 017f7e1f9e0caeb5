"""The pipeline: a file's cleaned chunks, cleaned ahead of the caller who writes them meanwhile (in a thread,
or for big files in a separate process, so that cleaning and writing run on two cores)."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from imports.reading import DEFAULT_CHUNK_ROWS, RefusedFile, SourceFile, iter_raw_chunks, open_source
from imports.rows import CleanChunk, clean_chunk
from imports.schema import Schema
from imports.values import Context


def _clean_chunks(source: SourceFile, schema: Schema, context: Context, chunk_rows: int):
    for raw in iter_raw_chunks(source, chunk_rows):
        yield clean_chunk(raw, source, schema, context)


def _cleaned_by_a_process(arguments) -> Iterator[CleanChunk]:
    """Clean in a separate Python process (it imports pandas, not Django) while
    the caller writes to the database: on a big file the two halves of the work then run on two cores instead
    of sharing one GIL. The chunks come back pickled through a pipe; an error is raised here."""
    import pickle
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parent.parent)
    # Ctrl-C reaches the whole process group: the child ignores it from its first line (the parent stops it).
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        f"import sys; sys.path.insert(0, {root!r}); from imports.pipeline import _serve_cleaning; _serve_cleaning()"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        pickle.dump(arguments, child.stdin)
        child.stdin.close()
        while True:
            try:
                item = pickle.load(child.stdout)
            except EOFError:
                raise RefusedFile(f"{arguments[0].path}: the cleaning process stopped unexpectedly.") from None
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def _serve_cleaning() -> None:
    """The child side of _cleaned_by_a_process: arguments in on stdin, pickled chunks out on stdout."""
    import pickle
    import sys

    out = sys.stdout.buffer
    try:
        try:
            for chunk in _clean_chunks(*pickle.load(sys.stdin.buffer)):
                pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(None, out)
        except (BrokenPipeError, EOFError):
            raise
        except Exception as exc:
            pickle.dump(exc, out)
        out.flush()
    except (BrokenPipeError, EOFError):  # the parent is gone (killed, or stopped reading): nobody to tell
        os._exit(1)  # at once: a normal exit would flush stdout into the broken pipe and print about it


def _prefetched(chunks, depth: int = 2):
    """Clean the next chunks in a thread while this one is written: pandas, pyarrow and the database
    drivers release the GIL for their heavy work, so reading and writing overlap."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work():
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                items.put(chunk)
            items.put(done)
        except BaseException as exc:  # handed over to the caller's thread
            items.put(exc)

    thread = threading.Thread(target=work, name="import-cleaning", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        # Take what the thread still puts until it has seen `stop`. No timed wait: a wait with a timeout computes
        # its deadline on the clock, which a moved machine clock (faketime) can put out of reach; a sleep cannot.
        while thread.is_alive():
            try:
                items.get_nowait()
            except queue.Empty:
                time.sleep(0.01)


# Files at least this big are cleaned in a separate process; smaller ones in a thread of the caller.
PROCESS_CLEANING_BYTES = 32 * 1024 * 1024


def read_clean(
    path: str | Path,
    schema: Schema,
    *,
    now: datetime,
    dayfirst: bool = False,
    time_zone: str = "UTC",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    in_process: bool | None = None,
) -> tuple[SourceFile, Iterator[CleanChunk]]:
    """Open a file (refusing it if unreadable) and return its cleaned chunks, lazily.

    The chunks are cleaned ahead of the caller, who writes them meanwhile: in a thread, or for big files (or
    `in_process=True`) in a separate process.
    """
    source = open_source(path, schema)
    arguments = (source, schema, Context(now=now, dayfirst=dayfirst, time_zone=time_zone), chunk_rows)
    if in_process is None:
        in_process = source.path.stat().st_size >= PROCESS_CLEANING_BYTES
    return source, (_cleaned_by_a_process(arguments) if in_process else _prefetched(_clean_chunks(*arguments)))
