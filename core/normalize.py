"""Normalization of identifying values, shared by models, look-ups and imports."""

import unicodedata

# Letters that Unicode does not decompose into a base letter plus an accent,
# folded the way people type them on a plain keyboard (after case-folding).
_FOLD_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"})


def normalize_email(value: str | None) -> str | None:
    """Emails identify leads and agents: compare them trimmed and lower-cased."""
    if value is None:
        return None
    return value.strip().lower()


def name_key(name: str | None) -> str:
    """The look-up form of a person's name: accents stripped, case-folded, spaces collapsed.

    "  José   MÜLLER " -> "jose muller", "Søren Łukasz" -> "soren lukasz". Used for the indexed Lead.name_key column
    and for the search term, so both sides are normalized the same way.
    """
    if not name:
        return ""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().translate(_FOLD_LETTERS).split())


def phone_key(phone: str | None) -> str:
    """The look-up form of a phone number: its digits, last first, so that an indexed prefix match on the key
    finds a number by its end ("020 7946 0018" and "7946 0018" both find "+44 20 7946 0018")."""
    return "".join(ch for ch in (phone or "") if "0" <= ch <= "9")[::-1]
