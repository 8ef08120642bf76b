"""RowError: one record's failure in a Bulk result, as Salesforce spells it in `sf__Error`.

Bulk 2.0 result CSVs and Bulk 1.0 CSV results carry the same text, `CODE:message:Fields --`;
both APIs read it here. Per-record failures are values, never exceptions (STYLE 8).
What must stay true: `format_sf_error(parse_sf_error(t))` gives Salesforce's text back, and
a cell that does not follow the pattern keeps its whole text as the message.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

__all__ = ["RowError", "format_sf_error", "parse_sf_error"]


@attrs.frozen(slots=True)
class RowError:
    """An `sf__Error` cell: `CODE:message:Field1,Field2 --` (fields may be empty)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return format_sf_error(self.code, self.message, self.fields)


def format_sf_error(code: str, message: str, fields: Sequence[str] = ()) -> str:
    """Salesforce's `sf__Error` text, e.g. `REQUIRED_FIELD_MISSING:Required fields are
    missing: [LastName]:LastName --`."""
    return f"{code}:{message}:{','.join(fields)} --" if fields else f"{code}:{message}:--"


def parse_sf_error(text: str) -> RowError:
    code, sep, rest = text.strip().partition(":")
    if not sep:
        return RowError(code="", message=text.strip())
    rest = rest.rstrip()
    if rest.endswith("--"):
        message, colon, names = rest[:-2].rstrip().rpartition(":")
        if colon and " " not in names.strip():
            fields = tuple(n for n in names.strip().split(",") if n)
            return RowError(code=code, message=message, fields=fields)
    return RowError(code=code, message=rest)
