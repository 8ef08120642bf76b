"""Processing a Bulk API 2.0 ingest job in the fake org, through the same write path as REST.

Each slice of rows becomes REST-shaped record bodies and goes through `org.records.Writer`, so
Bulk writes are validated by `validation` and publish CDC events exactly as REST writes do;
only the CSV-specific parts live here: cells to values (empty = leave alone, `#N/A` = null,
`Rel.Field` = a parent by external id), the header check that fails a whole job, and the
three result sets. An insert of plain fields (no `Rel.Field`) goes column by column instead
(`records.ColumnInsert`, the same checks and outcome without a body per row) wherever
`ColumnInsert` plans it, the slice's rows are all as wide as the header, and no value would
fail `normalize` (`_run_columns`); the bodies are the reference it is tested against.

What must stay true:
- A header naming a field the object lacks fails the job (`InvalidBatch : Field name not
  found`), as does data whose line ending is not the job's; neither writes anything.
- A cell Salesforce cannot read fails its row only (sf__Error), never the slice.
- `processed` counts rows in input order, so the unprocessed rows are exactly the ones after
  it: an aborted or failed job leaves them in `unprocessedrecords`.
- Results echo each row's original cells after the `sf__` columns, in the job's dialect;
  `sf__Error` reads `CODE:message:Field1,Field2 --`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import IO, Any, Final

from salesforce_typed.core.unset import UNSET
from salesforce_typed.testing.admin.latency import latency
from salesforce_typed.testing.bulk2.jobs import (
    ABORTED,
    FAILED,
    IN_PROGRESS,
    JOB_COMPLETE,
    BulkJob,
    JobTable,
    spool,
)
from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.records import (
    ColumnInsert,
    Outcome,
    Writer,
    require_index,
)
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.org.validation import (
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldError,
    FieldIndex,
    PayloadError,
    coerce,
    coercer,
    recoerces_to_itself,
)
from salesforce_typed.testing.soql import normalize_id

__all__ = ["csv_rows", "result_header", "run_ingest", "unprocessed_csv"]

NULL: Final = "#N/A"
_XSD: Final = {"double": "double", "currency": "double", "percent": "double", "int": "int"}


class JobFailedError(Exception):
    """The whole job fails: `state` Failed with this errorMessage."""


def sf_error(error: FieldError) -> str:
    names = ",".join(error.fields)
    return (
        f"{error.code}:{error.message}:{names} --" if names else f"{error.code}:{error.message}:--"
    )


def csv_rows(handle: IO[bytes], delimiter: str) -> Iterator[list[str]]:
    """Rows of a spooled CSV, read lazily (the header is the first row)."""
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        yield from filter(None, csv.reader(text, delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise JobFailedError(f"ClientInputError : {exc}") from None
    finally:
        text.detach()  # the spool outlives this reader


def _writer(handle: IO[bytes], job: BulkJob) -> Any:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")  # detach() flushes
    return text, csv.writer(
        text, delimiter=job.delimiter, lineterminator=job.terminator, quoting=csv.QUOTE_ALL
    )


def _quoted_lines(columns: Sequence[Sequence[str]], job: BulkJob) -> str:
    """Rows given column by column, as `_writer`'s csv writer writes them (every field
    quoted, quotes doubled), in one string."""
    quoted = [
        [c.replace('"', '""') for c in col] if '"' in "".join(col) else col for col in columns
    ]
    between, end = f'"{job.delimiter}"', f'"{job.terminator}'
    return "".join([f'"{between.join(row)}{end}' for row in zip(*quoted, strict=True)])


def result_header(job: BulkJob, header: Sequence[str], which: str) -> list[str]:
    marks = {"successful": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"]}
    return [*marks.get(which, []), *header]


def _unreadable(field: Mapping[str, Any], number: int, cell: str) -> FieldError:
    kind = _XSD.get(str(field.get("type")), str(field.get("type")))
    return FieldError(
        "INVALID_FIELD",
        f"Failed to deserialize field at col {number + 1}. Due to, '{cell}' "
        f"is not a valid value for the type xsd:{kind}",
        (str(field["name"]),),
    )


class _Plan:
    """How each column becomes part of a REST body, checked once per job."""

    def __init__(self, index: FieldIndex, header: Sequence[str]) -> None:
        self.index = index
        self.columns: list[tuple[str, str | None, dict[str, Any] | None]] = []
        for name in header:
            rel, dot, field = name.partition(".")
            if dot:
                parent = index.relationship(rel)
                if parent is None:
                    raise JobFailedError(f"InvalidBatch : Field name not found : {name}")
                self.columns.append((str(parent["relationshipName"]), field, None))
                continue
            found = index.field(name)
            if found is None:
                raise JobFailedError(f"InvalidBatch : Field name not found : {name}")
            self.columns.append((str(found["name"]), None, dict(found)))

    def fields(self) -> list[dict[str, Any]] | None:
        """The columns' field describes, or None when one names a parent's field."""
        found = [field for _, _, field in self.columns if field is not None]
        return found if len(found) == len(self.columns) else None

    def body(self, cells: Sequence[str]) -> tuple[dict[str, Any], FieldError | None]:
        body: dict[str, Any] = {}
        for number, ((name, sub, field), cell) in enumerate(zip(self.columns, cells, strict=False)):
            if cell == "":
                continue  # an empty cell leaves the field alone
            value: Any = None if cell == NULL else cell
            if sub is not None:
                body[name] = {sub: value}
                continue
            assert field is not None
            if value is not None:
                try:
                    value = coerce(field, value)
                except PayloadError:
                    return body, _unreadable(field, number, cell)
            body[name] = value
        return body, None


def _read_column(
    field: Mapping[str, Any],
    number: int,
    cells: Sequence[str],
    failed: dict[int, FieldError],
    refused: set[int],
) -> list[Any]:
    """One column's cells as `normalize` leaves the values of the bodies `_Plan.body` makes
    (UNSET for an empty cell). A cell `body` cannot read fails its row in `failed` (the
    first column's error wins, as `body` stops there); a value whose second coercion
    (`normalize`'s) fails marks its row in `refused`."""
    ftype = str(field.get("type"))
    if "" not in cells and NULL not in cells:  # whole columns at once, where that is safe
        if ftype in TEXT_TYPES:
            return list(cells)
        try:
            if ftype in NUMBER_TYPES:
                return list(map(float, cells))
            if ftype in ("int", "long"):
                numbers = list(map(float, cells))
                if all(map(float.is_integer, numbers)):
                    return list(map(int, numbers))
        except ValueError:
            pass
    read = coercer(field)
    again = None if recoerces_to_itself(field) else read
    out: list[Any] = []
    for row, cell in enumerate(cells):
        if cell == "":
            out.append(UNSET)
            continue
        if cell == NULL:
            out.append(read(None))
            continue
        try:
            value = read(cell)
        except PayloadError:
            failed.setdefault(row, _unreadable(field, number, cell))
            out.append(UNSET)
            continue
        if again is not None:
            try:
                value = again(value)
            except PayloadError:
                refused.add(row)
        out.append(value)
    return out


class _Slice:
    """One slice's rows through the Writer, and their lines in the result sets."""

    def __init__(self, table: JobTable, job: BulkJob, plan: _Plan) -> None:
        self.table = table
        self.job = job
        self.plan = plan
        self.writer = Writer(table.state, job.origin)
        # an insert of plain fields goes column by column (`ColumnInsert`), else body by body
        fields = plan.fields() if job.operation == "insert" else None
        self.fields = fields or []
        self.columns = (
            ColumnInsert.plan(self.writer, plan.index, [str(f["name"]) for f in fields])
            if fields
            else None
        )

    def run(self, rows: list[list[str]]) -> None:
        job = self.job
        assert job.successful is not None and job.failures is not None
        # a results request may have moved the spools' positions since the last slice
        job.successful.seek(0, 2)
        job.failures.seek(0, 2)
        ok_text, self.ok = _writer(job.successful, job)
        self.ok_text = ok_text
        bad_text, self.bad = _writer(job.failures, job)
        try:
            if self.columns is None or not self._run_columns(self.columns, rows):
                self._run(rows)
        finally:
            ok_text.detach()
            bad_text.detach()

    def _run_columns(self, plan: ColumnInsert, rows: list[list[str]]) -> bool:
        """`_run` for an insert of plain fields, column by column; False (nothing done) for a
        slice it leaves to `_run`: ragged rows, a value `normalize` would refuse."""
        if not rows or {*map(len, rows)} != {len(self.fields)}:
            return False
        failed: dict[int, FieldError] = {}
        refused: set[int] = set()
        by_column = list(zip(*rows, strict=True))
        columns = [
            _read_column(field, number, cells, failed, refused)
            for number, (field, cells) in enumerate(zip(self.fields, by_column, strict=True))
        ]
        if refused - failed.keys():
            return False
        if failed:
            keep = [r for r in range(len(rows)) if r not in failed]
            columns = [[column[r] for r in keep] for column in columns]
        done = plan.run(columns)
        if done is None:
            return False
        created = [d for d in done if isinstance(d, str)]
        if len(created) == len(rows):  # all created: the common case
            self.ok_text.write(_quoted_lines([created, ["true"] * len(rows), *by_column], self.job))
        else:
            results = iter(done)
            ok = []
            for r, cells in enumerate(rows):
                result = [failed[r]] if r in failed else next(results)
                if isinstance(result, str):
                    ok.append([result, "true", *cells])
                else:
                    self._result(cells, Outcome(errors=result))
            self.ok.writerows(ok)
        self.job.processed += len(rows)
        return True

    def _run(self, rows: list[list[str]]) -> None:
        job = self.job
        outcomes: list[Outcome | None] = [None] * len(rows)
        bodies: list[tuple[int, dict[str, Any]]] = []
        for i, cells in enumerate(rows):
            body, error = self.plan.body(cells)
            if error is not None:
                outcomes[i] = Outcome(errors=[error])
            else:
                bodies.append((i, body))
        try:
            done = self._write([b for _, b in bodies])
        except SfError:  # a body the Writer refuses as a whole: find the row, one by one
            done = [self._one(b) for _, b in bodies]
        for (i, _), outcome in zip(bodies, done, strict=True):
            outcomes[i] = outcome
        for cells, maybe in zip(rows, outcomes, strict=True):
            assert maybe is not None
            self._result(cells, maybe)
        job.processed += len(rows)

    def _one(self, body: dict[str, Any]) -> Outcome:
        try:
            return self._write([body])[0]
        except SfError as exc:
            entry = exc.entry()
            return Outcome(errors=[FieldError(entry["errorCode"], entry["message"])])

    def _write(self, bodies: list[dict[str, Any]]) -> list[Outcome]:
        job, writer = self.job, self.writer
        sobject = self.plan.index.sobject
        if job.operation == "insert":
            return writer.create(sobject, bodies)
        if job.operation == "update":
            return writer.update(sobject, [(b.get("Id"), b) for b in bodies])
        if job.operation == "upsert":
            key = str(job.external_id_field)
            return writer.upsert(sobject, key, [(b.get(key), b) for b in bodies])
        return self._delete(sobject, [b.get("Id") for b in bodies])

    def _delete(self, sobject: str, raw_ids: list[Any]) -> list[Outcome]:
        prefix = str((self.table.state.schema.describe(sobject) or {}).get("keyPrefix") or "")
        outcomes = [Outcome() for _ in raw_ids]
        wanted = []
        for i, raw in enumerate(raw_ids):
            record_id = normalize_id(raw) if isinstance(raw, str) else None
            if record_id is None:
                outcomes[i].errors.append(
                    FieldError("MALFORMED_ID", f"malformed id {raw}", ("Id",))
                )
            elif not record_id.startswith(prefix):
                outcomes[i].errors.append(
                    FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                )
            else:
                wanted.append(i)
        st = store(self.table.state)
        with st.transaction():
            done = self.writer.delete([raw_ids[i] for i in wanted])
            for i, outcome in zip(wanted, done, strict=True):
                outcomes[i] = outcome
                if self.job.operation == "hardDelete" and outcome.success and outcome.id:
                    st.hard_delete(sobject, outcome.id)
        return outcomes

    def _result(self, cells: list[str], outcome: Outcome) -> None:
        job = self.job
        if outcome.success:
            created = outcome.created if job.operation == "upsert" else job.operation == "insert"
            self.ok.writerow([outcome.id or "", "true" if created else "false", *cells])
            return
        job.failed += 1
        record_id = ""
        if job.operation in ("update", "delete", "hardDelete") and float(job.api_version) >= 53:
            position = next((i for i, (n, s, _) in enumerate(self.plan.columns) if n == "Id"), -1)
            record_id = cells[position] if 0 <= position < len(cells) else ""
        self.bad.writerow([record_id, sf_error(outcome.errors[0]), *cells])


def _check_line_ending(job: BulkJob) -> None:
    """Salesforce refuses data whose first line end is not the job's lineEnding."""
    assert job.upload is not None
    job.upload.seek(0)
    head = job.upload.read(1 << 16)
    end = head.find(b"\n")
    if end < 0:
        return
    crlf = end > 0 and head[end - 1 : end] == b"\r"
    if crlf != (job.line_ending == "CRLF"):
        raise JobFailedError(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding "
            f"setting is {job.line_ending}"
        )


async def run_ingest(table: JobTable, job: BulkJob, *, resume: bool = False) -> None:
    """The job's task: wait for a processing slot and the gate, then process slice by slice
    until done. `resume`: a job restored mid-run (a restarted org) goes on after its
    `processed` rows."""
    async with latency(table.state).slot(job.id):
        await _run_ingest(table, job, resume=resume)


async def _run_ingest(table: JobTable, job: BulkJob, *, resume: bool) -> None:
    if not resume:
        if not await table.gate(job):
            return
        table.transition(job, IN_PROGRESS)
        job.successful, job.failures = spool(), spool()
    started = time.monotonic()
    try:
        if job.upload is None or job.upload_bytes == 0:
            raise JobFailedError("InvalidBatch : No data was uploaded for this job")
        _check_line_ending(job)
        rows = csv_rows(job.upload, job.delimiter)
        header = next(rows, None)
        if header is None:
            raise JobFailedError("InvalidBatch : No header row")
        plan = _Plan(require_index(table.state, job.object), header)
        if resume:  # the results so far, headers included, were kept
            for _ in range(job.processed):
                next(rows, None)
        else:
            assert job.successful is not None and job.failures is not None
            for which, handle in (("successful", job.successful), ("failed", job.failures)):
                text, writer = _writer(handle, job)
                writer.writerow(result_header(job, header, which))
                text.detach()
        await _process(table, job, _Slice(table, job, plan), rows)
    except JobFailedError as exc:
        if job.state == IN_PROGRESS:
            table.transition(job, FAILED, error=str(exc))
    finally:
        job.total_processing_time += int((time.monotonic() - started) * 1000)
    if job.state == IN_PROGRESS:
        table.transition(job, JOB_COMPLETE)


async def _process(table: JobTable, job: BulkJob, work: _Slice, rows: Iterator[list[str]]) -> None:
    clock = latency(table.state).clock
    while True:
        size = max(table.settings.slice_rows, 1)
        began = clock()  # the slice's own time: reading its rows, then `_Slice.run`
        batch = list(islice(rows, size))
        if not batch or not await _slice(table, job, work, batch, began) or len(batch) < size:
            return


async def _slice(
    table: JobTable, job: BulkJob, work: _Slice, batch: list[list[str]], began: float
) -> bool:
    """Process one slice unless the job was aborted or must fail; False to stop."""
    if job.state == ABORTED:
        return False
    limit = table.settings.fail_after
    if limit is not None and job.processed >= limit:
        raise JobFailedError(
            "InternalServerError : a batch failed after 10 retries; the rest was not processed"
        )
    work.run(batch)
    mode = latency(table.state)
    spent = mode.clock() - began
    job.retries = 0
    await asyncio.sleep(0)  # let polls and other requests in between slices
    # realistic-latency mode: server time, the slice's own counting toward it
    await mode.work(len(batch), spent=spent)
    return job.state != ABORTED


def unprocessed_csv(job: BulkJob) -> bytes:
    """The header and every row after the processed ones, in the job's dialect."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=job.delimiter, lineterminator=job.terminator)
    if job.upload is None or job.upload_bytes == 0:
        return b""
    skip = job.processed
    for number, row in enumerate(csv_rows(job.upload, job.delimiter)):
        if number == 0 or number > skip:
            writer.writerow(row)
    return out.getvalue().encode()
