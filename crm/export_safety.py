"""Spreadsheet formula neutralization for exports (CSV and XLSX).

A cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage return) gets a
leading apostrophe. A value that is plainly a number or a phone number (`-12.5`, `+44 20 7946 0018`) is data,
not a formula, and stays intact.
"""

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_PHONE = re.compile(r"\+?[\d ().-]+")


def is_plain_number_or_phone(value: str) -> bool:
    if _NUMBER.fullmatch(value):
        return True
    # A phone number: digits with spaces, dots, dashes and brackets, at least 7 digits, + only in front.
    return bool(_PHONE.fullmatch(value)) and value[:1] in "+(0123456789" and sum(c.isdigit() for c in value) >= 7


def neutralize_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not is_plain_number_or_phone(value):
        return "'" + value
    return value


class FormulaSafeExportMixin:
    """For import-export resources: every exported cell goes through neutralize_formula."""

    def export_field(self, field, instance, **kwargs):
        return neutralize_formula(super().export_field(field, instance, **kwargs))
