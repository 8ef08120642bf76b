"""SOQL date literals (`TODAY`, `LAST_N_DAYS(30)`): relative ranges Salesforce resolves in the
user's time zone when the query runs, so they are never bound as values."""

from __future__ import annotations

__all__ = ["DateLiteral"]


class DateLiteral:
    """One date literal; compare a date or datetime column with it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"DateLiteral({self.text!r})"


def _fixed(name: str) -> DateLiteral:
    return DateLiteral(name)


YESTERDAY = _fixed("YESTERDAY")
TODAY = _fixed("TODAY")
TOMORROW = _fixed("TOMORROW")
LAST_WEEK = _fixed("LAST_WEEK")
THIS_WEEK = _fixed("THIS_WEEK")
NEXT_WEEK = _fixed("NEXT_WEEK")
LAST_MONTH = _fixed("LAST_MONTH")
THIS_MONTH = _fixed("THIS_MONTH")
NEXT_MONTH = _fixed("NEXT_MONTH")
LAST_90_DAYS = _fixed("LAST_90_DAYS")
NEXT_90_DAYS = _fixed("NEXT_90_DAYS")
THIS_QUARTER = _fixed("THIS_QUARTER")
LAST_QUARTER = _fixed("LAST_QUARTER")
NEXT_QUARTER = _fixed("NEXT_QUARTER")
THIS_YEAR = _fixed("THIS_YEAR")
LAST_YEAR = _fixed("LAST_YEAR")
NEXT_YEAR = _fixed("NEXT_YEAR")
THIS_FISCAL_QUARTER = _fixed("THIS_FISCAL_QUARTER")
LAST_FISCAL_QUARTER = _fixed("LAST_FISCAL_QUARTER")
NEXT_FISCAL_QUARTER = _fixed("NEXT_FISCAL_QUARTER")
THIS_FISCAL_YEAR = _fixed("THIS_FISCAL_YEAR")
LAST_FISCAL_YEAR = _fixed("LAST_FISCAL_YEAR")
NEXT_FISCAL_YEAR = _fixed("NEXT_FISCAL_YEAR")


def _n(name: str, n: int) -> DateLiteral:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{name} takes a whole number of at least 0, not {n!r}")
    return DateLiteral(f"{name}:{n}")


def LAST_N_DAYS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("LAST_N_DAYS", n)


def NEXT_N_DAYS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("NEXT_N_DAYS", n)


def N_DAYS_AGO(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("N_DAYS_AGO", n)


def LAST_N_WEEKS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("LAST_N_WEEKS", n)


def NEXT_N_WEEKS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("NEXT_N_WEEKS", n)


def N_WEEKS_AGO(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("N_WEEKS_AGO", n)


def LAST_N_MONTHS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("LAST_N_MONTHS", n)


def NEXT_N_MONTHS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("NEXT_N_MONTHS", n)


def N_MONTHS_AGO(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("N_MONTHS_AGO", n)


def LAST_N_QUARTERS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("LAST_N_QUARTERS", n)


def NEXT_N_QUARTERS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("NEXT_N_QUARTERS", n)


def N_QUARTERS_AGO(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("N_QUARTERS_AGO", n)


def LAST_N_YEARS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("LAST_N_YEARS", n)


def NEXT_N_YEARS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("NEXT_N_YEARS", n)


def N_YEARS_AGO(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("N_YEARS_AGO", n)


def LAST_N_FISCAL_QUARTERS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("LAST_N_FISCAL_QUARTERS", n)


def NEXT_N_FISCAL_QUARTERS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("NEXT_N_FISCAL_QUARTERS", n)


def N_FISCAL_QUARTERS_AGO(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("N_FISCAL_QUARTERS_AGO", n)


def LAST_N_FISCAL_YEARS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("LAST_N_FISCAL_YEARS", n)


def NEXT_N_FISCAL_YEARS(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("NEXT_N_FISCAL_YEARS", n)


def N_FISCAL_YEARS_AGO(n: int) -> DateLiteral:  # noqa: N802 - spelled as in SOQL
    return _n("N_FISCAL_YEARS_AGO", n)
