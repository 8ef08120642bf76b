# DO NOT EDIT: generated from salesforce_typed/soap/_async/client.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/soap/_async/client.py`: its docstring there says what must stay true."""

from __future__ import annotations

import datetime as dt
import os
import ssl
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import urlsplit

import httpx

import salesforce_typed_soap as wsdl
from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import AccessTokenAuth
from salesforce_typed.core._sync.pagination import Pager
from salesforce_typed.core._sync.send import Sender
from salesforce_typed.core.base_client import DEFAULT_API_VERSION
from salesforce_typed.core.clock import Clock
from salesforce_typed.core.connection import Connection
from salesforce_typed.core.describe import DescribeGlobalResult, DescribeSObjectResult
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.face import SenderFace
from salesforce_typed.core.models import SObject
from salesforce_typed.core.pagination import Page
from salesforce_typed.core.retry import DEFAULT_TIMEOUT, RetryPolicy
from salesforce_typed.query._sync.rows import run_select
from salesforce_typed.query.builder import Select
from salesforce_typed.rest.soql import bind, query_arguments
from salesforce_typed.soap import calls
from salesforce_typed.soap.envelope import DEFAULT_LOGIN_VERSION, SoapCall, server_url
from salesforce_typed.soap.models import LeadConvert, LoginResult, MergeRequest
from salesforce_typed.soap.records import decode_records, encode_sobject
from salesforce_typed.soap.session import soap_exchange

if TYPE_CHECKING:
    from salesforce_typed.rest._sync.client import Salesforce

__all__ = ["SoapClient", "SoapQuery"]

T = TypeVar("T", bound=SObject)
RowT = TypeVar("RowT")
R = TypeVar("R")
STANDARD_PACKAGE = "salesforce_typed_std"
LOGIN_URL = "https://login.salesforce.com"


def _chunks(items: Sequence[Any], size: int = calls.MAX_RECORDS) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _type_name(model: type[SObject] | str) -> str:
    name = model if isinstance(model, str) else model.sobject_type()
    if not name:
        raise UsageError(f"{model!r} names no sObject type")
    return name


class SoapQuery(Pager[T]):
    """A lazy SOQL result over query/queryAll then queryMore: one page held at a time."""

    def __init__(
        self,
        client: SoapClient,
        call: SoapCall[wsdl.QueryResult],
        model: type[T] | None,
        page_size: int | None,
    ) -> None:
        self._client = client
        self._call = call
        self._model = model
        self._page_size = page_size
        self.total_size: int | None = None

    def pages(self) -> Iterator[Page[T]]:
        call: SoapCall[wsdl.QueryResult] | None = self._call
        while call is not None:
            page = self._client.decode_page(self._client.call(call), self._model)
            self.total_size = page.total_size
            yield page
            call = None
            if not page.done and page.locator:
                call = calls.build_query_more(page.locator, batch_size=self._page_size)


