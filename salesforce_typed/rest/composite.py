"""Composite (`/composite`) and composite batch (`/composite/batch`): typed builders, parsers.

A `CompositeRequest` collects up to 25 subrequests in one API call; each returns a `Ref`
whose `.id` is the plain string `"@{ref.id}"`, so it fits any id-typed model field
(`Contact(AccountId=acc.id)`) and type-checks under mypy --strict without a Ref-aware
model. Salesforce substitutes the value server-side.

What must stay true:
- limits are checked while building (25 subrequests, 5 of them query or collections), and
  a reference is used only after the subrequest that defines it: both would otherwise be a
  whole-request 400 at send time;
- subrequest URLs are absolute (`/services/data/vXX.X/...`) for composite and
  version-relative (`vXX.X/...`) for batch, which is why `build()` takes the API version;
- reference tokens (`@{acc.id}`) stay literal in URLs: percent-encoding them would stop
  Salesforce from resolving them;
- parsing keeps every subresponse, failures included, as values; `created_id()` and
  `record()` raise the mapped `APIStatusError` only when asked for a result that failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final, Generic, Literal, NamedTuple, TypeVar, overload
from urllib.parse import quote, quote_plus

import attrs

from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import APIStatusError, UsageError, error_from_response
from salesforce_typed.core.models import Record, SObject
from salesforce_typed.core.unset import UNSET
from salesforce_typed.rest.collections import record_payload, sobject_type_of

__all__ = [
    "MAX_QUERIES",
    "MAX_SUBREQUESTS",
    "ROLLBACK_MARKERS",
    "BatchItem",
    "BatchRequest",
    "CompositeRequest",
    "CompositeResult",
    "Ref",
    "SubResponse",
    "parse_batch",
    "parse_composite",
]

MAX_SUBREQUESTS: Final = 25
MAX_QUERIES: Final = 5  # query/queryAll and sObject Collections subrequests (v43+)

# errorCodes an item gets because *another* item failed: the real failure is elsewhere.
ROLLBACK_MARKERS: Final = frozenset(
    {"PROCESSING_HALTED", "BATCH_PROCESSING_HALTED", "ALL_OR_NONE_OPERATION_ROLLED_BACK"}
)
# Salesforce answers a whole-request 400 when a subrequest sets one of these.
_FORBIDDEN_HEADERS: Final = frozenset({"accept", "authorization", "content-type"})

T = TypeVar("T", bound=SObject)

Kind = Literal["create", "update", "upsert", "delete", "get", "query", "raw"]

_REF_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_REF_PATH: Final = re.compile(r"[A-Za-z0-9_]+(?:\[\d+\])*(?:\.[A-Za-z0-9_]+(?:\[\d+\])*)*\Z")
_REF_TOKEN: Final = re.compile(r"@\{[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+|\[\d+\])+\}")
_REF_SPLIT: Final = re.compile(f"({_REF_TOKEN.pattern})")
_REF_USE: Final = re.compile(r"@\{([A-Za-z][A-Za-z0-9_]*)[.\[]")
_LIMITED_PATHS: Final = ("/query", "/queryAll", "/composite/sobjects")
_VERSION: Final = re.compile(r"v?(\d+\.\d+)\Z")


@attrs.frozen(slots=True)
class Ref(Generic[T]):
    """A subrequest's `referenceId`; renders `@{...}` expressions for later subrequests.

    `model` is what `CompositeResult.record()`/`records()` decode the answer into.
    """

    reference_id: str
    model: type[T] = attrs.field(eq=False, repr=False)
    kind: Kind = attrs.field(default="raw", eq=False)

    @property
    def id(self) -> str:
        """`@{ref.id}`: the id a create or upsert answered, usable as any id field value."""
        return f"@{{{self.reference_id}.id}}"

    def field(self, path: str) -> str:
        """`@{ref.<path>}` for a field of the answer: `field("Name")`, `field("a[0].b")`."""
        if not _REF_PATH.match(path):
            raise UsageError(f"not a reference path: {path!r}")
        return f"@{{{self.reference_id}.{path}}}"

    def records(self, index: int, field: str) -> str:
        """`@{ref.records[i].Field}`: a field of one row of a query answer."""
        if index < 0:
            raise UsageError(f"record index must be >= 0, got {index}")
        return self.field(f"records[{index}].{field}")


def _api_prefix(api_version: str) -> str:
    match = _VERSION.match(api_version)
    if match is None:
        raise UsageError(f"not an API version: {api_version!r} (expected like '62.0')")
    return f"v{match.group(1)}"


def _id_seg(value: str) -> str:
    """A record id or external id value as one path segment; a whole reference stays raw."""
    if _REF_TOKEN.fullmatch(value):
        return value
    return quote(value, safe="")


def _query_url(soql: str, include_deleted: bool) -> str:
    # Everything is form-encoded except reference tokens (odd items of the split), which
    # Salesforce must see as is.
    parts = _REF_SPLIT.split(soql)
    q = "".join(p if i % 2 else quote_plus(p, safe="") for i, p in enumerate(parts))
    return f"/{'queryAll' if include_deleted else 'query'}?q={q}"


def _type_path(model_or_type: type[SObject] | str) -> str:
    return f"/sobjects/{quote(sobject_type_of(model_or_type), safe='')}"


def _target(id_or_ref: str | Ref[Any]) -> str:
    return _id_seg(id_or_ref.id if isinstance(id_or_ref, Ref) else id_or_ref)


def _own_id(record: SObject) -> str:
    try:
        value = record["Id"]
    except KeyError:
        value = UNSET
    if not isinstance(value, str) or not value:
        raise UsageError("update needs an id: pass id_or_ref or set the record's Id")
    return value


@attrs.frozen(slots=True)
class _Op:
    """What one verb asks for, before it gets a referenceId; `path` is version-relative."""

    kind: Kind
    model: type[SObject]
    label: str  # names auto-generated referenceIds
    method: str
    path: str
    body: Any = None
    headers: Mapping[str, str] | None = None


def _create_op(record: SObject) -> _Op:
    t = sobject_type_of(record)
    return _Op("create", type(record), t, "POST", _type_path(t), record_payload(record, "create"))


def _update_op(record: SObject, id_or_ref: str | Ref[Any] | None) -> _Op:
    t = sobject_type_of(record)
    path = f"{_type_path(t)}/{_target(_own_id(record) if id_or_ref is None else id_or_ref)}"
    return _Op("update", type(record), t, "PATCH", path, record_payload(record, "update"))


def _upsert_op(record: SObject, field: str, value: str) -> _Op:
    t = sobject_type_of(record)
    body = record_payload(record, "create")
    body.pop(field, None)  # the value travels in the URL
    path = f"{_type_path(t)}/{quote(field, safe='')}/{_id_seg(value)}"
    return _Op("upsert", type(record), t, "PATCH", path, body)


def _delete_op(model_or_type: type[SObject] | str, id_or_ref: str | Ref[Any]) -> _Op:
    t = sobject_type_of(model_or_type)
    return _Op("delete", SObject, t, "DELETE", f"{_type_path(t)}/{_target(id_or_ref)}")


def _get_op(model: type[SObject], id_or_ref: str | Ref[Any], fields: Sequence[str] | None) -> _Op:
    t = sobject_type_of(model)
    path = f"{_type_path(t)}/{_target(id_or_ref)}"
    if fields:
        path += "?fields=" + quote(",".join(fields), safe=",")
    return _Op("get", model, t, "GET", path)


def _query_op(soql: str, model: type[SObject] | None, include_deleted: bool) -> _Op:
    return _Op("query", model or Record, "query", "GET", _query_url(soql, include_deleted))


def _raw_op(method: str, url: str, body: Any, headers: Mapping[str, str] | None) -> _Op:
    if not url.startswith("/"):
        raise UsageError(f"raw url must start with '/': {url!r}")
    if headers and _FORBIDDEN_HEADERS & {h.lower() for h in headers}:
        raise UsageError("subrequests may not set Accept, Authorization or Content-Type")
    return _Op("raw", Record, "raw", method.upper(), url, body, headers)


@attrs.frozen(kw_only=True, slots=True)
class _Sub:
    """One subrequest; `path` is relative to the versioned prefix (or absolute)."""

    method: str
    path: str
    body: Any = None
    headers: Mapping[str, str] | None = None
    ref: Ref[Any]

    @property
    def limited(self) -> bool:
        path = self.path.split("?", 1)[0]
        if path.startswith("/services/data/"):
            path = "/" + path.split("/", 4)[-1]
        return any(path == p or path.startswith(p + "/") for p in _LIMITED_PATHS)


class _Builder:
    """What composite and batch share: the subrequest list and its limits."""

    max_subrequests: int = MAX_SUBREQUESTS
    max_limited: int | None = MAX_QUERIES  # query/collections subrequests; None: no cap

    def __init__(self) -> None:
        self._subs: list[_Sub] = []

    def __len__(self) -> int:
        return len(self._subs)

    def _add(self, sub: _Sub) -> None:
        raise NotImplementedError

    def _make_ref(self, ref: str | None, op: _Op) -> Ref[Any]:
        raise NotImplementedError

    def _push(self, op: _Op, ref: str | None = None) -> Ref[Any]:
        if len(self._subs) >= self.max_subrequests:
            raise UsageError(f"at most {self.max_subrequests} subrequests per request")
        made = self._make_ref(ref, op)
        sub = _Sub(method=op.method, path=op.path, body=op.body, headers=op.headers, ref=made)
        cap = self.max_limited
        if cap is not None and sub.limited and sum(s.limited for s in self._subs) >= cap:
            raise UsageError(f"at most {cap} query or collections subrequests")
        self._add(sub)
        return made


class CompositeRequest(_Builder):
    """`POST /composite`: up to 25 dependent subrequests in one API call.

    `all_or_none` rolls everything back when one item fails (the others then answer 400
    PROCESSING_HALTED); `collate` lets Salesforce run independent items in its own order.
    """

    def __init__(self, all_or_none: bool = False, collate: bool = False) -> None:
        super().__init__()
        self.all_or_none = all_or_none
        self.collate = collate
        self._names: set[str] = set()

    def _make_ref(self, ref: str | None, op: _Op) -> Ref[Any]:
        if ref is None:
            n = len(self._subs)
            while f"{op.label}_{n}" in self._names:
                n += 1
            ref = f"{op.label}_{n}"
        elif not _REF_NAME.match(ref):
            raise UsageError(f"referenceId must be a letter then letters, digits, _: {ref!r}")
        elif ref in self._names:
            raise UsageError(f"referenceId {ref!r} is already used in this request")
        return Ref(ref, op.model, op.kind)

    def _add(self, sub: _Sub) -> None:
        self._names.add(sub.ref.reference_id)
        self._subs.append(sub)

    def create(self, record: T, ref: str | None = None) -> Ref[T]:
        """POST `/sobjects/{Type}` with the record's createable fields."""
        return self._push(_create_op(record), ref)

    def update(
        self, record: T, id_or_ref: str | Ref[Any] | None = None, *, ref: str | None = None
    ) -> Ref[T]:
        """PATCH `/sobjects/{Type}/{id}`; the id defaults to the record's own `Id`."""
        return self._push(_update_op(record, id_or_ref), ref)

    def upsert(self, record: T, field: str, value: str, *, ref: str | None = None) -> Ref[T]:
        """PATCH `/sobjects/{Type}/{field}/{value}`: 201 created, 200 updated."""
        return self._push(_upsert_op(record, field, value), ref)

    def delete(
        self,
        model_or_type: type[SObject] | str,
        id_or_ref: str | Ref[Any],
        *,
        ref: str | None = None,
    ) -> Ref[SObject]:
        """DELETE `/sobjects/{Type}/{id}`."""
        return self._push(_delete_op(model_or_type, id_or_ref), ref)

    def get(
        self,
        model: type[T],
        id_or_ref: str | Ref[Any],
        fields: Sequence[str] | None = None,
        *,
        ref: str | None = None,
    ) -> Ref[T]:
        """GET `/sobjects/{Type}/{id}[?fields=]`; `CompositeResult.record()` decodes it."""
        return self._push(_get_op(model, id_or_ref, fields), ref)

    @overload
    def query(
        self, soql: str, model: None = None, *, ref: str | None = ..., include_deleted: bool = ...
    ) -> Ref[Record]: ...
    @overload
    def query(
        self, soql: str, model: type[T], *, ref: str | None = ..., include_deleted: bool = ...
    ) -> Ref[T]: ...
    def query(
        self,
        soql: str,
        model: type[SObject] | None = None,
        *,
        ref: str | None = None,
        include_deleted: bool = False,
    ) -> Ref[Any]:
        """GET `/query?q=` (first page only); rows decode into `model` via `records()`."""
        return self._push(_query_op(soql, model, include_deleted), ref)

    def raw(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        ref: str | None = None,
    ) -> Ref[Record]:
        """Any subrequest; `url` is `/services/data/vXX.X/...` or relative to it (`/limits`)."""
        return self._push(_raw_op(method, url, body, headers), ref)

    def build(self, api_version: str) -> RequestSpec:
        """The POST `/composite` request; every subrequest url made absolute."""
        return RequestSpec(
            method="POST",
            path="/composite",
            json={
                "allOrNone": self.all_or_none,
                "collateSubrequests": self.collate,
                "compositeRequest": self.items(api_version),
            },
            # Any POST inside may create records: replaying the whole call could duplicate.
            idempotent=self.idempotent,
        )

    @property
    def idempotent(self) -> bool:
        return all(s.method != "POST" for s in self._subs)

    def items(self, api_version: str) -> list[dict[str, Any]]:
        """The `compositeRequest` array: absolute urls, references checked in order."""
        if not self._subs:
            raise UsageError("a composite request needs at least one subrequest")
        prefix = f"/services/data/{_api_prefix(api_version)}"
        defined: set[str] = set()
        items: list[dict[str, Any]] = []
        for sub in self._subs:
            _check_refs(sub, defined)
            defined.add(sub.ref.reference_id)
            url = sub.path if sub.path.startswith("/services/") else prefix + sub.path
            item: dict[str, Any] = {
                "method": sub.method,
                "url": url,
                "referenceId": sub.ref.reference_id,
            }
            if sub.body is not None:
                item["body"] = sub.body
            if sub.headers:
                item["httpHeaders"] = dict(sub.headers)
            items.append(item)
        return items

    def parse(self, data: Any) -> CompositeResult:
        """The top-level 200 answer; subrequest method and url are attached for errors."""
        sent = {s.ref.reference_id: s for s in self._subs}
        result = parse_composite(data)
        responses = []
        for r in result.responses:
            sub = sent.get(r.reference_id)
            if sub is not None:
                r = attrs.evolve(r, method=sub.method, url=sub.path.split("?", 1)[0])
            responses.append(r)
        return CompositeResult(tuple(responses))


