"""Relative date literals (TODAY, LAST_N_DAYS:n, THIS_QUARTER, ...) as half-open date ranges.

Salesforce evaluates them in the user's time zone; the fake org's users all live in UTC.
Weeks start on Sunday (the en_US locale) and fiscal periods equal calendar ones (the default
fiscal year starting in January). `now` is always injected so tests are deterministic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

DateRange = tuple[dt.date, dt.date]  # [start, end)


def _add_months(day: dt.date, months: int) -> dt.date:
    """First-of-month arithmetic: `day` must be the first of a month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _week_start(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=(today.weekday() + 1) % 7)


def _month_start(today: dt.date) -> dt.date:
    return today.replace(day=1)


def _quarter_start(today: dt.date) -> dt.date:
    return dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


def _year_start(today: dt.date) -> dt.date:
    return dt.date(today.year, 1, 1)


def _days(first: int, count: int) -> Callable[[dt.date, int], DateRange]:
    """`count` days starting `first` days after today (both scaled by n when negative)."""

    def resolve(today: dt.date, n: int) -> DateRange:
        start = today + dt.timedelta(days=first)
        return start, start + dt.timedelta(days=count)

    return resolve


def _periods(
    start_of: Callable[[dt.date], dt.date], months: int, first: int, count: int
) -> Callable[[dt.date, int], DateRange]:
    """`count` periods (of `months` months) starting `first` periods from the current one."""

    def resolve(today: dt.date, n: int) -> DateRange:
        start = _add_months(start_of(today), first * months)
        return start, _add_months(start, count * months)

    return resolve


def _weeks(first: int, count: int) -> Callable[[dt.date, int], DateRange]:
    def resolve(today: dt.date, n: int) -> DateRange:
        start = _week_start(today) + dt.timedelta(weeks=first)
        return start, start + dt.timedelta(weeks=count)

    return resolve


# Constant literals: resolver(today, n) with n unused.
_FIXED: Final[dict[str, Callable[[dt.date, int], DateRange]]] = {
    "YESTERDAY": _days(-1, 1),
    "TODAY": _days(0, 1),
    "TOMORROW": _days(1, 1),
    "LAST_WEEK": _weeks(-1, 1),
    "THIS_WEEK": _weeks(0, 1),
    "NEXT_WEEK": _weeks(1, 1),
    "LAST_MONTH": _periods(_month_start, 1, -1, 1),
    "THIS_MONTH": _periods(_month_start, 1, 0, 1),
    "NEXT_MONTH": _periods(_month_start, 1, 1, 1),
    "LAST_90_DAYS": _days(-90, 91),  # includes today
    "NEXT_90_DAYS": _days(1, 90),  # starts tomorrow
    "LAST_QUARTER": _periods(_quarter_start, 3, -1, 1),
    "THIS_QUARTER": _periods(_quarter_start, 3, 0, 1),
    "NEXT_QUARTER": _periods(_quarter_start, 3, 1, 1),
    "LAST_YEAR": _periods(_year_start, 12, -1, 1),
    "THIS_YEAR": _periods(_year_start, 12, 0, 1),
    "NEXT_YEAR": _periods(_year_start, 12, 1, 1),
}


def _last_n(
    unit_start: Callable[[dt.date], dt.date], months: int
) -> Callable[[dt.date, int], DateRange]:
    def resolve(today: dt.date, n: int) -> DateRange:
        end = unit_start(today)
        return _add_months(end, -n * months), end

    return resolve


def _next_n(
    unit_start: Callable[[dt.date], dt.date], months: int
) -> Callable[[dt.date, int], DateRange]:
    def resolve(today: dt.date, n: int) -> DateRange:
        start = _add_months(unit_start(today), months)
        return start, _add_months(start, n * months)

    return resolve


def _n_ago(
    unit_start: Callable[[dt.date], dt.date], months: int
) -> Callable[[dt.date, int], DateRange]:
    def resolve(today: dt.date, n: int) -> DateRange:
        start = _add_months(unit_start(today), -n * months)
        return start, _add_months(start, months)

    return resolve


def _last_n_days(today: dt.date, n: int) -> DateRange:
    return today - dt.timedelta(days=n), today + dt.timedelta(days=1)