class SoapClient(SenderFace):
    """Salesforce's partner SOAP API, typed. Build it with `from_client` (or `sf.soap`) or
    `login`."""

    sender: Sender

    def __init__(
        self,
        *,
        sender: Sender,
        api_version: str = DEFAULT_API_VERSION,
        package: str = STANDARD_PACKAGE,
        endpoint: str | None = None,
        owns_sender: bool = False,
        login_result: LoginResult | None = None,
    ) -> None:
        self.sender = sender
        self.api_version = api_version.removeprefix("v")
        self.package = package
        self.endpoint = endpoint
        self.login_result = login_result
        self._owns_sender = owns_sender

    @classmethod
    def from_client(cls, sf: Salesforce, *, api_version: str | None = None) -> SoapClient:
        """SOAP beside an existing REST client: same session, HTTP pool, retries and models."""
        return cls(
            sender=sf.sender,  # shared; the REST client owns and closes it
            api_version=api_version or sf.api_version,
            package=sf.package,
        )

    @classmethod
    def login(
        cls,
        username: str,
        password: str,
        *,
        security_token: str = "",
        login_url: str = LOGIN_URL,
        api_version: str = DEFAULT_LOGIN_VERSION,
        package: str = STANDARD_PACKAGE,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        clock: Clock | None = None,
        http_client: httpx.Client | None = None,
    ) -> SoapClient:
        """Log in with SOAP `login()` (password + security token) and return a client on the
        session. Removed by Salesforce from API 65.0 (64.0 is the default here) and retired
        for all versions in Summer '27: prefer `from_client` with an OAuth grant.
        A wrong password raises `InvalidLoginError`; 65.0+ raises `InvalidOperationError`."""
        sender = Sender(
            connection=Connection(auth=httpx.Auth(), instance_url=login_url.rstrip("/")),
            http=http_client,
            retry=retry,
            clock=clock,
            timeout=timeout,
            verify=verify,
        )
        client = cls(
            sender=sender,
            api_version=api_version,
            package=package,
            endpoint=server_url(login_url, api_version),
            owns_sender=True,
        )
        try:
            raw = client.call(calls.build_login(username, password + security_token))
        except BaseException:
            client.close()
            raise
        result = LoginResult.from_wsdl(raw)
        parts = urlsplit(result.server_url)
        instance = f"{parts.scheme}://{parts.netloc}"
        token = AccessTokenAuth(access_token=result.session_id, instance_url=instance)
        sender.connection = Connection(auth=SalesforceAuth(token), instance_url=instance)
        client.endpoint = result.server_url
        client.login_result = result
        return client

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> SoapClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_sender:
            self.sender.close()

    def __repr__(self) -> str:
        where = self.endpoint or self.connection.instance_url
        return f"{type(self).__name__}(endpoint={where!r}, api_version={self.api_version!r})"

    # -- sending: the shared send loop, with the session in the envelope ---------------------

    def url(self) -> str:
        """Where calls go: the login's serverUrl, else the instance's partner endpoint."""
        if self.endpoint is not None:
            return self.endpoint
        return server_url(self.sender.instance_url(), self.api_version)

    def call(self, call: SoapCall[R], *, retry: RetryPolicy | None = None) -> R:
        """Send one partner call with retries; returns its typed result or raises its fault.

        Transport failures and non-SOAP 5xx answers go through the policy (idempotent calls
        only when the outcome is unknown); a fault is Salesforce's verdict and is re-sent
        only for the policy's retryable errorCodes (UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE).
        An `INVALID_SESSION_ID` fault is answered by one refresh and one replay.
        """
        response = self.sender.send(soap_exchange(self.url(), call), retry=retry)
        return call.parse(response.status_code, response.content, url=response.request.url.path)

    # -- session -----------------------------------------------------------------------------

    def logout(self) -> None:
        """End the session on Salesforce's side (a REST client sharing it stops working too)."""
        self.call(calls.build_logout())

    def get_user_info(self) -> wsdl.GetUserInfoResult:
        return self.call(calls.build_get_user_info())

    def get_server_timestamp(self) -> dt.datetime:
        """Salesforce's clock (UTC): for replication windows that must not trust ours."""
        return self.call(calls.build_get_server_timestamp())

    # -- DML (chunked by 200; per-record failures are values) --------------------------------

    def create(
        self, records: Sequence[SObject], *, all_or_none: bool = False
    ) -> list[wsdl.SaveResult]:
        results: list[wsdl.SaveResult] = []
        for chunk in _chunks(records):
            encoded = [encode_sobject(r, "create", id_field=False) for r in chunk]
            batch = self.call(calls.build_create(encoded, all_or_none=all_or_none))
            results += batch
        return results

    def update(
        self, records: Sequence[SObject], *, all_or_none: bool = False
    ) -> list[wsdl.SaveResult]:
        """Set, updateable fields by `Id`; a field set to None is cleared (`fieldsToNull`)."""
        results: list[wsdl.SaveResult] = []
        for chunk in _chunks(records):
            encoded = [encode_sobject(r, "update") for r in chunk]
            batch = self.call(calls.build_update(encoded, all_or_none=all_or_none))
            results += batch
        return results

    def upsert(
        self, external_id_field: str, records: Sequence[SObject], *, all_or_none: bool = False
    ) -> list[wsdl.UpsertResult]:
        """Insert or update by `external_id_field` (or `Id`); `created` says which."""
        results: list[wsdl.UpsertResult] = []
        for chunk in _chunks(records):
            encoded = [encode_sobject(r, "upsert", extra=(external_id_field,)) for r in chunk]
            call = calls.build_upsert(external_id_field, encoded, all_or_none=all_or_none)
            batch = self.call(call)
            results += batch
        return results

    def delete(
        self, ids: Sequence[str], *, all_or_none: bool = False
    ) -> list[wsdl.DeleteResult]:
        """Move records to the recycle bin (see `undelete`, `empty_recycle_bin`)."""
        results: list[wsdl.DeleteResult] = []
        for chunk in _chunks(ids):
            batch = self.call(calls.build_delete(chunk, all_or_none=all_or_none))
            results += batch
        return results

    def undelete(
        self, ids: Sequence[str], *, all_or_none: bool = False
    ) -> list[wsdl.UndeleteResult]:
        results: list[wsdl.UndeleteResult] = []
        for chunk in _chunks(ids):
            batch = self.call(calls.build_undelete(chunk, all_or_none=all_or_none))
            results += batch
        return results

    def empty_recycle_bin(self, ids: Sequence[str]) -> list[wsdl.EmptyRecycleBinResult]:
        """Delete recycled records for good: they can no longer be undeleted."""
        results: list[wsdl.EmptyRecycleBinResult] = []
        for chunk in _chunks(ids):
            batch = self.call(calls.build_empty_recycle_bin(chunk))
            results += batch
        return results

    def convert_lead(self, converts: Sequence[LeadConvert]) -> list[wsdl.LeadConvertResult]:
        """Convert leads (many per call) into Account, Contact and maybe Opportunity."""
        results: list[wsdl.LeadConvertResult] = []
        for chunk in _chunks(converts):
            batch = self.call(calls.build_convert_lead(chunk))
            results += batch
        return results

    def merge(self, requests: Sequence[MergeRequest]) -> list[wsdl.MergeResult]:
        """Merge up to two records into each master; children move to the master."""
        results: list[wsdl.MergeResult] = []
        for chunk in _chunks(requests, calls.MAX_MERGE_REQUESTS):
            batch = self.call(calls.build_merge(chunk))
            results += batch
        return results

    # -- reads -------------------------------------------------------------------------------

    @overload
    def retrieve(
        self, model: type[T], ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[T | None]: ...
    @overload
    def retrieve(
        self, model: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[SObject | None]: ...
    def retrieve(
        self, model: type[T] | str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Any]:
        """Records by id (None where an id matches nothing); all model fields by default."""
        if isinstance(model, str):
            target, name = None, model
            if not fields:
                raise UsageError("retrieve by type name needs fields=")
        else:
            target, name = model, model.sobject_type()
            compound = ("address", "location")  # their components are fields of their own
            fields = fields or [f.name for f in model.__sf_fields__ if f.type not in compound]
        out: list[Any] = []
        for chunk in _chunks(ids, 2000):
            raw = self.call(calls.build_retrieve(name, list(fields), chunk))
            out += decode_records(raw, target, self.package)
        return out

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
    ) -> SoapQuery[T]: ...
    @overload
    def query(
        self,
        model: str,
        soql: Mapping[str, object] | None = None,
        params: None = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
    ) -> SoapQuery[SObject]: ...
    def query(
        self,
        model: type[T] | str | Select[Any, Any],
        soql: Any = None,
        params: Any = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
    ) -> Pager[Any]:
        """`query(Account, soql, params)` yields Account; `query(soql, params)` each row as
        its model. The same arguments, in the same order, as REST and Bulk take.

        `page_size` (200..2000) goes in the QueryOptions header; Salesforce may send fewer.
        """
        if isinstance(model, Select):
            return run_select(
                self.query, model, page_size=page_size, include_deleted=include_deleted
            )
        text, target = query_arguments(model, soql, params)
        call = calls.build_query(text, include_deleted=include_deleted, batch_size=page_size)
        return SoapQuery(self, call, target, page_size)

    def query_all(
        self,
        model: type[T],
        soql: str,
        params: Mapping[str, object] | None = None,
        *,
        page_size: int | None = None,
    ) -> SoapQuery[T]:
        """queryAll: deleted (recycle bin) and archived rows too."""
        return self.query(model, soql, params, page_size=page_size, include_deleted=True)

    def query_more(
        self, locator: str, model: type[T] | None = None, *, page_size: int | None = None
    ) -> Page[Any]:
        """One further page of a cursor, for callers that page by hand."""
        raw = self.call(calls.build_query_more(locator, batch_size=page_size))
        return self.decode_page(raw, model)

    def search(self, sosl: str, params: Mapping[str, object] | None = None) -> list[SObject]:
        """SOSL (`params` bound as REST's `search` binds them); each hit as its type's model."""
        hits = self.call(calls.build_search(bind(sosl, params)))
        return decode_records(hits, None, self.package)

    # -- describes: the same typed results as the REST client's ------------------------------

    def describe_global(self) -> DescribeGlobalResult:
        return self.call(calls.build_describe_global())

    def describe_sobject(self, model: type[SObject] | str) -> DescribeSObjectResult:
        return self.call(calls.build_describe_sobject(_type_name(model)))

    def describe_sobjects(
        self, models: Sequence[type[SObject] | str]
    ) -> list[DescribeSObjectResult]:
        """Many describes, 100 types per call, in the order asked."""
        out: list[DescribeSObjectResult] = []
        for chunk in _chunks([_type_name(m) for m in models], calls.MAX_DESCRIBES):
            batch = self.call(calls.build_describe_sobjects(chunk))
            out += batch
        return out

    def decode_page(self, result: wsdl.QueryResult, model: type[T] | None) -> Page[T]:
        return Page(
            done=result.done,
            locator=result.query_locator if not result.done else None,
            total_size=result.size,
            records=decode_records(result.records, model, self.package),
        )
