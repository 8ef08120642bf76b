"""Bulk CSV, pure: encode rows Salesforce's way, cut them into uploads, read them back.
Bulk 2.0 uploads and results use all of it; Bulk 1.0 its cell format and streaming parser.

Nothing here does I/O. Callers hand in iterables (records, a file's lines, response bytes) and
get strings and bytes back, so the same code serves the async and sync clients, the CLI and
the fake org's tests.

What must stay true:
- A cell holding the delimiter, a quote, CR or LF is quoted with its quotes doubled; nothing
  else is quoted (Salesforce reads both, and minimal quoting keeps uploads small).
- `None` is `#N/A` (set to null); an empty cell means "leave the field alone", which is what
  `UNSET` means on a model, so UNSET encodes as an empty cell.
- Datetimes go out in UTC as `YYYY-MM-DDThh:mm:ss.sssZ`, dates as `YYYY-MM-DD`, times as
  `hh:mm:ss.sssZ`, multipicklists `;`-joined, numbers without exponents.
- An upload never exceeds `max_upload_bytes` once base64-encoded (Salesforce counts the
  150 MB limit after base64) nor `max_rows` rows (a load cut into several jobs, see
  `jobs/job_split.py`), every upload starts with the header, and no row is split between
  uploads. Splitting is a generator: only one piece of rows is in memory at a time.
- Input problems raise a `CsvInputError` subclass naming the line or column, so callers can
  refuse the data before anything is uploaded.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import enum
import io
import itertools
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from salesforce_typed.core.errors import (  # defined and drawn with the one tree
    CsvFormatError,
    CsvHeaderError,
    CsvInputError,
    CsvRowTooLargeError,
    UsageError,
)
from salesforce_typed.core.unset import UNSET

if TYPE_CHECKING:
    from salesforce_typed.core.describe import DescribeSObjectResult
    from salesforce_typed.core.models import SObject

__all__ = [
    "CONCURRENT_UPLOADS",
    "DELIMITERS",
    "LINE_ENDINGS",
    "MAX_UPLOAD_BYTES",
    "NULL_VALUE",
    "OPERATIONS",
    "ColumnDelimiter",
    "CsvDialect",
    "CsvFormatError",
    "CsvHeaderError",
    "CsvInputError",
    "CsvRowTooLargeError",
    "CsvStreamParser",
    "FieldCatalog",
    "LineEnding",
    "Operation",
    "RowEncoder",
    "UploadPiece",
    "base64_size",
    "check_columns",
    "format_value",
    "infer_columns",
    "raw_budget",
    "read_csv",
    "record_rows",
    "split_uploads",
]

ColumnDelimiter = Literal["BACKQUOTE", "CARET", "COMMA", "PIPE", "SEMICOLON", "TAB"]
LineEnding = Literal["LF", "CRLF"]

DELIMITERS: Final[dict[str, str]] = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
LINE_ENDINGS: Final[dict[str, str]] = {"LF": "\n", "CRLF": "\r\n"}
NULL_VALUE: Final = "#N/A"
# Salesforce's limit per upload, counted after base64 (about 112 MB of raw CSV).
MAX_UPLOAD_BYTES: Final = 150_000_000
# Parts (jobs) of one input uploaded at once: under latency an upload is mostly waiting.
CONCURRENT_UPLOADS: Final = 4
_PIECE_ROWS: Final = 2000


@attrs.frozen(kw_only=True, slots=True)
class CsvDialect:
    """A job's `columnDelimiter` and `lineEnding`, as Salesforce names them."""

    column_delimiter: ColumnDelimiter = attrs.field(
        default="COMMA", validator=attrs.validators.in_(tuple(DELIMITERS))
    )
    line_ending: LineEnding = attrs.field(
        default="LF", validator=attrs.validators.in_(tuple(LINE_ENDINGS))
    )

    @property
    def delimiter(self) -> str:
        return DELIMITERS[self.column_delimiter]

    @property
    def terminator(self) -> str:
        return LINE_ENDINGS[self.line_ending]