def _check_refs(sub: _Sub, defined: set[str]) -> None:
    text = sub.path + json.dumps(sub.body, default=str)
    for name in _REF_USE.findall(text):
        if name not in defined:
            raise UsageError(
                f"subrequest {sub.ref.reference_id!r} uses @{{{name}...}}, but no earlier "
                "subrequest has that referenceId"
            )


@attrs.frozen(kw_only=True, slots=True)
class SubResponse:
    """One item of `compositeResponse`; `body` is a record, a save result or an error list."""

    status_code: int
    body: Any
    headers: Mapping[str, str] = attrs.field(factory=dict)
    reference_id: str
    method: str = ""
    url: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def error(self) -> APIStatusError | None:
        """The exception this failure maps to (not raised), or None on success."""
        if self.ok:
            return None
        return error_from_response(self.status_code, self.body, method=self.method, url=self.url)

    @property
    def is_rollback_marker(self) -> bool:
        """Failed only because another item did (PROCESSING_HALTED and kin)."""
        err = self.error()
        return err is not None and err.error_code in ROLLBACK_MARKERS

    def raise_for_status(self) -> None:
        err = self.error()
        if err is not None:
            raise err


@attrs.frozen(slots=True)
class CompositeResult:
    """Every subresponse, in answer order, addressable by `Ref` or referenceId."""

    responses: tuple[SubResponse, ...]
    _by_ref: dict[str, SubResponse] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_ref", {r.reference_id: r for r in self.responses})

    def __getitem__(self, ref: Ref[Any] | str) -> SubResponse:
        key = ref.reference_id if isinstance(ref, Ref) else ref
        try:
            return self._by_ref[key]
        except KeyError:
            raise KeyError(f"no subresponse with referenceId {key!r}") from None

    def __iter__(self) -> Iterator[SubResponse]:
        return iter(self.responses)

    def __len__(self) -> int:
        return len(self.responses)

    @property
    def ok(self) -> bool:
        """Every subrequest answered 2xx."""
        return all(r.ok for r in self.responses)

    def errors(self, *, include_rollback: bool = True) -> dict[str, APIStatusError]:
        """referenceId -> mapped error, in answer order; without rollback markers if asked,
        which leaves the failures that caused the rollback."""
        out: dict[str, APIStatusError] = {}
        for r in self.responses:
            err = r.error()
            if err is not None and (include_rollback or err.error_code not in ROLLBACK_MARKERS):
                out[r.reference_id] = err
        return out

    def created_id(self, ref: Ref[Any] | str) -> str:
        """The id a create (201) or upsert answered; raises the item's error if it failed."""
        sub = self[ref]
        sub.raise_for_status()
        body = sub.body
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            raise UsageError(f"subresponse {sub.reference_id!r} carries no id")
        return str(body["id"])

    def record(self, ref: Ref[T]) -> T:
        """A GET subresponse decoded into the ref's model."""
        if ref.kind not in ("get", "raw"):
            raise UsageError(f"{ref.reference_id!r} is a {ref.kind}, not a record read")
        sub = self[ref]
        sub.raise_for_status()
        if not isinstance(sub.body, dict):
            raise UsageError(f"subresponse {sub.reference_id!r} is not a record")
        return ref.model.from_dict(sub.body)

    def records(self, ref: Ref[T]) -> list[T]:
        """A query subresponse's rows (first page) decoded into the ref's model."""
        sub = self[ref]
        sub.raise_for_status()
        body = sub.body
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise UsageError(f"subresponse {sub.reference_id!r} is not a query result")
        return [ref.model.from_dict(row) for row in body["records"]]


