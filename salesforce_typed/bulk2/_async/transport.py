"""The Bulk API 2.0 send path for what `AsyncSalesforce.exchange` cannot carry: CSV bodies out,
streamed CSV answers in. Written async-first; `_sync/transport.py` is generated from it.

What must stay true:
- Every request goes through the client's one send loop (`core/_async/send.py`): its
  RetryPolicy decides re-sends (an upload, like a create POST, only when nothing reached
  Salesforce or it said "not applied"), its clock sleeps, its session is refreshed once and
  the request replayed once on `401 INVALID_SESSION_ID`, so every body here is replayable:
  uploads stream from a spooled file that rewinds on each send, never from a one-shot
  generator, and memory stays at one block however large the upload.
- Streamed answers are re-requested after a dropped connection and the rows (or bytes)
  already handed out are skipped: a result set, and a query page under one locator, read the
  same every time.
- Nothing logged carries a token, a body or a query string.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Final

import attrs
import httpx

from salesforce_typed.bulk2.wire import InvalidJobStateError
from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import APIStatusError, SalesforceError
from salesforce_typed.core.exchange import Exchange, bearer, rest_error
from salesforce_typed.core.retry import classify_transport_error
from salesforce_typed.jobs.csv_chunks import (
    CsvDialect,
    CsvFormatError,
    CsvStreamParser,
    FieldCatalog,
    check_columns,
    infer_columns,
    read_csv,
    record_rows,
)

if TYPE_CHECKING:
    from salesforce_typed.rest._async.client import AsyncSalesforce

__all__ = ["AsyncBulkTransport", "ResponseMeta", "Spool", "file_input", "record_input"]

log = logging.getLogger("salesforce_typed.bulk")

_BLOCK: Final = 1 << 20  # bytes per read when streaming an upload
_SPOOL_IN_MEMORY: Final = 8 << 20  # a spool moves to a temp file past this


class Spool:
    """One upload's CSV, written once, read as often as needed (send, replay, matching).

    Kept in memory up to 8 MB, then in an anonymous temp file: memory stays flat however big
    the upload. `rows` and `start` say which input rows it holds.
    """

    def __init__(self, number: int, start: int) -> None:
        self.number = number
        self.start = start
        self.rows = 0
        self.size = 0
        self.file: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by close())
            max_size=_SPOOL_IN_MEMORY, mode="w+b"
        )

    def write(self, data: bytes, rows: int) -> None:
        self.file.write(data)
        self.size += len(data)
        self.rows += rows

    def blocks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while block := self.file.read(_BLOCK):
            yield block

    def input_rows(self, dialect: CsvDialect) -> Iterator[list[str]]:
        """The uploaded rows again, in order, header skipped (for matching results)."""
        parser = CsvStreamParser(dialect)
        header = True
        for block in self.blocks():
            for row in parser.feed(block):
                if header:
                    header = False
                    continue
                yield row
        yield from parser.close()[0 if not header else 1 :]

    def close(self) -> None:
        self.file.close()

    def __repr__(self) -> str:
        return f"Spool(number={self.number}, rows={self.rows}, size={self.size})"


def _file_rows(handle: IO[str], rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """The data rows after the header, read lazily; the file closes when they end."""
    with handle:
        yield from rows


def file_input(
    path: str | os.PathLike[str],
    catalog: FieldCatalog,
    operation: str,
    external_id_field: str | None,
    dialect: CsvDialect,
) -> tuple[list[str], Iterator[list[str]]]:
    """The checked header and the rows of a CSV file, read lazily and strictly (quotes, cell
    counts: `read_csv`). The rows are read once; the caller encodes all of them before it
    uploads any (`AsyncBulk2.ingest`), so a broken file is refused before any upload."""
    handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed by _file_rows)
    try:
        rows = read_csv(handle, dialect)
        first = next(rows, None)
        if first is None:
            raise CsvFormatError(f"{os.fspath(path)} is empty: no header")
        header = check_columns(first, catalog, operation, external_id_field)
    except BaseException:
        handle.close()
        raise
    return header, _file_rows(handle, rows)


def record_input(
    records: Iterable[Any],
    catalog: FieldCatalog,
    operation: str,
    external_id_field: str | None,
    columns: Sequence[str] | None,
) -> tuple[list[str], Iterator[list[str]]]:
    """The checked header (given, or from the first record) and the records as rows."""
    it = iter(records)
    if columns is None:
        first = next(it, None)
        if first is None:
            return [], iter(())
        columns = infer_columns(first, catalog, operation)
        it = itertools.chain([first], it)
    header = check_columns(columns, catalog, operation, external_id_field)
    return header, record_rows(it, list(columns), catalog, operation)


class _SpoolBody(httpx.AsyncByteStream):
    """A request body that rewinds on every send, so the auth flow can replay it."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for block in self._spool.blocks():
            yield block


