"""Spreadsheet formula neutralization for exports (CSV and XLSX) and rejects files.

A cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage return) gets a
leading apostrophe (remove it to get the value back). A value that is plainly a number or a phone number
(`-12.5`, `+44 20 7946 0018`) is data, not a formula, and stays intact.
"""

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?")
# An international phone number: + and a country code of 1-3 digits, then groups each after one separator: a space
# and up to 8 digits, a dot or dash and up to 4 digits, or an area code in brackets. `+1234567-1234567` (a
# subtraction, not a phone shape) does not match.
_PHONE = re.compile(r"\+\d{1,3}(?: \d{1,8}|[.-]\d{1,4}| ?\(\d{1,4}\) ?\d{1,8})+")


def is_plain_number_or_phone(value: str) -> bool:
    if _NUMBER.fullmatch(value):
        return True
    return bool(_PHONE.fullmatch(value)) and 7 <= sum(c.isdigit() for c in value) <= 15


def neutralize_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not is_plain_number_or_phone(value):
        return "'" + value
    return value


class FormulaSafeExportMixin:
    """For import-export resources: every exported cell goes through neutralize_formula."""

    def export_field(self, field, instance, **kwargs):
        return neutralize_formula(super().export_field(field, instance, **kwargs))