def _next_n_days(today: dt.date, n: int) -> DateRange:
    return today + dt.timedelta(days=1), today + dt.timedelta(days=1 + n)


def _n_days_ago(today: dt.date, n: int) -> DateRange:
    return today - dt.timedelta(days=n), today - dt.timedelta(days=n - 1)


def _last_n_weeks(today: dt.date, n: int) -> DateRange:
    end = _week_start(today)
    return end - dt.timedelta(weeks=n), end


def _next_n_weeks(today: dt.date, n: int) -> DateRange:
    start = _week_start(today) + dt.timedelta(weeks=1)
    return start, start + dt.timedelta(weeks=n)


def _n_weeks_ago(today: dt.date, n: int) -> DateRange:
    start = _week_start(today) - dt.timedelta(weeks=n)
    return start, start + dt.timedelta(weeks=1)


# Literals taking `:n`.
_WITH_N: Final[dict[str, Callable[[dt.date, int], DateRange]]] = {
    "LAST_N_DAYS": _last_n_days,
    "NEXT_N_DAYS": _next_n_days,
    "N_DAYS_AGO": _n_days_ago,
    "LAST_N_WEEKS": _last_n_weeks,
    "NEXT_N_WEEKS": _next_n_weeks,
    "N_WEEKS_AGO": _n_weeks_ago,
    "LAST_N_MONTHS": _last_n(_month_start, 1),
    "NEXT_N_MONTHS": _next_n(_month_start, 1),
    "N_MONTHS_AGO": _n_ago(_month_start, 1),
    "LAST_N_QUARTERS": _last_n(_quarter_start, 3),
    "NEXT_N_QUARTERS": _next_n(_quarter_start, 3),
    "N_QUARTERS_AGO": _n_ago(_quarter_start, 3),
    "LAST_N_YEARS": _last_n(_year_start, 12),
    "NEXT_N_YEARS": _next_n(_year_start, 12),
    "N_YEARS_AGO": _n_ago(_year_start, 12),
}


def _canonical(name: str) -> str:
    """Fiscal literals behave as calendar ones under the default fiscal year."""
    return name.upper().replace("_FISCAL_", "_").replace("FISCAL_", "")


def is_fixed(name: str) -> bool:
    """True for literals written without `:n` (TODAY, THIS_FISCAL_YEAR, ...)."""
    return _canonical(name) in _FIXED


def takes_n(name: str) -> bool:
    """True for literals written with `:n` (LAST_N_DAYS:n, N_FISCAL_YEARS_AGO:n, ...)."""
    return _canonical(name) in _WITH_N


def resolve(name: str, n: int | None, now: dt.datetime) -> DateRange:
    """The half-open UTC date range for a literal at instant `now` (naive means UTC).

    An `n` reaching past the calendar (LAST_N_DAYS:99999999) is clamped to the first or last
    representable day: the range then holds every date on that side, as it would in an org.
    """
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC)
    today = now.date()
    key = _canonical(name)
    if key in _FIXED:
        return _FIXED[key](today, 0)
    count = 0 if n is None else n
    try:
        return _WITH_N[key](today, count)
    except (OverflowError, ValueError):
        return _clamped(_WITH_N[key], today, count)


def _clamped(resolver: Callable[[dt.date, int], DateRange], today: dt.date, n: int) -> DateRange:
    """The range for an `n` that overflows the calendar. A range that grows with `n`
    (LAST_N_DAYS) keeps its fixed end and opens to the calendar's edge; a window that moves
    with `n` (N_DAYS_AGO) has left the calendar and matches nothing."""
    low, high = 0, n  # resolves at low, fails at high: bisect for the last n that resolves
    while high - low > 1:
        mid = (low + high) // 2
        try:
            resolver(today, mid)
            low = mid
        except (OverflowError, ValueError):
            high = mid
    start, end = resolver(today, low)
    fixed_start, fixed_end = resolver(today, 0)
    if start != fixed_start and end != fixed_end:  # a moving window: empty at the edge
        edge = dt.date.min if start < fixed_start else dt.date.max
        return edge, edge
    if start != fixed_start:
        return dt.date.min, end
    return start, dt.date.max
