"""Bulk API 2.0 rows, pure: ingest result rows matched back to their input, counts that
reconcile, and query rows decoded into typed models.

Matching results to inputs. Salesforce's result CSVs carry `sf__Id` plus `sf__Created` or
`sf__Error`, then the input row's own cells, but not its position, and "result order is not
input order" (it is kept within an internal batch of 10,000 rows). Salesforce rejects columns
the object lacks, so a row-number column cannot ride along. `InputMatcher` therefore matches
by content and order: it reads the uploaded rows again, in order, alongside a result set, and
pairs each result row with the earliest input row holding the same cells. Identical input rows
are told apart by order within one result set; across sets they are interchangeable (two equal
rows, one saved and one refused, may swap indexes: their cells are the same anyway). Inputs
skipped on the way (rows of another result set, or rows whose results come later) wait in a
bounded window; a result further out of order than the window gets `input_index=None`, and
its cells still say which row it was. Memory is the window, never the whole input.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, Generic, TypeVar

import attrs

from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.core.models import Record, SObject, resolve_sobject
from salesforce_typed.jobs.row_errors import RowError

__all__ = [
    "FailedRow",
    "IngestCounts",
    "InputMatcher",
    "RowDecoder",
    "SuccessRow",
    "UnprocessedRow",
    "split_result_header",
]

T = TypeVar("T", bound=SObject)
DEFAULT_MATCH_WINDOW: Final = 50_000


@attrs.frozen(kw_only=True, slots=True)
class SuccessRow:
    """A row Salesforce saved: its record id, whether it was created, the cells it sent."""

    job_id: str
    id: str
    created: bool
    values: dict[str, str]
    input_index: int | None = None


@attrs.frozen(kw_only=True, slots=True)
class FailedRow:
    """A row Salesforce refused, with its error; `id` is set when the record exists (update,
    delete: from API v53)."""

    job_id: str
    id: str | None
    error: RowError
    values: dict[str, str]
    input_index: int | None = None


@attrs.frozen(kw_only=True, slots=True)
class UnprocessedRow:
    """A row Salesforce never got to: the job failed or was aborted first."""

    job_id: str
    values: dict[str, str]
    input_index: int | None = None


def split_result_header(header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """(`sf__` column -> position, the input columns in order) of a result CSV header."""
    marks = {name: i for i, name in enumerate(header) if name.startswith("sf__")}
    return marks, [name for name in header if not name.startswith("sf__")]


@attrs.frozen(kw_only=True, slots=True)
class IngestCounts:
    """Where every uploaded row ended up, summed over an ingest's jobs.

    `processed` is Salesforce's numberRecordsProcessed (saved or refused); `unprocessed`
    rows were never reached (a Failed or Aborted job). `uploaded` is what we sent (None
    after a resume without the input). They reconcile: uploaded = successful + failed +
    unprocessed, with successful = processed - failed.
    """

    processed: int
    failed: int
    unprocessed: int
    uploaded: int | None = None

    @property
    def successful(self) -> int:
        return self.processed - self.failed

    @property
    def total(self) -> int:
        return self.successful + self.failed + self.unprocessed

    @property
    def reconciles(self) -> bool:
        return self.uploaded is None or self.uploaded == self.total


class InputMatcher:
    """Pairs result rows with the input rows they came from (see the module docstring).

    `inputs` are the uploaded rows in order, without the header; `start` is the index of
    the first one within the whole ingest (jobs after the first start further on).
    """

    def __init__(
        self,
        inputs: Iterable[Sequence[str]],
        *,
        start: int = 0,
        window: int = DEFAULT_MATCH_WINDOW,
    ) -> None:
        self._inputs = iter(inputs)
        self._next = start
        self._window = window
        self._waiting: OrderedDict[int, list[int]] = OrderedDict()
        self._count = 0

    def match(self, cells: Sequence[str]) -> int | None:
        key = hash(tuple(cells))
        waiting = self._waiting.get(key)
        if waiting is not None:
            index = waiting.pop(0)
            if not waiting:
                del self._waiting[key]
            self._count -= 1
            return index
        for row in self._inputs:
            index = self._next
            self._next += 1
            row_key = hash(tuple(row))
            if row_key == key:
                return index
            found = self._waiting.get(row_key)
            if found is None:
                self._waiting[row_key] = [index]
            else:
                found.append(index)
            self._count += 1
            while self._count > self._window:
                _, dropped = self._waiting.popitem(last=False)
                self._count -= len(dropped)
        return None


# -- query rows into models ------------------------------------------------------------------

_Convert = Callable[[str], Any]


def _to_bool(text: str) -> bool:
    return text.lower() == "true"


def _to_int(text: str) -> int:
    return int(float(text)) if "." in text or "e" in text.lower() else int(text)


_CONVERTERS: Final[dict[str, _Convert]] = {
    "boolean": _to_bool,
    "int": _to_int,
    "long": _to_int,
    "double": float,
    "currency": float,
    "percent": float,
}


def _converter(model: type[SObject] | None, path: Sequence[str]) -> _Convert | None:
    """How to read the cell at `path` (`Account.Owner.Name` split), from the models' field
    types; text (and unknown fields) stays a string for `from_dict` to decode."""
    info = field_at(model, path)
    return None if info is None else _CONVERTERS.get(info.type)


def field_at(model: type[SObject] | None, path: Sequence[str]) -> FieldInfo | None:
    """The field behind a query column (`Owner.Name` split), following parents' models."""
    current = model
    for step in path[:-1]:
        if current is None:
            return None
        parent = next((p for p in current.__sf_parents__ if p.name == step), None)
        if parent is None or len(parent.reference_to) != 1:
            return None
        target = resolve_sobject(current.__sf_package__, parent.reference_to[0])
        current = None if target is Record else target
    if current is None:
        return None
    return next((f for f in current.__sf_fields__ if f.name == path[-1]), None)


class RowDecoder(Generic[T]):
    """Query result rows (cells under a header) into models: an empty cell is null, a dotted
    column a parent record (null when all its cells are empty), values typed by the model."""

    def __init__(self, model: type[T], header: Sequence[str]) -> None:
        self.model = model
        self.header = list(header)
        typed = None if model is Record else model
        self._plan = [
            (tuple(name.split(".")), _converter(typed, name.split("."))) for name in header
        ]

    def decode(self, cells: Sequence[str]) -> T:
        data: dict[str, Any] = {}
        for (path, convert), cell in zip(self._plan, cells, strict=False):
            value: Any = None
            if cell != "":
                try:
                    value = convert(cell) if convert is not None else cell
                except ValueError:
                    value = cell  # loose decoding: keep what Salesforce sent
            target = data
            for step in path[:-1]:
                nested = target.get(step)
                if not isinstance(nested, dict):
                    nested = target[step] = {}
                target = nested
            target[path[-1]] = value
        return self.model.from_dict(_prune(data))

    def rows(self, rows: Iterable[Sequence[str]]) -> Iterator[T]:
        return (self.decode(cells) for cells in rows)


def _prune(data: dict[str, Any]) -> dict[str, Any]:
    """Parents whose every cell was empty become null, as REST returns an empty lookup."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            inner = _prune(value)
            out[key] = None if all(v is None for v in inner.values()) else inner
        else:
            out[key] = value
    return out
