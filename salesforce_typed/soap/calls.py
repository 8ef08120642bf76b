"""One pure `build_<call>` per partner operation: the request element, headers, result type.

Each returns a `SoapCall[T]` whose `parse` yields T, so the clients only send. The DML calls
take at most 200 records (Salesforce's cap per call); the clients chunk before building.
Idempotency follows the wire reference: reads, deletes, updates by id and upserts by key may
be re-sent after an unknown outcome; create, convertLead and merge may not (a second send
could create or merge twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import salesforce_typed_soap as wsdl
from salesforce_typed.core.describe import DescribeGlobalResult, DescribeSObjectResult
from salesforce_typed.core.errors import UsageError
from salesforce_typed.soap.envelope import SoapCall
from salesforce_typed.soap.json_shape import to_json
from salesforce_typed.soap.models import LeadConvert, MergeRequest

__all__ = [
    "MAX_RECORDS",
    "build_convert_lead",
    "build_create",
    "build_delete",
    "build_describe_global",
    "build_describe_sobject",
    "build_describe_sobjects",
    "build_empty_recycle_bin",
    "build_get_server_timestamp",
    "build_get_user_info",
    "build_login",
    "build_logout",
    "build_merge",
    "build_query",
    "build_query_more",
    "build_retrieve",
    "build_search",
    "build_undelete",
    "build_update",
    "build_upsert",
]

MAX_RECORDS = 200  # records, ids or lead converts per DML call
MAX_MERGE_REQUESTS = 200
MAX_DESCRIBES = 100  # sObject types per describeSObjects call
_UI_URLS = (
    ("urlDetail", "uiDetailTemplate"),
    ("urlEdit", "uiEditTemplate"),
    ("urlNew", "uiNewRecord"),
)


def _all_or_none(value: bool) -> dict[str, Any]:
    return {"all_or_none_header": wsdl.AllOrNoneHeader(all_or_none=True)} if value else {}


def _query_options(batch_size: int | None) -> dict[str, Any]:
    if batch_size is None:
        return {}
    # Partner WSDLs before v66 had batchSize alone and Salesforce documents it alone; v66
    # marks `scope` required, but sending a scope would narrow the query. None omits it.
    options = wsdl.QueryOptions(batch_size=batch_size, scope=cast(Any, None))
    return {"query_options": options}


def _cap(items: Sequence[Any], what: str, limit: int = MAX_RECORDS) -> list[Any]:
    if len(items) > limit:
        raise UsageError(f"at most {limit} {what} per call, got {len(items)}")
    return list(items)


def _results(response: Any) -> list[Any]:
    return list(response.result)


def _result(response: Any) -> Any:
    return response.result


def build_login(username: str, password: str) -> SoapCall[wsdl.LoginResult]:
    """`password` is the password with the security token appended (when the org wants one)."""
    return SoapCall(
        operation="login",
        body=wsdl.Login(username=username, password=password),
        extract=_result,
        needs_session=False,
    )


def build_logout() -> SoapCall[None]:
    return SoapCall(operation="logout", body=wsdl.Logout(), extract=lambda _: None)


def build_get_user_info() -> SoapCall[wsdl.GetUserInfoResult]:
    return SoapCall(operation="getUserInfo", body=wsdl.GetUserInfo(), extract=_result)


def _timestamp(response: wsdl.GetServerTimestampResponse) -> dt.datetime:
    return response.result.timestamp.to_datetime()


def build_get_server_timestamp() -> SoapCall[dt.datetime]:
    return SoapCall(
        operation="getServerTimestamp", body=wsdl.GetServerTimestamp(), extract=_timestamp
    )


def build_create(
    records: Sequence[wsdl.SObject], *, all_or_none: bool = False
) -> SoapCall[list[wsdl.SaveResult]]:
    return SoapCall(
        operation="create",
        body=wsdl.Create(s_objects=_cap(records, "records")),
        headers=_all_or_none(all_or_none),
        extract=_results,
        idempotent=False,
    )


def build_update(
    records: Sequence[wsdl.SObject], *, all_or_none: bool = False
) -> SoapCall[list[wsdl.SaveResult]]:
    return SoapCall(
        operation="update",
        body=wsdl.Update(s_objects=_cap(records, "records")),
        headers=_all_or_none(all_or_none),
        extract=_results,
    )


def build_upsert(
    external_id_field: str, records: Sequence[wsdl.SObject], *, all_or_none: bool = False
) -> SoapCall[list[wsdl.UpsertResult]]:
    return SoapCall(
        operation="upsert",
        body=wsdl.Upsert(
            external_idfield_name=external_id_field, s_objects=_cap(records, "records")
        ),
        headers=_all_or_none(all_or_none),
        extract=_results,
    )


def build_delete(
    ids: Sequence[str], *, all_or_none: bool = False
) -> SoapCall[list[wsdl.DeleteResult]]:
    return SoapCall(
        operation="delete",
        body=wsdl.Delete(ids=_cap(ids, "ids")),
        headers=_all_or_none(all_or_none),
        extract=_results,
    )


def build_undelete(
    ids: Sequence[str], *, all_or_none: bool = False
) -> SoapCall[list[wsdl.UndeleteResult]]:
    return SoapCall(
        operation="undelete",
        body=wsdl.Undelete(ids=_cap(ids, "ids")),
        headers=_all_or_none(all_or_none),
        extract=_results,
    )


def build_empty_recycle_bin(ids: Sequence[str]) -> SoapCall[list[wsdl.EmptyRecycleBinResult]]:
    return SoapCall(
        operation="emptyRecycleBin",
        body=wsdl.EmptyRecycleBin(ids=_cap(ids, "ids")),
        extract=_results,
    )


def build_retrieve(
    sobject_type: str, fields: Sequence[str], ids: Sequence[str]
) -> SoapCall[list[wsdl.SObject | None]]:
    """Ids that match no record come back as None, in their place."""
    if not fields:
        raise UsageError("retrieve needs at least one field")
    return SoapCall(
        operation="retrieve",
        body=wsdl.Retrieve(
            field_list=", ".join(fields), s_object_type=sobject_type, ids=_cap(ids, "ids", 2000)
        ),
        extract=_results,
    )


def build_query(
    soql: str, *, include_deleted: bool = False, batch_size: int | None = None
) -> SoapCall[wsdl.QueryResult]:
    if include_deleted:
        return SoapCall(
            operation="queryAll",
            body=wsdl.QueryAll(query_string=soql),
            headers=_query_options(batch_size),
            extract=_result,
        )
    return SoapCall(
        operation="query",
        body=wsdl.Query(query_string=soql),
        headers=_query_options(batch_size),
        extract=_result,
    )


def build_query_more(
    query_locator: str, *, batch_size: int | None = None
) -> SoapCall[wsdl.QueryResult]:
    """The next page of a cursor; it remembers whether it came from query or queryAll."""
    return SoapCall(
        operation="queryMore",
        body=wsdl.QueryMore(query_locator=query_locator),
        headers=_query_options(batch_size),
        extract=_result,
    )


def build_convert_lead(
    converts: Sequence[LeadConvert],
) -> SoapCall[list[wsdl.LeadConvertResult]]:
    return SoapCall(
        operation="convertLead",
        body=wsdl.ConvertLead(lead_converts=[c.to_wsdl() for c in _cap(converts, "leads")]),
        extract=_results,
        idempotent=False,
    )


def build_merge(requests: Sequence[MergeRequest]) -> SoapCall[list[wsdl.MergeResult]]:
    return SoapCall(
        operation="merge",
        body=wsdl.Merge(
            request=[r.to_wsdl() for r in _cap(requests, "merge requests", MAX_MERGE_REQUESTS)]
        ),
        extract=_results,
        idempotent=False,
    )


# -- describes and search: the same typed results as the REST client's ------------------------


def _global(response: wsdl.DescribeGlobalResponse) -> DescribeGlobalResult:
    return DescribeGlobalResult.from_dict(to_json(response.result))


def build_describe_global() -> SoapCall[DescribeGlobalResult]:
    return SoapCall(operation="describeGlobal", body=wsdl.DescribeGlobal(), extract=_global)


def _describe(result: wsdl.DescribeSobjectResult) -> DescribeSObjectResult:
    """A partner describe as the REST model; urlDetail/urlEdit/urlNew go back into `urls`."""
    data = to_json(result)
    urls = {rest: data.pop(soap) for soap, rest in _UI_URLS}
    data["urls"] = {k: v for k, v in urls.items() if v is not None}
    return DescribeSObjectResult.from_dict(data)


def _one_describe(response: wsdl.DescribeSobjectResponse) -> DescribeSObjectResult:
    if response.result is None:
        raise UsageError("describeSObject answered no result")
    return _describe(response.result)


def build_describe_sobject(sobject_type: str) -> SoapCall[DescribeSObjectResult]:
    return SoapCall(
        operation="describeSObject",
        body=wsdl.DescribeSobject(s_object_type=sobject_type),
        extract=_one_describe,
    )


def _many_describes(response: wsdl.DescribeSobjectsResponse) -> list[DescribeSObjectResult]:
    return [_describe(r) for r in response.result]


def build_describe_sobjects(
    sobject_types: Sequence[str],
) -> SoapCall[list[DescribeSObjectResult]]:
    """At most 100 types per call (Salesforce's cap); results in the order asked."""
    return SoapCall(
        operation="describeSObjects",
        body=wsdl.DescribeSobjects(s_object_type=_cap(sobject_types, "types", MAX_DESCRIBES)),
        extract=_many_describes,
    )


def _hits(response: wsdl.SearchResponse) -> list[wsdl.SObject]:
    return [r.record for r in response.result.search_records]


def build_search(sosl: str) -> SoapCall[list[wsdl.SObject]]:
    """SOSL; the hits as partner sObjects, in the order Salesforce ranks them."""
    return SoapCall(operation="search", body=wsdl.Search(search_string=sosl), extract=_hits)
