# DO NOT EDIT: generated from salesforce_typed/rest/_async/client.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/rest/_async/client.py`: its docstring there says what must stay true."""

from __future__ import annotations

import datetime as dt
import functools
import os
import ssl
from collections.abc import Generator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import httpx

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import AccessTokenAuth, TokenGrant
from salesforce_typed.auth.token import TokenStore
from salesforce_typed.core._sync.pagination import Pager
from salesforce_typed.core._sync.send import Sender
from salesforce_typed.core.base_client import DEFAULT_API_VERSION, BaseClient
from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.connection import Connection
from salesforce_typed.core.describe import DescribeGlobalResult, DescribeSObjectResult
from salesforce_typed.core.endpoints import RequestSpec, SaveResult, SObjectEndpoints
from salesforce_typed.core.errors import OutcomeUnknownError, RequestNotSentError, UsageError
from salesforce_typed.core.face import SenderFace
from salesforce_typed.core.models import Record, RelatedList, SObject
from salesforce_typed.core.pagination import Page
from salesforce_typed.core.retry import DEFAULT_TIMEOUT, RetryPolicy
from salesforce_typed.core.unset import UNSET
from salesforce_typed.query._sync.rows import run_select
from salesforce_typed.query.builder import Select
from salesforce_typed.rest import collections as coll
from salesforce_typed.rest import listviews, misc
from salesforce_typed.rest.composite import (
    BatchItem,
    BatchRequest,
    CompositeRequest,
    CompositeResult,
)
from salesforce_typed.rest.graph import CompositeGraph, GraphResult
from salesforce_typed.rest.prefetch import Prefetch
from salesforce_typed.rest.query import (
    RawPage,
    build_next_page,
    build_query,
    child_pages_left,
    has_subquery,
    parse_page,
    record_decoder,
    rows_records,
)
from salesforce_typed.rest.soql import bind, query_arguments
from salesforce_typed.rest.tree import SObjectTree, TreeResult

if TYPE_CHECKING:
    from typing import Unpack

    from salesforce_typed.bulk1._sync.client import Bulk1
    from salesforce_typed.bulk2._sync.client import Bulk2
    from salesforce_typed.soap._sync.client import SoapClient
    from salesforce_typed.streaming import Listener
    from salesforce_typed.streaming.options import ListenerOptions

T = TypeVar("T", bound=SObject)
RowT = TypeVar("RowT")
STANDARD_PACKAGE = "salesforce_typed_std"


class Query(Pager[T]):
    """A lazy, typed SOQL result: `for rec in sf.query(Account, soql)` pages on demand.

    Only one page of raw rows is held at a time; `pages()` yields whole pages instead.
    """

    def __init__(
        self,
        client: Salesforce,
        spec: RequestSpec,
        model: type[T] | None,
        page_size: int | None,
    ) -> None:
        self._client = client
        self._spec = spec
        self._decode = record_decoder(model, client.package)
        self._for_page = rows_records(model, client.package)
        self._children = has_subquery(spec)
        self._page_size = page_size
        self.total_size: int | None = None

    def _raw_pages(self) -> Iterator[RawPage]:
        """Raw pages following `nextRecordsUrl`; only one page is held at a time.

        The next page is requested as soon as this one is read, so the server works on it
        while the caller decodes; a caller that stops early costs that one extra call.
        """
        pending: Prefetch | None = Prefetch(self._client.send, self._spec)
        try:
            while pending is not None:
                page = parse_page(pending.result())
                self.total_size = page.total_size
                pending = None
                if not page.done and page.next_records_url:
                    nxt = build_next_page(page.next_records_url, self._page_size)
                    pending = Prefetch(self._client.send, nxt)
                yield page
                del page
        finally:
            if pending is not None:
                pending.cancel()

    def _finish(self, row: dict[str, Any]) -> T:
        record: T = self._decode(row)
        # Only rows whose child subquery did not fit carry a locator to follow.
        if self._children and any(
            isinstance(v, dict) and v.get("done") is False for v in row.values()
        ):
            self._client.expand_children(record)
        return record

    def pages(self) -> Iterator[Page[T]]:
        for page in self._raw_pages():
            rows = page.records
            yield Page(
                total_size=page.total_size,
                done=page.done,
                locator=page.next_records_url,
                records=[self._finish(row) for row in rows]
                if self._children
                else list(self._for_page(rows)),
            )

    def __iter__(self) -> Generator[T, None]:
        # Decode each row as it is handed out: a page of live models would only feed the GC.
        # Without a subquery no row has child pages to fetch, so decoding is all there is:
        # one compiled generator steps through the page, no per-row call of ours.
        for page in self._raw_pages():
            rows = page.records
            if self._children:
                for i, row in enumerate(rows):
                    rows[i] = None  # type: ignore[call-overload]
                    yield self._finish(row)
            else:
                for record in self._for_page(rows):
                    yield record
            del page, rows  # this page's rows go before the next one arrives


