"""Salesforce record ids: 15-char (case-sensitive) and 18-char (checksummed) forms.

Storage keeps the 18-char form, so a SOQL literal in either form is normalised here before it
is compared; an index on the column then still applies.
"""

from __future__ import annotations

import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def id18(id15: str) -> str:
    """The 18-char id for a 15-char one: a bit per upper-case char, per 5-char chunk."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return id15 + suffix


def normalize_id(value: str) -> str | None:
    """The canonical 18-char id for `value`, or None when it is not an id at all.

    The last three chars of an 18-char id only encode case, so they are recomputed: that
    makes the 18-char form case-insensitive, as Salesforce documents.
    """
    if not _ID_RE.fullmatch(value):
        return None
    return id18(value[:15])
