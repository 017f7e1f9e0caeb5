"""The admin's upload size limit (IMPORT_MAX_UPLOAD_MB), enforced while the upload streams in.

`LimitedUploadHandler` goes first in the request's upload handlers: once a file's received bytes pass the limit
it stops the upload (StopUpload without a connection reset: Django reads and drops the rest of the request
body, and the browser gets the answer). The file never reaches the handlers after it (no temporary file is
kept), the form sees no file, and the view reads `too_large(request)` to refuse it with the usual message.
"""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

REQUEST_ATTRIBUTE = "import_upload_too_large"  # the request's Content-Length, set when an upload was stopped


class LimitedUploadHandler(FileUploadHandler):
    def __init__(self, request, *, limit_bytes: int):
        super().__init__(request)
        self.limit_bytes = limit_bytes
        self.received = 0
        self.body_length = 0  # the request's Content-Length (FileUploadHandler's content_length is a file's)

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.body_length = content_length

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit_bytes:
            # The whole body's size: the best guess at the file's, which was not read to its end.
            setattr(self.request, REQUEST_ATTRIBUTE, max(self.body_length or 0, self.received))
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers build the file


def limit_uploads(request, *, limit_bytes: int) -> None:
    """Put the limit in front of the request's upload handlers; before anything reads request.POST or FILES."""
    # Assigned, not inserted: Django refuses it (AttributeError) once the body has been read, rather than
    # leaving the limit silently out.
    request.upload_handlers = [LimitedUploadHandler(request, limit_bytes=limit_bytes), *request.upload_handlers]


def too_large(request) -> int | None:
    """The size (bytes, about) of an upload stopped for passing the limit, or None."""
    return getattr(request, REQUEST_ATTRIBUTE, None)
