"""Django's SQLite backend, with its writers served in the order they asked (core.backends.sqlite3.writers).

Every transaction of this project begins IMMEDIATE (crm/env.py), so every atomic block is a writer: it takes a
ticket of the database's writer queue before BEGIN IMMEDIATE and gives it back when it commits or rolls back. The
wait in the queue and the wait for SQLite's lock share the busy timeout (OPTIONS["timeout"]): a writer that cannot
have the lock in time fails with "database is locked", as it would without the queue. In-memory databases (the
test database) and deferred transactions do not queue.
"""

from django.db import OperationalError
from django.db.backends.sqlite3 import base

from core.backends.sqlite3.writers import SUPPORTED, QueueTimeout, WriterQueue


class DatabaseWrapper(base.DatabaseWrapper):
    _writers: WriterQueue | None = None
    _unqueued = False  # no queue for this connection: in memory, deferred, or its file cannot be opened

    def _start_transaction_under_autocommit(self):
        queue = self._writer_queue()
        if queue is None:
            return super()._start_transaction_under_autocommit()
        timeout = float(self.settings_dict["OPTIONS"].get("timeout", 5))
        try:
            waited = queue.acquire(timeout)
        except QueueTimeout:
            message = "database is locked (earlier writers held it longer than the busy timeout)"
            raise OperationalError(message) from None
        try:
            if waited >= 0.001:  # SQLite's own wait gets what is left of the busy timeout
                self.connection.execute(f"PRAGMA busy_timeout = {max(1, int((timeout - waited) * 1000))}")
            super()._start_transaction_under_autocommit()
        except BaseException:
            queue.release()
            raise
        finally:
            if waited >= 0.001:
                self.connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer()

    def _close(self):
        try:
            return super()._close()
        finally:
            if self._writers is not None:
                self._writers.close()

    def _release_writer(self):
        if self._writers is not None:
            self._writers.release()

    def _writer_queue(self) -> WriterQueue | None:
        if self._writers is None and not self._unqueued:
            if not SUPPORTED or self.transaction_mode not in ("IMMEDIATE", "EXCLUSIVE") or self.is_in_memory_db():
                self._unqueued = True
                return None
            queue = WriterQueue(f"{self.settings_dict['NAME']}-writers")
            try:
                queue.open()
            except OSError:  # a read-only folder, say: SQLite's own wait still works
                self._unqueued = True
                return None
            self._writers = queue
        return self._writers