@attrs.define(slots=True)
class ResponseMeta:
    """The headers of the response a stream came from (the last one, after re-requests)."""

    headers: httpx.Headers | None = None


def _bulk2_error(response: httpx.Response) -> SalesforceError:
    error = rest_error(response)
    return _state_error(error) if isinstance(error, APIStatusError) else error


def _state_error(error: APIStatusError) -> APIStatusError:
    if error.error_code != "INVALIDJOBSTATE" or isinstance(error, InvalidJobStateError):
        return error
    return InvalidJobStateError(
        error.message,
        status_code=error.status_code,
        error_code=error.error_code,
        fields=error.fields,
        errors=error.errors,
        method=error.method,
        url=error.url,
    )


class AsyncBulkTransport:
    """Sends Bulk specs through an AsyncSalesforce's connection, policy and clock."""

    def __init__(self, client: AsyncSalesforce) -> None:
        self.client = client

    async def call(self, spec: RequestSpec) -> Any:
        """A JSON call through the client's own loop; INVALIDJOBSTATE gets its class."""
        try:
            return await self.client.send(spec)
        except APIStatusError as error:
            mapped = _state_error(error)
            if mapped is error:
                raise
            raise mapped from None

    def _exchange(self, spec: RequestSpec, body: Spool | bytes | None) -> Exchange:
        """The send loop's view of one Bulk 2.0 call: a REST call whose answer is streamed
        and whose body (a spool) is re-read from the start on every send and replay."""
        client = self.client
        http = client.http

        def build(base_url: str, session: str | None) -> httpx.Request:
            request = bearer(client.base.build_request(http, spec, base_url=base_url), session)
            if body is None:
                return request
            headers = httpx.Headers(request.headers)
            for name in ("Content-Length", "Transfer-Encoding"):  # set for the empty body
                headers.pop(name, None)
            if isinstance(body, bytes):
                return httpx.Request(request.method, request.url, headers=headers, content=body)
            headers["Content-Length"] = str(body.size)
            return httpx.Request(
                request.method, request.url, headers=headers, stream=_SpoolBody(body)
            )

        return Exchange(
            method=spec.method,
            path=spec.path,
            idempotent=spec.idempotent,
            build=build,
            error=_bulk2_error,
            stream=True,
        )

    async def send(self, spec: RequestSpec, *, body: Spool | bytes | None = None) -> httpx.Response:
        """A streamed response with a success status; errors mapped and retried per policy.

        The caller reads and closes it (`aiter_bytes`, `aclose`).
        """
        return await self.client.sender.send(self._exchange(spec, body))

    async def upload(self, spec: RequestSpec, body: Spool | bytes) -> None:
        response = await self.send(spec, body=body)
        await response.aclose()

    async def _resume(self, spec: RequestSpec, attempt: int, exc: httpx.TransportError) -> None:
        """After a stream broke mid-way: wait and allow a re-request, or raise."""
        error = classify_transport_error(exc)
        if error is None:
            raise exc
        decision = self.client.retry.decide(attempt, method="GET", idempotent=True, error=error)
        log.info("bulk stream %s: %s", spec.path, decision.reason)
        if not decision.retry:
            raise error from exc
        await self.client.clock.asleep(decision.delay)

    async def rows(
        self, spec: RequestSpec, dialect: CsvDialect, meta: ResponseMeta | None = None
    ) -> AsyncIterator[list[str]]:
        """The rows of a CSV answer, header first, streamed with constant memory."""
        handed = 0
        attempt = 0
        while True:
            attempt += 1
            response = await self.send(spec)
            if meta is not None:
                meta.headers = response.headers
            parser = CsvStreamParser(dialect)
            seen = 0
            try:
                async for chunk in response.aiter_bytes():
                    for row in parser.feed(chunk):
                        seen += 1
                        if seen > handed:
                            handed = seen
                            yield row
                for row in parser.close():
                    seen += 1
                    if seen > handed:
                        handed = seen
                        yield row
                return
            except httpx.TransportError as exc:
                await self._resume(spec, attempt, exc)
            finally:
                await response.aclose()

    async def raw(
        self, spec: RequestSpec, meta: ResponseMeta | None = None
    ) -> AsyncIterator[bytes]:
        """The decoded (gunzipped) bytes of an answer, streamed, resumed by byte count."""
        handed = 0
        attempt = 0
        while True:
            attempt += 1
            response = await self.send(spec)
            if meta is not None:
                meta.headers = response.headers
            seen = 0
            try:
                async for chunk in response.aiter_bytes():
                    end = seen + len(chunk)
                    if end > handed:
                        yield chunk[max(handed - seen, 0) :]
                        handed = end
                    seen = end
                return
            except httpx.TransportError as exc:
                await self._resume(spec, attempt, exc)
            finally:
                await response.aclose()