_ENDPOINTS: dict[type[SObject], type[SObjectEndpoints[Any]]] = {}


def endpoints_for(model: type[T]) -> type[SObjectEndpoints[T]]:
    """The operations class bound to `model`, built once per model (not per call)."""
    bound = _ENDPOINTS.get(model)
    if bound is None:

        class _Bound(SObjectEndpoints[Any]):
            pass

        _Bound.model = model
        ids = tuple(
            f.name for f in model.__sf_fields__ if f.external_id or f.id_lookup or f.name == "Id"
        )
        _Bound.external_id_fields = ids or ("Id",)
        bound = _ENDPOINTS[model] = _Bound
    return bound


class Salesforce(SenderFace):
    """Salesforce REST, typed. `auth` is an explicit grant or an httpx.Auth.

    with Salesforce(auth=RefreshTokenGrant(...)) as sf:
        for acc in sf.query(Account, "SELECT Id, Name FROM Account"):
            ...
    """

    sender: Sender

    def __init__(
        self,
        *,
        auth: SalesforceAuth | TokenGrant | AccessTokenAuth | httpx.Auth,
        instance_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        package: str = STANDARD_PACKAGE,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        clock: Clock | None = None,
        call_options: str | None = None,
        token_store: TokenStore | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.package = package
        clock = clock or SystemClock()
        self.base = BaseClient(api_version=api_version, call_options=call_options)
        self.sender = Sender(
            connection=Connection.create(
                auth, instance_url=instance_url, token_store=token_store, clock=clock
            ),
            http=http_client,
            retry=retry,
            clock=clock,
            timeout=timeout,
            verify=verify,
        )

    @classmethod
    def from_alias(
        cls,
        alias: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        package: str = STANDARD_PACKAGE,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        retry: RetryPolicy | None = None,
    ) -> Salesforce:
        """A client for an org logged in with `salesforce-typed login --alias NAME`: its
        refresh token and rotations live in the store that login recorded for the alias."""
        from salesforce_typed.auth.aliases import grant_from_alias

        grant, store = grant_from_alias(alias)
        return cls(
            auth=grant,
            token_store=store,
            api_version=api_version,
            package=package,
            verify=verify,
            retry=retry,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Salesforce:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.sender.close()

    def __repr__(self) -> str:
        url = self.connection.instance_url
        return f"{type(self).__name__}(instance_url={url!r}, api_version={self.api_version!r})"

    @property
    def http(self) -> httpx.Client:
        """The underlying httpx client, shared by every API face of this client."""
        return self.sender.http

    @property
    def api_version(self) -> str:
        return self.base.api_version

    # -- the other APIs, on this client's session, pool and retry policy ---------------------

    @functools.cached_property
    def bulk2(self) -> Bulk2:
        """Bulk API 2.0 (`ingest`, `query`, `query_to_csv`) on this client's session."""
        from salesforce_typed.bulk2._sync.client import Bulk2

        return Bulk2(self)

    @functools.cached_property
    def bulk1(self) -> Bulk1:
        """Bulk API 1.0 (batches, serial mode, PK chunking) on this client's session."""
        from salesforce_typed.bulk1._sync.client import Bulk1

        return Bulk1(self)

    @functools.cached_property
    def soap(self) -> SoapClient:
        """The partner SOAP API (convertLead, merge, ...) on this client's session."""
        from salesforce_typed.soap._sync.client import SoapClient

        return SoapClient.from_client(self)

    def listener(self, **options: Unpack[ListenerOptions]) -> Listener:
        """A Streaming API listener (CDC, platform events) on this client's connection;
        `api="pubsub"` (with `pubsub_target=`) runs the same handlers over the Pub/Sub API.

        It shares the auth flow, token store, instance URL, TLS setting, API version and
        package. On the async face it shares the pool too (run it on this client's loop);
        the blocking listener opens its own. A method: each call is a new listener.
        """
        from salesforce_typed.streaming import Listener

        return Listener.from_client(self, **options)

    # -- the one send loop -------------------------------------------------------------------

    def send(self, spec: RequestSpec, *, retry: RetryPolicy | None = None) -> Any:
        """Send one request with retries; returns parsed JSON (None for 204)."""
        return (self.exchange(spec, retry=retry))[1]

    def exchange(
        self, spec: RequestSpec, *, retry: RetryPolicy | None = None
    ) -> tuple[int, Any]:
        """The status code and parsed body of one request, sent by the shared send loop."""
        response = self.sender.send(self.base.exchange(self.http, spec), retry=retry)
        return response.status_code, self.base.read(response)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """The escape hatch: any REST path (relative to /services/data/vXX.X or absolute)."""
        method = method.upper()
        spec = RequestSpec(
            method=method,
            path=path,
            json=json,
            params=tuple((params or {}).items()),
            idempotent=method != "POST" if idempotent is None else idempotent,
        )
        return self.send(spec)

    # -- records -----------------------------------------------------------------------------

    def _endpoints(self, model: type[T]) -> type[SObjectEndpoints[T]]:
        return endpoints_for(model)

    @overload
    def create(self, record: SObject) -> SaveResult: ...
    @overload
    def create(self, record: str, data: Mapping[str, Any]) -> SaveResult: ...
    def create(
        self, record: SObject | str, data: Mapping[str, Any] | None = None
    ) -> SaveResult:
        """Insert one record (POST: never re-sent blindly; an unknown outcome raises)."""
        if isinstance(record, str):
            spec = RequestSpec(
                method="POST", path=f"/sobjects/{record}/", json=dict(data or {}), idempotent=False
            )
        else:
            spec = self._endpoints(type(record)).build_create(record)
        result = SObjectEndpoints.parse_save(201, self.send(spec))
        return SaveResult(id=result.id, created=True, success=result.success, errors=result.errors)

    @overload
    def get(
        self, model: type[T], record_id: str, fields: Sequence[str] | None = None
    ) -> T: ...
    @overload
    def get(
        self, model: str, record_id: str, fields: Sequence[str] | None = None
    ) -> Record: ...
    def get(
        self, model: type[T] | str, record_id: str, fields: Sequence[str] | None = None
    ) -> T | Record:
        if isinstance(model, str):
            params = (("fields", ",".join(fields)),) if fields else ()
            data = self.send(
                RequestSpec(method="GET", path=f"/sobjects/{model}/{record_id}", params=params)
            )
            return Record.from_dict(data)
        endpoints = self._endpoints(model)
        return endpoints.parse_record(self.send(endpoints.build_get(record_id, fields)))

    @overload
    def update(self, record: SObject, record_id: str | None = None) -> None: ...
    @overload
    def update(self, record: str, record_id: str, data: Mapping[str, Any]) -> None: ...
    def update(
        self,
        record: SObject | str,
        record_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """PATCH the set, updateable fields; the id comes from `record_id` or `record.Id`."""
        if isinstance(record, str):
            if record_id is None:
                raise UsageError("update(type, id, data) needs the record id")
            self.send(
                RequestSpec(
                    method="PATCH", path=f"/sobjects/{record}/{record_id}", json=dict(data or {})
                )
            )
            return
        rid = record_id
        if rid is None:
            current = getattr(record, "Id", None)
            rid = current if isinstance(current, str) else None
        if not rid:
            raise UsageError("update needs the record's Id (set record.Id or pass record_id)")
        self.send(self._endpoints(type(record)).build_update(rid, record))

    def delete(self, model: type[SObject] | str, record_id: str) -> None:
        name = misc.type_name(model)
        self.send(RequestSpec(method="DELETE", path=f"/sobjects/{name}/{record_id}"))

    def upsert(self, record: T, field: str, value: str | None = None) -> SaveResult:
        """Insert or update by external id; `created` says which happened (201 vs 200/204)."""
        if value is None:
            current = record[field]
            if not isinstance(current, str) or not current:
                raise UsageError(f"upsert needs a value for {field}")
            value = current
        endpoints = self._endpoints(type(record))
        spec = endpoints.build_upsert(field, value, record)
        status, body = self.exchange(spec)
        return SObjectEndpoints.parse_save(status, body)

    def get_by_external_id(
        self, model: type[T], field: str, value: str, fields: Sequence[str] | None = None
    ) -> T:
        endpoints = self._endpoints(model)
        return endpoints.parse_record(
            self.send(endpoints.build_get_by_external_id(field, value, fields))
        )

    def delete_by_external_id(self, model: type[SObject], field: str, value: str) -> None:
        self.send(self._endpoints(model).build_delete_by_external_id(field, value))

    # -- collections (200 per request, chunked) ----------------------------------------------

    def create_many(
        self, records: Sequence[SObject], *, all_or_none: bool = False
    ) -> list[coll.RecordResult]:
        """Insert in chunks of 200; per-record failures are values, never exceptions."""
        results: list[coll.RecordResult] = []
        for spec in coll.build_create_many(records, all_or_none=all_or_none):
            results += coll.parse_save_results(self.send(spec))
        return results

    def update_many(
        self, records: Sequence[SObject], *, all_or_none: bool = False
    ) -> list[coll.RecordResult]:
        results: list[coll.RecordResult] = []
        for spec in coll.build_update_many(records, all_or_none=all_or_none):
            results += coll.parse_save_results(self.send(spec))
        return results

    def upsert_many(
        self,
        model: type[T],
        external_id_field: str,
        records: Sequence[T],
        *,
        all_or_none: bool = False,
    ) -> list[coll.RecordResult]:
        results: list[coll.RecordResult] = []
        for spec in coll.build_upsert_many(
            model, external_id_field, records, all_or_none=all_or_none
        ):
            results += coll.parse_save_results(self.send(spec))
        return results

    def delete_many(
        self, ids: Sequence[str], *, all_or_none: bool = False
    ) -> list[coll.RecordResult]:
        results: list[coll.RecordResult] = []
        for spec in coll.build_delete_many(ids, all_or_none=all_or_none):
            results += coll.parse_save_results(self.send(spec))
        return results

    # -- query and search --------------------------------------------------------------------

    @overload
    def query(
        self,
        model: Select[Any, RowT],
        /,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
    ) -> Pager[RowT]: ...
    @overload
    def query(
        self,
        model: type[T],
        soql: str,
        params: Mapping[str, object] | None = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
    ) -> Query[T]: ...
    @overload
    def query(
        self,
        model: str,
        soql: Mapping[str, object] | None = None,
        params: None = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
    ) -> Query[SObject]: ...
    def query(
        self,
        model: type[T] | str | Select[Any, Any],
        soql: Any = None,
        params: Any = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
    ) -> Pager[Any]:
        """A lazy typed iterator; `:name` placeholders are bound from `params`, safely.

        `query(Account, "SELECT Id FROM Account WHERE Name = :n", {"n": name})` yields
        Account; `query("SELECT ...", params)` yields each row as its package model (or
        Record). The same arguments, in the same order, as `bulk1`, `bulk2` and `soap` take.
        """
        if isinstance(model, Select):
            return run_select(
                self.query, model, page_size=page_size, include_deleted=include_deleted
            )
        text, target = query_arguments(model, soql, params)
        spec = build_query(text, include_deleted=include_deleted, page_size=page_size)
        return Query(self, spec, target, page_size)

    def query_all(
        self,
        model: type[T],
        soql: str,
        params: Mapping[str, object] | None = None,
        *,
        page_size: int | None = None,
    ) -> Query[T]:
        """queryAll: deleted and archived rows too."""
        return self.query(model, soql, params, page_size=page_size, include_deleted=True)

    def expand_children(self, record: SObject) -> None:
        """Fetch the remaining pages of any child subquery that did not fit in the row."""
        decode = record_decoder(None, self.package)
        for child in type(record).__sf_children__:
            related = getattr(record, child.name, None)
            if not isinstance(related, RelatedList):
                continue
            url = child_pages_left(related)
            while url:
                page = parse_page(self.send(build_next_page(url)))
                related.records.extend(decode(row) for row in page.records)
                related.done = page.done
                url = page.next_records_url if not page.done else None
            related.nextRecordsUrl = UNSET

    def search(self, sosl: str, params: Mapping[str, object] | None = None) -> list[SObject]:
        """SOSL; each hit decoded as its type's model in this client's package."""
        text = bind(sosl, params)
        decode = record_decoder(None, self.package)
        return [decode(row) for row in misc.search_rows(self.send(misc.build_search(text)))]

    # -- composite ---------------------------------------------------------------------------

    def composite(self, request: CompositeRequest) -> CompositeResult:
        return request.parse(self.send(request.build(self.api_version)))

    def composite_batch(self, request: BatchRequest) -> list[BatchItem]:
        return request.parse(self.send(request.build(self.api_version)))

    def composite_graph(self, request: CompositeGraph) -> GraphResult:
        """Every graph of the request; a failed graph is rolled back alone."""
        return request.parse(self.send(request.build(self.api_version)))

    def create_tree(self, tree: SObjectTree) -> TreeResult:
        """Create the tree's records all-or-none; a failure raises its record's error."""
        return tree.parse(self.send(tree.build()))

    # -- describe, limits, misc --------------------------------------------------------------

    def describe(self, model: type[SObject] | str) -> DescribeSObjectResult:
        return misc.parse_describe(self.send(misc.build_describe(model)))

    def describe_global(self) -> DescribeGlobalResult:
        return misc.parse_describe_global(self.send(misc.build_describe_global()))

    def limits(self) -> dict[str, Any]:
        data: dict[str, Any] = self.send(misc.build_limits())
        return data

    def record_counts(self, *models_or_names: type[SObject] | str) -> dict[str, int]:
        """sObject name -> record count (Salesforce's cached snapshot); all objects if none
        are named. Names the org does not have are left out."""
        spec = listviews.build_record_counts(models_or_names)
        return listviews.parse_record_counts(self.send(spec))

    def recent(self, limit: int | None = None) -> list[SObject]:
        """The records the user viewed or referenced last, each decoded as its type's model."""
        decode = record_decoder(None, self.package)
        rows = self.send(listviews.build_recent(limit))
        return [decode(row) for row in rows or ()]

    def list_views(self, model: type[SObject] | str) -> list[listviews.ListView]:
        return listviews.parse_list_views(self.send(listviews.build_list_views(model)))

    def list_view_results(
        self,
        model: type[SObject] | str,
        view_id: str,
        *,
        limit: int | None = None,
        offset: int | None = None,
    ) -> listviews.ListViewResults:
        spec = listviews.build_list_view_results(model, view_id, limit=limit, offset=offset)
        return listviews.parse_list_view_results(self.send(spec))

    def versions(self) -> list[dict[str, str]]:
        data: list[dict[str, str]] = self.send(misc.build_versions())
        return data

    def resources(self) -> dict[str, str]:
        data: dict[str, str] = self.send(misc.build_resources())
        return data

    def get_updated(
        self, model: type[SObject] | str, start: dt.datetime, end: dt.datetime
    ) -> misc.UpdatedResult:
        return misc.parse_get_updated(self.send(misc.build_get_updated(model, start, end)))

    def get_deleted(
        self, model: type[SObject] | str, start: dt.datetime, end: dt.datetime
    ) -> misc.DeletedResult:
        return misc.parse_get_deleted(self.send(misc.build_get_deleted(model, start, end)))

    def apex(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """Call an Apex REST endpoint (`/services/apexrest/<path>`) with any verb."""
        return self.send(misc.build_apex(method, path, json=json, params=params))


__all__ = ["Query", "Salesforce", "OutcomeUnknownError", "RequestNotSentError"]
