"""describeGlobal, describeSObject(s) and search answers, converted from the REST facts.

The org has one schema (`OrgSchema`: the REST describes) and one SOSL engine; SOAP answers
are those same facts bound to the generated partner classes, element by element, by each
class's XML names (the REST and partner describes share their property names), so a flag
added to the REST describe reaches SOAP with no change here.

What must stay true (the real v66 WSDL, tests/fidelity/test_soap_wsdl.py):
- Every required element is present (`soap.json_shape.bind` zero-fills what REST lacks);
  nillable ones the describe has no value for are `xsi:nil`.
- The record URLs (urlDetail, urlEdit, urlNew) come from `urls.uiDetailTemplate` etc.
- Search rows are partner sObjects like query rows (`xsi:type="sf:sObject"`).
"""

from __future__ import annotations

import itertools
import typing
from collections.abc import Mapping
from typing import Any

import salesforce_typed_soap as wsdl
from salesforce_typed.soap.envelope import PARTNER_NS
from salesforce_typed.soap.json_shape import bind
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.soap.wire import sobject, typed

_query_ids = itertools.count(1)


def describe_global(state: OrgState) -> wsdl.DescribeGlobalResult:
    return wsdl.DescribeGlobalResult(
        encoding="UTF-8",
        max_batch_size=200,
        sobjects=[bind(wsdl.DescribeGlobalSobjectResult, doc) for doc in state.schema],
    )


def describe_sobject(doc: Mapping[str, Any]) -> wsdl.DescribeSobjectResult:
    urls = doc.get("urls") or {}
    data = {
        **doc,
        "urlDetail": urls.get("uiDetailTemplate"),
        "urlEdit": urls.get("uiEditTemplate"),
        "urlNew": urls.get("uiNewRecord"),
    }
    return bind(wsdl.DescribeSobjectResult, data)


def search_result(found: Mapping[str, Any]) -> wsdl.SearchResult:
    """The SOSL engine's REST body (`searchRecords`) as a partner SearchResult."""
    records: list[Any] = [
        wsdl.SearchRecord(record=typing.cast(Any, typed(f"{{{PARTNER_NS}}}record", sobject(row))))
        for row in found.get("searchRecords") or ()
    ]
    return wsdl.SearchResult(query_id=f"sosl-{next(_query_ids)}", search_records=records)
