"""Django's file-based cache, creating its folder on the first write instead of at start-up.

Django builds every cache when it runs its system checks, so with the stock backend any command run by a user
who cannot write the folder's parent (or on a read-only deployment) would stop before doing anything.
"""

import os

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.filebased import FileBasedCache


class FileCache(FileBasedCache):
    def __init__(self, dir, params):
        BaseCache.__init__(self, params)
        self._dir = os.path.abspath(dir)