def parse_composite(data: Any) -> CompositeResult:
    """`{"compositeResponse": [...]}` without the request at hand (no method/url on errors)."""
    items = data.get("compositeResponse") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise UsageError("not a composite response: no compositeResponse array of objects")
    responses = []
    for item in items:
        headers = item.get("httpHeaders")
        responses.append(
            SubResponse(
                status_code=int(item["httpStatusCode"]),
                body=item.get("body"),
                headers=dict(headers) if isinstance(headers, Mapping) else {},
                reference_id=str(item.get("referenceId") or ""),
            )
        )
    return CompositeResult(tuple(responses))


# -- composite batch ----------------------------------------------------------------------


class BatchItem(NamedTuple):
    """One `results` entry of a batch answer: `(status_code, result)`."""

    status_code: int
    result: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def error(self) -> APIStatusError | None:
        """The mapped exception for a failed item (not raised), or None."""
        return None if self.ok else error_from_response(self.status_code, self.result)


class BatchRequest(_Builder):
    """`POST /composite/batch`: up to 25 independent subrequests, no references, no rollback.

    Each item counts as one API call. With `halt_on_error`, items after the first failure
    answer 412 BATCH_PROCESSING_HALTED. Methods return the item's index in the answer.
    """

    def __init__(self, halt_on_error: bool = False) -> None:
        super().__init__()
        self.halt_on_error = halt_on_error

    def _make_ref(self, ref: str | None, op: _Op) -> Ref[Any]:
        return Ref(f"item{len(self._subs)}", op.model, op.kind)

    def _add(self, sub: _Sub) -> None:
        if _REF_USE.search(sub.path) or _REF_USE.search(json.dumps(sub.body, default=str)):
            raise UsageError("composite batch has no references: use CompositeRequest")
        self._subs.append(sub)

    def _index(self, op: _Op) -> int:
        self._push(op)
        return len(self._subs) - 1

    def create(self, record: SObject) -> int:
        return self._index(_create_op(record))

    def update(self, record: SObject, record_id: str | None = None) -> int:
        return self._index(_update_op(record, record_id))

    def upsert(self, record: SObject, field: str, value: str) -> int:
        return self._index(_upsert_op(record, field, value))

    def delete(self, model_or_type: type[SObject] | str, record_id: str) -> int:
        return self._index(_delete_op(model_or_type, record_id))

    def get(self, model: type[SObject], record_id: str, fields: Sequence[str] | None = None) -> int:
        return self._index(_get_op(model, record_id, fields))

    def query(self, soql: str, *, include_deleted: bool = False) -> int:
        return self._index(_query_op(soql, None, include_deleted))

    def raw(self, method: str, url: str, body: Any = None) -> int:
        """`url` is `/services/data/vXX.X/...` or relative to the versioned prefix."""
        return self._index(_raw_op(method, url, body, None))

    def build(self, api_version: str) -> RequestSpec:
        """The POST `/composite/batch` request; item urls relative to `/services/data/`."""
        if not self._subs:
            raise UsageError("a batch request needs at least one subrequest")
        version = _api_prefix(api_version)
        items: list[dict[str, Any]] = []
        for sub in self._subs:
            absolute = sub.path.startswith("/services/data/")
            url = sub.path.removeprefix("/services/data/") if absolute else version + sub.path
            item: dict[str, Any] = {"method": sub.method, "url": url}
            if sub.body is not None:
                item["richInput"] = sub.body
            items.append(item)
        return RequestSpec(
            method="POST",
            path="/composite/batch",
            json={"haltOnError": self.halt_on_error, "batchRequests": items},
            idempotent=all(s.method != "POST" for s in self._subs),
        )

    def parse(self, data: Any) -> list[BatchItem]:
        return parse_batch(data)


def parse_batch(data: Any) -> list[BatchItem]:
    """`{"hasErrors": bool, "results": [{"statusCode", "result"}]}`, in request order."""
    items = data.get("results") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise UsageError("not a composite batch response: no results array of objects")
    return [BatchItem(int(i["statusCode"]), i.get("result")) for i in items]
