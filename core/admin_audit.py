"""Audit records in the admin: seen, never written.

Runs, assignments, verifications and any later audit model are written by their services only; a record
edited or added by hand (a forged "OK") would make the trail worthless, so nobody - superusers included -
may add, change or delete them in the admin. Viewing follows the model's view permission.
"""


class ReadOnlyAdminMixin:
    """Put first in a ModelAdmin's bases: view only, for everyone."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
