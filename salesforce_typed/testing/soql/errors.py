"""The engine's one exception, carrying Salesforce's errorCode and its caret-style message.

Salesforce reports query errors as HTTP 400 `[{"message", "errorCode"}]`; the message repeats
the offending line, a caret under the column and `ERROR at Row:r:Column:c`. The HTTP layer
serialises `SoqlError.as_error_body()` verbatim, so the texts here are what clients see.
"""

from __future__ import annotations

from typing import Final

MALFORMED_QUERY: Final = "MALFORMED_QUERY"
MALFORMED_SEARCH: Final = "MALFORMED_SEARCH"
INVALID_FIELD: Final = "INVALID_FIELD"
INVALID_TYPE: Final = "INVALID_TYPE"
INVALID_QUERY_FILTER_OPERATOR: Final = "INVALID_QUERY_FILTER_OPERATOR"
NUMBER_OUTSIDE_VALID_RANGE: Final = "NUMBER_OUTSIDE_VALID_RANGE"

_SEE_WSDL: Final = "Please reference your WSDL or the describe call for the appropriate names."


def no_such_column(field: str, entity: str) -> str:
    """INVALID_FIELD text for an unknown field (Salesforce's wording, `__c` hint included)."""
    return (
        f"No such column '{field}' on entity '{entity}'. If you are attempting to use a custom "
        f"field, be sure to append the '__c' after the custom field name. {_SEE_WSDL}"
    )


# How each clause names its use of a field, as Salesforce words the refusal ("in query call"
# without the article for filtering, with it for the others).
_FLAG_USES: Final = {
    "filtered": "filtered in query call",
    "sorted": "sorted in a query call",
    "grouped": "grouped in a query call",
}


def flag_refusal(field: str, use: str) -> str:
    """INVALID_FIELD text for a field its describe does not let `use` (filtered/sorted/grouped):
    the filterable, sortable and groupable flags."""
    return f"field '{field}' can not be {_FLAG_USES[use]}"


def unknown_relationship(name: str) -> str:
    """INVALID_FIELD text for an unknown parent relationship in a field path."""
    return (
        f"Didn't understand relationship '{name}' in field path. If you are attempting to use a "
        "custom relationship, be sure to append the '__r' after the custom relationship name. "
        f"{_SEE_WSDL}"
    )


def unknown_child_relationship(name: str) -> str:
    """INVALID_TYPE text for an unknown child relationship in a subquery's FROM."""
    return (
        f"Didn't understand relationship '{name}' in FROM part of query call. If you are "
        "attempting to use a custom relationship, be sure to append the '__r' after the custom "
        f"relationship name. {_SEE_WSDL}"
    )


def unsupported_sobject(name: str) -> str:
    """INVALID_TYPE text for an unknown sObject."""
    return (
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object, "
        f"be sure to append the '__c' after the entity name. {_SEE_WSDL}"
    )


class SoqlError(Exception):
    """A query or search Salesforce would reject with HTTP 400.

    `error_code` is the errorCode clients key on; `message` the full text (caret block
    included when a position is known); `detail` the last line alone, handy in tests.
    """

    def __init__(
        self,
        error_code: str,
        message: str,
        *,
        detail: str | None = None,
        row: int | None = None,
        column: int | None = None,
    ) -> None:
        self.error_code = error_code
        self.message = message
        self.detail = message if detail is None else detail
        self.row = row
        self.column = column
        super().__init__(f"{error_code}: {message}")

    @classmethod
    def at(cls, error_code: str, detail: str, source: str, line: int, column: int) -> SoqlError:
        """Build the caret message for 1-based `line`/`column` within `source`."""
        lines = source.split("\n")
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        caret = " " * (column - 1) + "^"
        message = f"\n{text}\n{caret}\nERROR at Row:{line}:Column:{column}\n{detail}"
        return cls(error_code, message, detail=detail, row=line, column=column)

    def as_error_body(self) -> list[dict[str, str]]:
        """The REST error array for this failure: query errors carry no `fields` key."""
        return [{"message": self.message, "errorCode": self.error_code}]