# -- values -------------------------------------------------------------------------------------


def _number(value: float | decimal.Decimal) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    if "e" in text or "E" in text:  # Salesforce's CSV parser takes no exponents
        text = format(decimal.Decimal(text), "f")
    return text


def format_value(value: Any) -> str:
    """One cell: `None` is `#N/A`, UNSET is empty, everything else in Salesforce's form."""
    if value is None:
        return NULL_VALUE
    if value is UNSET:
        return ""
    if isinstance(value, enum.Enum):  # picklist enums compare as their value
        value = value.value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | decimal.Decimal):
        return _number(value)
    if isinstance(value, dt.datetime):
        utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S") + f".{value.microsecond // 1000:03d}Z"
    if isinstance(value, list | tuple | frozenset | set):
        return ";".join(format_value(v) for v in value)
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot write a {type(value).__name__} to a Bulk CSV cell")


# -- encoding and splitting ---------------------------------------------------------------------


class _Lines:
    """A file-like sink: the csv writer calls `write` once per row with the whole line.

    `write` is the list's own `append` (a C call per row, not a Python one).
    """

    __slots__ = ("lines", "write")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.write = self.lines.append


class RowEncoder:
    """Rows of cell strings to encoded lines in one dialect.

    The csv writer runs with a CRLF terminator whatever the dialect, because only then does
    it quote a cell holding a bare CR; LF jobs get the terminator swapped afterwards.
    """

    def __init__(self, dialect: CsvDialect) -> None:
        self._sink = _Lines()
        self._writer = csv.writer(
            self._sink, delimiter=dialect.delimiter, lineterminator="\r\n", quotechar='"'
        )
        self._lf = dialect.line_ending == "LF"

    def texts(self, rows: Iterable[Sequence[str]]) -> list[str]:
        """Each row as its own line of text (terminator included), not yet encoded."""
        written = self._sink.lines
        written.clear()
        try:
            self._writer.writerows(rows)
        except csv.Error as exc:  # e.g. a NUL character
            written.clear()
            raise CsvFormatError(f"cannot encode a row: {exc}") from None
        out = [line[:-2] + "\n" for line in written] if self._lf else written[:]
        written.clear()
        return out

    def lines(self, rows: Iterable[Sequence[str]]) -> list[bytes]:
        """Each row as its own encoded line (terminator included)."""
        return [line.encode() for line in self.texts(rows)]

    def line(self, row: Sequence[str]) -> bytes:
        return self.lines([row])[0]


def base64_size(raw: int) -> int:
    """Bytes after base64, which is what Salesforce's 150 MB upload limit counts."""
    return 4 * ((raw + 2) // 3)


def raw_budget(max_upload_bytes: int) -> int:
    """The most raw CSV bytes whose base64 form fits in `max_upload_bytes`."""
    return (max_upload_bytes // 4) * 3


@attrs.frozen(slots=True)
class UploadPiece:
    """Consecutive rows of one upload. `job` counts uploads from 0; a new number means the
    previous upload is complete. The first piece of each upload starts with the header."""

    job: int
    data: bytes
    rows: int


def split_uploads(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    dialect: CsvDialect | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_rows: int | None = None,
    piece_rows: int = _PIECE_ROWS,
) -> Iterator[UploadPiece]:
    """Encode `rows` under `header` and cut them into uploads by bytes and, with `max_rows`,
    by rows (an upload holds at most that many), lazily. The same input and limits always
    give the same cut: the job journal re-encodes a file and expects the recorded one.

    Yields nothing when there are no rows: an upload of a header alone loads nothing.
    """
    if max_rows is not None and max_rows < 1:
        raise UsageError("max_rows must be at least 1")
    encoder = RowEncoder(dialect or CsvDialect())
    budget = raw_budget(max_upload_bytes)
    row_cap = max_rows or sys.maxsize
    head = encoder.line(header)
    if len(head) >= budget:
        raise CsvRowTooLargeError(
            f"the header alone ({len(head)} bytes) does not fit in one upload "
            f"({max_upload_bytes} bytes after base64)"
        )
    job, used, count = -1, budget, row_cap  # no upload open yet: the first row opens one
    row_number = 0

    def flush(texts: list[str]) -> Iterator[UploadPiece]:
        nonlocal job, used, count
        data = "".join(texts).encode()
        if used + len(data) <= budget and count + len(texts) <= row_cap:  # the common case
            used += len(data)
            count += len(texts)
            yield UploadPiece(job, data, len(texts))
            return
        lines = [text.encode() for text in texts]
        start = 0
        taken = 0
        for i, line in enumerate(lines):
            if used + len(line) <= budget and count < row_cap:
                used += len(line)
                count += 1
                taken += 1
                continue
            if taken:
                yield UploadPiece(job, b"".join(lines[start:i]), taken)
            if len(head) + len(line) > budget:
                raise CsvRowTooLargeError(
                    f"row {row_number - len(lines) + i + 1} ({len(line)} bytes) does not fit "
                    f"in one upload ({max_upload_bytes} bytes after base64)"
                )
            job, used, count, start, taken = job + 1, len(head) + len(line), 1, i, 1
            lines[i] = head + line
        if taken:
            yield UploadPiece(job, b"".join(lines[start:]), taken)

    it = iter(rows)
    while batch := list(itertools.islice(it, max(piece_rows, 1))):
        row_number += len(batch)
        yield from flush(encoder.texts(batch))


# -- reading CSV --------------------------------------------------------------------------------


def read_csv(lines: Iterable[str], dialect: CsvDialect | None = None) -> Iterator[list[str]]:
    """Rows of a CSV text (header first), strictly: an unbalanced quote or a row with more or
    fewer cells than the header raises `CsvFormatError` with its line number. Open files with
    `newline=""` (and `encoding="utf-8-sig"` to drop a BOM)."""
    reader = csv.reader(lines, delimiter=(dialect or CsvDialect()).delimiter, strict=True)
    width: int | None = None
    start = 1  # the line the record being read starts on (for unbalanced-quote errors)
    try:
        for row in reader:
            if row:
                if width is None:
                    width = len(row)
                elif len(row) != width:
                    raise CsvFormatError(
                        f"{len(row)} cells where the header has {width}", line=reader.line_num
                    )
                yield row
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise CsvFormatError(
                "unbalanced quote: a quoted cell never closes", line=start
            ) from None
        raise CsvFormatError(str(exc), line=reader.line_num) from None


def _record_end(text: str) -> int:
    """The index just past the last line end that closes a record (0 if none does).

    Quotes come in pairs outside a quoted cell (open, close, doubled), so a line end closes a
    record exactly when the count of quotes before it is even.
    """
    pos = text.rfind("\n")
    if pos < 0:
        return 0
    quotes = text.count('"', 0, pos)
    while pos >= 0:
        if quotes % 2 == 0:
            return pos + 1
        prev = text.rfind("\n", 0, pos)
        quotes -= text.count('"', max(prev, 0), pos)
        pos = prev
    return 0


class CsvStreamParser:
    """Rows from CSV bytes that arrive in arbitrary chunks (a streamed response).

    `feed` returns the rows completed by a chunk; a row cut between chunks waits for the
    next one, however many lines its quoted cells span. `close` returns the rest.
    """

    def __init__(self, dialect: CsvDialect | None = None) -> None:
        self._delimiter = (dialect or CsvDialect()).delimiter
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._pending = ""

    def feed(self, data: bytes) -> list[list[str]]:
        text = self._pending + self._decoder.decode(data)
        end = _record_end(text)
        self._pending = text[end:]
        return self._parse(text[:end]) if end else []

    def close(self) -> list[list[str]]:
        text = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        if text.count('"') % 2:
            raise CsvFormatError("unbalanced quote at the end of the data")
        return self._parse(text) if text else []

    def _parse(self, text: str) -> list[list[str]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self._delimiter)
        try:
            return [row for row in reader if row]
        except csv.Error as exc:
            raise CsvFormatError(f"malformed CSV from the server: {exc}") from None


# -- columns: what the object accepts, and records as rows ------------------------------------

Operation = Literal["insert", "update", "upsert", "delete", "hardDelete"]
OPERATIONS: Final = ("insert", "update", "upsert", "delete", "hardDelete")


@attrs.frozen(kw_only=True, slots=True)
class FieldCatalog:
    """An object's columns as Salesforce matches them: names case-insensitively, plus
    `Relationship.Field` for parents set by external id. From a model or a describe."""

    sobject: str
    fields: Mapping[str, str]  # lower-cased name -> API name
    relationships: Mapping[str, str]  # lower-cased relationship name -> its name
    createable: frozenset[str] = frozenset()
    updateable: frozenset[str] = frozenset()
    lookup_fields: frozenset[str] = frozenset()  # external ids and idLookup fields

    @classmethod
    def from_model(cls, model: type[SObject]) -> FieldCatalog:
        infos = model.__sf_fields__
        return cls(
            sobject=model.__sobject_type__,
            fields={f.name.lower(): f.name for f in infos},
            relationships={p.name.lower(): p.name for p in model.__sf_parents__},
            createable=frozenset(f.name for f in infos if f.createable),
            updateable=frozenset(f.name for f in infos if f.updateable),
            lookup_fields=frozenset(f.name for f in infos if f.external_id or f.id_lookup),
        )

    @classmethod
    def from_describe(cls, describe: DescribeSObjectResult) -> FieldCatalog:
        infos = [f for f in describe.fields or () if isinstance(f.name, str)]
        return cls(
            sobject=str(describe.name),
            fields={str(f.name).lower(): str(f.name) for f in infos},
            relationships={
                str(f.relationshipName).lower(): str(f.relationshipName)
                for f in infos
                if isinstance(f.relationshipName, str) and f.referenceTo
            },
            createable=frozenset(str(f.name) for f in infos if f.createable is True),
            updateable=frozenset(str(f.name) for f in infos if f.updateable is True),
            lookup_fields=frozenset(
                str(f.name) for f in infos if f.externalId is True or f.idLookup is True
            ),
        )

    def writable(self, operation: str) -> frozenset[str]:
        """The fields a record of this object may carry for `operation` (REST's payload rule)."""
        if operation in ("delete", "hardDelete"):
            return frozenset({"Id"})
        if operation == "insert":
            return self.createable
        if operation == "update":
            return self.updateable | {"Id"}
        return self.createable | self.updateable


def check_columns(
    columns: Sequence[str],
    catalog: FieldCatalog,
    operation: str,
    external_id_field: str | None = None,
) -> list[str]:
    """The header with canonical names, or `CsvHeaderError` naming every bad column."""
    if operation not in OPERATIONS:
        raise UsageError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
    if not columns or any(not c.strip() for c in columns):
        raise CsvHeaderError("the header has an empty column name", columns=columns)
    canonical: list[str] = []
    unknown: list[str] = []
    for column in columns:
        rel, dot, field = column.strip().partition(".")
        if dot:
            name = catalog.relationships.get(rel.lower())
            if name is None or not field:
                unknown.append(column)
                continue
            canonical.append(f"{name}.{field}")
        else:
            found = catalog.fields.get(rel.lower())
            if found is None:
                unknown.append(column)
                continue
            canonical.append(found)
    if unknown:
        raise CsvHeaderError(
            f"{catalog.sobject} has no field {', '.join(unknown)} (columns are API names, or "
            "Relationship.ExternalIdField for a parent)",
            columns=unknown,
        )
    seen: set[str] = set()
    dupes: list[str] = []
    for column in canonical:
        if column.lower() in seen:
            dupes.append(column)
        seen.add(column.lower())
    if dupes:
        raise CsvHeaderError(f"duplicate column {', '.join(dupes)}", columns=dupes)
    if operation in ("update", "delete", "hardDelete") and "Id" not in canonical:
        raise CsvHeaderError(f"{operation} needs an Id column", columns=("Id",))
    if operation in ("delete", "hardDelete") and canonical != ["Id"]:
        extra = [c for c in canonical if c != "Id"]
        raise CsvHeaderError(f"{operation} takes only the Id column", columns=extra)
    if operation == "upsert":
        if not external_id_field:
            raise UsageError("upsert needs external_id_field")
        key = catalog.fields.get(external_id_field.lower())
        if key is None or (catalog.lookup_fields and key not in catalog.lookup_fields):
            raise CsvHeaderError(
                f"{external_id_field} is not an external id field of {catalog.sobject}",
                columns=(external_id_field,),
            )
        if key not in canonical:
            raise CsvHeaderError(f"upsert needs a {key} column", columns=(key,))
    return canonical


def _parent_columns(record: SObject, writable: frozenset[str]) -> Iterator[str]:
    from salesforce_typed.core.models import SObject

    for parent in type(record).__sf_parents__:
        value = getattr(record, parent.name, UNSET)
        if isinstance(value, SObject) and parent.field in writable:
            yield from (f"{parent.name}.{name}" for name in value.set_fields())


def infer_columns(record: Any, catalog: FieldCatalog, operation: str) -> list[str]:
    """Columns from the first record: its set, writable fields in model order (a model) or
    its keys (a mapping; a nested mapping is a parent by external id)."""
    if isinstance(record, Mapping):
        out: list[str] = []
        for key, value in record.items():
            if key == "attributes":
                continue
            if isinstance(value, Mapping):
                out.extend(f"{key}.{k}" for k in value if k != "attributes")
            else:
                out.append(str(key))
        return out
    writable = catalog.writable(operation)
    names = [n for n in record.set_fields() if n in writable]
    return names + list(_parent_columns(record, writable))


def _cell(record: Any, column: str) -> Any:
    rel, dot, field = column.partition(".")
    if isinstance(record, Mapping):
        if column in record:
            return record[column]
        if not dot:
            return UNSET
        parent = record.get(rel, UNSET)
        return parent.get(field, UNSET) if isinstance(parent, Mapping) else UNSET
    if dot:
        parent = getattr(record, rel, UNSET)
        return UNSET if parent is UNSET or parent is None else _cell(parent, field)
    try:
        return record[column]
    except KeyError:
        return UNSET


def _stray(record: Any, allowed: frozenset[str], writable: frozenset[str]) -> list[str]:
    """Data a record carries that no column would send: an error, never silently dropped."""
    if isinstance(record, Mapping):
        keys: list[str] = []
        for key, value in record.items():
            if key == "attributes":
                continue
            if isinstance(value, Mapping) and key not in allowed:
                keys.extend(f"{key}.{k}" for k in value if k != "attributes")
            else:
                keys.append(str(key))
        return [k for k in keys if k not in allowed]
    names = [n for n in record.set_fields() if n in writable and n not in allowed]
    return names + [c for c in _parent_columns(record, writable) if c not in allowed]


def record_rows(
    records: Iterable[Any], columns: Sequence[str], catalog: FieldCatalog, operation: str
) -> Iterator[list[str]]:
    """Models or mappings as rows of cells under `columns`, lazily.

    A model's read-only fields are left out as REST payloads leave them out; any other value
    that no column carries raises `CsvHeaderError` naming the record (0-based).
    """
    allowed = frozenset(columns)
    writable = catalog.writable(operation)
    for number, record in enumerate(records):
        stray = _stray(record, allowed, writable)
        if stray:
            raise CsvHeaderError(
                f"record {number} sets {', '.join(stray)}, which is not among the columns "
                f"({', '.join(columns)}); pass columns= listing every field you set",
                columns=stray,
            )
        yield [format_value(_cell(record, c)) for c in columns]
