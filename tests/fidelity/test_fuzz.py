"""No input makes the fake org answer 500: hypothesis over the SOQL parser and the HTTP surface.

Every example is checked two ways: the answer is Salesforce-shaped (a REST error list, a
Bulk `<error>`, a SOAP fault), and the app's last-resort handler (`UNEXPECTED`, a bug each
time it runs) was never reached. Examples are bounded and derandomized so CI is reproducible
and the file stays within about a minute on the project's 2-core machine.
"""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesforce_typed.testing.app import UNEXPECTED
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed.testing.soql import ast
from salesforce_typed.testing.soql.errors import SoqlError
from salesforce_typed.testing.soql.lexer import tokenize
from salesforce_typed.testing.soql.parser import parse_query

from .conftest import password_token

V = "v60.0"
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,  # nothing written to the work tree; derandomize makes runs repeatable
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEWER = settings(FUZZ, max_examples=60)  # examples that cost several requests each

# -- strategies -----------------------------------------------------------------------------

KEYWORDS = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "INCLUDES", "EXCLUDES", "GROUP",
    "BY", "HAVING", "ORDER", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "FOR",
    "VIEW", "UPDATE", "WITH", "USING", "SCOPE", "TYPEOF", "FIELDS", "ALL", "COUNT", "SUM", "MAX",
    "TRUE", "FALSE", "NULL", "TODAY", "LAST_N_DAYS", "N_YEARS_AGO", "THIS_FISCAL_QUARTER",
]  # fmt: skip
NAMES = ["Account", "Contact", "Id", "Name", "NumberOfEmployees", "AnnualRevenue", "CreatedDate",
         "Owner", "Owner.Name", "Contacts", "IsDeleted", "Rating", "Foo__c", "Group", "x"]  # fmt: skip
PUNCT = ["(", ")", ",", ".", ":", "=", "!=", "<>", "<", "<=", ">", ">="]
numbers = st.one_of(
    st.integers(min_value=-1000, max_value=1000).map(str),
    st.integers(min_value=2**31 - 2, max_value=2**80).map(str),  # past Java's and SQLite's ints
    st.sampled_from(["1e999", "-0.0", ".5", "99999999999999999999999", "2147483648", "9" * 400]),
)
strings = st.text(max_size=12).map(
    lambda t: "'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'"
)
dates = st.sampled_from(["2024-01-31", "2024-02-30", "2024-01-31T10:00:00Z", "9999-12-31"])
tokens = st.one_of(
    st.sampled_from(KEYWORDS), st.sampled_from(NAMES), st.sampled_from(PUNCT), numbers, strings,
    dates,
)  # fmt: skip
token_soup = st.lists(tokens, max_size=30).map(" ".join)
# Raw text too: the lexer must refuse what it cannot read, never crash on it.
raw_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)

values = st.one_of(
    numbers, strings, dates, st.sampled_from(["TRUE", "FALSE", "NULL", "TODAY", "YESTERDAY"]),
    st.builds(lambda lit, n: f"{lit}:{n}",
              st.sampled_from(["LAST_N_DAYS", "NEXT_N_YEARS", "N_WEEKS_AGO", "LAST_N_FISCAL_QUARTERS"]),
              st.one_of(st.integers(0, 10**6), st.integers(0, 2**31 - 1), st.just(2**40))),
)  # fmt: skip
date_values = st.one_of(
    dates,
    st.sampled_from(["TODAY", "YESTERDAY", "THIS_FISCAL_QUARTER"]),
    st.builds(lambda lit, n: f"{lit}:{n}",
              st.sampled_from(["LAST_N_DAYS", "NEXT_N_YEARS", "N_WEEKS_AGO", "LAST_N_FISCAL_QUARTERS"]),
              st.one_of(st.integers(0, 10**6), st.integers(2**31 - 2, 2**40))),
)  # fmt: skip
ORDER_OPS = ["=", "!=", "<", ">=", "IN", "NOT IN"]
# (field, operator, value) that fit together: most examples get past the type checks and
# reach the engine; a fifth mixes anything with anything.
typed = st.one_of(
    st.tuples(st.just("NumberOfEmployees"), st.sampled_from(ORDER_OPS), numbers),
    st.tuples(st.just("AnnualRevenue"), st.sampled_from(ORDER_OPS), numbers),
    st.tuples(st.sampled_from(["Name", "Rating", "Owner.Name"]), st.sampled_from([*ORDER_OPS, "LIKE"]),
              strings),
    st.tuples(st.sampled_from(["CreatedDate", "LastModifiedDate"]), st.sampled_from(ORDER_OPS),
              date_values),
    st.tuples(st.sampled_from(["Name", "NumberOfEmployees", "CreatedDate", "Id", "IsDeleted"]),
              st.sampled_from([*ORDER_OPS, "LIKE"]), values),
)  # fmt: skip


def _condition(triple: tuple[str, str, str]) -> str:
    field, op, value = triple
    return f"{field} {op} ({value})" if op.endswith("IN") else f"{field} {op} {value}"


simple = typed.map(_condition)
conditions = st.recursive(
    simple,
    lambda inner: st.one_of(
        inner.map(lambda c: f"NOT {c}"),
        inner.map(lambda c: f"({c})"),
        st.lists(inner, min_size=2, max_size=4).map(" AND ".join),
        st.lists(inner, min_size=2, max_size=4).map(lambda cs: "(" + " OR ".join(cs) + ")"),
    ),
    max_leaves=6,
)
structured = st.builds(
    lambda sel, obj, where, order, limit: f"SELECT {sel} FROM {obj}{where}{order}{limit}",
    st.sampled_from(["Id", "Id", "Id, Name", "COUNT()", "Name, (SELECT Id FROM Contacts)"]),
    st.sampled_from(["Account", "Account", "Account", "Contact", "Nope__c"]),
    st.one_of(st.just(""), conditions.map(lambda c: f" WHERE {c}")),
    st.sampled_from(["", " ORDER BY Name DESC NULLS LAST", " ORDER BY CreatedDate"]),
    st.one_of(
        st.just(""),
        st.integers(0, 2500).map(lambda n: f" LIMIT {n}"),
        numbers.map(lambda n: f" LIMIT {n}"),
        numbers.map(lambda n: f" OFFSET {n}"),
    ),
)  # fmt: skip

json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=20),
        st.integers(min_value=-(10**40), max_value=10**40),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(["Name", "attributes", "type", "records", "compositeRequest",
                                       "method", "url", "referenceId", "body", "allOrNone", "Id",
                                       "NumberOfEmployees", "CloseDate"]), st.text(max_size=8)),
            inner, max_size=5,
        ),
    ),
    max_leaves=15,
)  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.floats(), st.text(max_size=20),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from(["2024-01-31", "2024-02-30T25:00:00Z", "001000000000000AAA", "#N/A", "1e999",
                     "x" * 300, "Hot", "", " "]),
)  # fmt: skip
ACCOUNT_FIELDS = ["Name", "NumberOfEmployees", "AnnualRevenue", "Rating", "Industry", "Phone",
                  "Website", "BillingStreet", "BillingLatitude", "BillingAddress", "ParentId",
                  "OwnerId", "Id", "CreatedDate", "IsDeleted", "Description", "Nope__c"]  # fmt: skip
# Records with real field names and any values: they reach type coercion and the store.
records = st.dictionaries(
    st.sampled_from(ACCOUNT_FIELDS), st.one_of(scalars, st.lists(scalars, max_size=2)), max_size=6
).map(lambda r: {"Name": "fuzz", **r})
csv_cells = st.one_of(
    st.text(max_size=10), st.sampled_from(['"', '""', '"a""b"', "\r\n", "#N/A", "Owner.Name"])
)
csv_bodies = st.lists(st.lists(csv_cells, max_size=5), max_size=6).map(
    lambda rows: "\n".join(",".join(row) for row in rows)
)


def _xml_tree(depth: int = 0) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.text(max_size=10).map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;")),
        st.sampled_from(["&amp;", "&#65;", "&#x10FFFF;", "&bogus;", "<![CDATA[x]]>", "<!-- c -->"]),
    )
    tag = st.sampled_from(["sObjects", "sObject", "Name", "Id", "type", "x:y", "NumberOfEmployees"])
    if depth > 3:
        return leaf
    children = st.lists(st.deferred(lambda: _xml_tree(depth + 1)), max_size=4).map("".join)
    element = st.builds(lambda t, inner: f"<{t}>{inner}</{t}>", tag, st.one_of(leaf, children))
    return st.one_of(leaf, element)


BULK_NS = "http://www.force.com/2009/06/asyncapi/dataload"
xml_bodies = st.one_of(
    _xml_tree().map(lambda inner: f'<?xml version="1.0"?><sObjects xmlns="{BULK_NS}">{inner}</sObjects>'),
    _xml_tree(),
    st.sampled_from([
        '<!DOCTYPE x [<!ENTITY a "aaaa">]><sObjects>&a;</sObjects>',
        '<?xml version="1.0" encoding="UTF-16"?><a/>',
        "<a" + ">" * 3, "", "\x00", "<a>" * 50 + "</a>" * 50,
    ]),
)  # fmt: skip
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_CALLS = ["create", "update", "upsert", "query", "retrieve", "delete", "search", "login",
              "describeSObject", "getUserInfo", "nope"]  # fmt: skip
# A call element around random content: the envelope (with a valid session) is added by the
# test, so examples get past authentication into the operations' readers.
soap_calls = st.one_of(
    st.builds(lambda call, inner: f"<{call}>{inner}</{call}>", st.sampled_from(SOAP_CALLS),
              _xml_tree().map(lambda inner: inner.replace("<sObject>", "<sObjects>")
                              .replace("</sObject>", "</sObjects>"))),
    st.builds(lambda call, depth: f"<{call}>" + "<sObjects>" * depth + "</sObjects>" * depth
              + f"</{call}>", st.sampled_from(["create", "update"]), st.integers(1, 3000)),
    st.sampled_from(["", "<create/>", "<query><queryString>SELECT</queryString></query>"]),
)  # fmt: skip


def _envelope(session: str, call: str) -> str:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="urn:partner.soap.sforce.com">'
        f"<soapenv:Header><SessionHeader><sessionId>{session}</sessionId></SessionHeader>"
        f"</soapenv:Header><soapenv:Body>{call}</soapenv:Body></soapenv:Envelope>"
    )


# -- checks ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def org(module_org: FakeOrg) -> FakeOrg:
    return module_org


@pytest.fixture(scope="module")
def api(module_api: httpx.Client) -> httpx.Client:
    return module_api


@pytest.fixture(scope="module")
def anonymous(module_org: FakeOrg) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=module_org.instance_url, timeout=60) as client:
        yield client


@pytest.fixture(autouse=True)
def nothing_unexpected(module_org: FakeOrg) -> Iterator[None]:
    """The last-resort 500 (a bug each time) was reached by no example of the test."""
    before = module_org.state.extensions.get(UNEXPECTED, 0)
    yield
    assert module_org.state.extensions.get(UNEXPECTED, 0) == before


def rest_shaped(response: httpx.Response) -> None:
    """Success, or Salesforce's `[{"message", "errorCode", ...}]` with a 4xx status."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, list) and body, body
    for entry in body:
        assert isinstance(entry.get("message"), str) and isinstance(entry.get("errorCode"), str)


def bulk1_shaped(response: httpx.Response) -> None:
    assert response.status_code in (200, 201, 400), (response.status_code, response.text[:300])
    root = ET.fromstring(response.content)
    if response.status_code == 400:
        assert root.tag == f"{{{BULK_NS}}}error", response.text[:300]
        assert root.findtext(f"{{{BULK_NS}}}exceptionCode"), response.text[:300]


def soap_shaped(response: httpx.Response) -> None:
    """200 with an envelope, or Salesforce's fault (HTTP 500 is SOAP's fault status)."""
    assert response.status_code in (200, 500), (response.status_code, response.text[:300])
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{SOAP_ENV}}}Envelope", response.text[:300]
    if response.status_code == 500:
        fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
        assert fault is not None and fault.findtext("faultcode"), response.text[:300]
        assert "UNKNOWN_EXCEPTION" not in response.text


# -- the SOQL parser, directly ----------------------------------------------------------------


@FUZZ
@given(st.one_of(token_soup.map(lambda s: "SELECT " + s), token_soup, raw_text, structured))
def test_soql_parser_parses_or_says_malformed(soql: str) -> None:
    try:
        query = parse_query(soql)
    except SoqlError as exc:
        assert exc.error_code in ("MALFORMED_QUERY", "QUERY_TOO_COMPLICATED"), exc
        return
    assert isinstance(query, ast.Query)


@FUZZ
@given(raw_text)
def test_lexer_tokenizes_or_says_malformed(text: str) -> None:
    try:
        assert tokenize(text)[-1].kind == "eof"
    except SoqlError as exc:
        assert exc.error_code == "MALFORMED_QUERY"


# -- the HTTP surface -----------------------------------------------------------------------


@FUZZ
@given(
    st.one_of(
        simple.map(lambda c: "SELECT Id FROM Account WHERE " + c),  # one filter: reaches SQL
        structured,
        token_soup.map(lambda s: "SELECT Id FROM Account WHERE " + s),
    )
)
def test_query_endpoint(api: httpx.Client, soql: str) -> None:
    response = api.get(f"/services/data/{V}/query", params={"q": soql})
    rest_shaped(response)
    if response.status_code == 400:
        assert response.json()[0]["errorCode"] in (
            "MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE", "INVALID_QUERY_FILTER_OPERATOR",
            "NUMBER_OUTSIDE_VALID_RANGE", "QUERY_TOO_COMPLICATED",
        )  # fmt: skip


@FUZZ
@given(st.one_of(token_soup, raw_text).map(lambda s: "FIND {" + s.replace("}", "") + "} " + s))
def test_search_endpoint(api: httpx.Client, sosl: str) -> None:
    rest_shaped(api.get(f"/services/data/{V}/search", params={"q": sosl}))


@FUZZ
@given(st.one_of(records, records, json_values))
def test_sobject_create(api: httpx.Client, body: Any) -> None:
    rest_shaped(api.post(f"/services/data/{V}/sobjects/Account", content=json.dumps(body)))


@FUZZ
@given(st.lists(records, max_size=4), st.booleans())
def test_sobject_collection_create(api: httpx.Client, rows: list[Any], all_or_none: bool) -> None:
    body = {
        "allOrNone": all_or_none,
        "records": [{"attributes": {"type": "Account"}, **r} for r in rows],
    }
    rest_shaped(api.post(f"/services/data/{V}/composite/sobjects", content=json.dumps(body)))


@FUZZ
@given(st.one_of(json_values, st.sampled_from(["", "{", "[" * 5000, '{"a":' + "1" * 5000 + "}"])))
def test_composite_and_collections(api: httpx.Client, body: Any) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    headers = {"content-type": "application/json"}
    paths = ("composite", "composite/batch", "composite/sobjects", "composite/tree/Account",
             "composite/graph")  # fmt: skip
    for path in paths:
        rest_shaped(api.post(f"/services/data/{V}/{path}", content=content, headers=headers))


SEGMENTS = ["sobjects", "Account", "Contact", "describe", "001000000000000AAA", "001", "query",
            "queryAll", "search", "limits", "composite", "tree", "graph", "batch", "jobs", "ingest",
            "query", "batches", "results", "failedResults", "recent", "listviews", "updated",
            "deleted", "parameterizedSearch", "tooling", "ui-api", "Name", "Id", "..", "%00",
            "01g0000000000000000-2000", "v59.0", "recordCount", "Nope__c"]  # fmt: skip
paths = st.lists(
    st.one_of(st.sampled_from(SEGMENTS), st.text(alphabet="abcAZ09_-.%~", max_size=6)),
    min_size=1, max_size=5,
).map("/".join)  # fmt: skip
queries = st.dictionaries(
    st.sampled_from(["q", "start", "end", "fields", "sobjects", "batchSize", "locator", "maxRecords"]),
    st.one_of(st.text(max_size=12), numbers),
    max_size=3,
)  # fmt: skip


@FUZZ
@given(
    st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]), paths, queries, json_values
)
def test_any_rest_path(
    api: httpx.Client, method: str, path: str, query: dict[str, str], body: Any
) -> None:
    """Any method on any path under the REST API, with a random query and JSON body."""
    content = None if method in ("GET", "HEAD", "DELETE") else json.dumps(body)
    response = api.request(
        method, f"/services/data/{V}/{path}", params=query, content=content,
        headers={"content-type": "application/json"},
    )  # fmt: skip
    if method == "HEAD":  # no body to judge
        assert response.status_code < 500, response.status_code
    else:
        rest_shaped(response)


BAYEUX = ["/meta/handshake", "/meta/subscribe", "/meta/connect", "/meta/unsubscribe",
          "/meta/disconnect", "/data/AccountChangeEvent", "/meta/nope"]  # fmt: skip
bayeux_messages = st.lists(
    st.fixed_dictionaries(
        {"channel": st.sampled_from(BAYEUX)},
        optional={
            "clientId": st.one_of(st.text(max_size=8), json_values),
            "id": json_values,
            "subscription": st.one_of(st.sampled_from(BAYEUX), json_values),
            "ext": st.one_of(json_values, st.fixed_dictionaries(
                {"replay": st.dictionaries(st.sampled_from(BAYEUX), json_values, max_size=2)})),
            "version": json_values,
            "supportedConnectionTypes": json_values,
        },
    ),
    max_size=3,
)  # fmt: skip


@FUZZ
@given(
    st.one_of(bayeux_messages, json_values, st.sampled_from(["[" * 5000, "[1" + "0" * 5000 + "]"]))
)
def test_cometd_endpoint(api: httpx.Client, body: Any) -> None:
    """Bayeux answers `[{"successful": false, "error": "4xx::..."}]`, never the last resort."""
    content = body if isinstance(body, str) else json.dumps(body)
    headers = {"content-type": "application/json"}
    response = api.post("/cometd/60.0", content=content, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    replies = response.json()
    assert isinstance(replies, list), replies
    for reply in replies:
        assert (isinstance(reply, dict) and "successful" in reply) or "data" in reply, reply


GRANTS = ["password", "refresh_token", "client_credentials", "authorization_code",
          "urn:ietf:params:oauth:grant-type:jwt-bearer", "nope"]  # fmt: skip
form_values = st.one_of(st.text(max_size=30), st.sampled_from(["", "a.b.c", "%00", "=" * 10]))
oauth_forms = st.fixed_dictionaries(
    {"grant_type": st.one_of(st.sampled_from(GRANTS), form_values)},
    optional={key: form_values for key in ("client_id", "client_secret", "username", "password",
              "refresh_token", "code", "redirect_uri", "assertion", "code_verifier", "token",
              "format")},
)  # fmt: skip


@FUZZ
@given(oauth_forms, st.sampled_from(["token", "revoke", "introspect", "userinfo"]))
def test_oauth_endpoints(
    anonymous: httpx.Client, org: FakeOrg, form: dict[str, str], endpoint: str
) -> None:
    """OAuth answers `{"error", "error_description"}` (or its success shape), never a 500."""
    url = org.credentials()["token_url"].removesuffix("token") + endpoint
    response = anonymous.post(url, data=form)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        body = response.json()
        assert "error" in body or "errorCode" in str(body), body


@FEWER
@given(csv_bodies)
def test_bulk2_ingest_csv(api: httpx.Client, body: str) -> None:
    job = api.post(
        f"/services/data/{V}/jobs/ingest", json={"object": "Account", "operation": "insert"}
    )
    rest_shaped(job)
    job_id = job.json()["id"]
    url = f"/services/data/{V}/jobs/ingest/{job_id}"
    upload = api.put(f"{url}/batches", content=body.encode(), headers={"content-type": "text/csv"})
    rest_shaped(upload)
    rest_shaped(api.patch(url, json={"state": "UploadComplete"}))
    if upload.status_code >= 400:
        return
    waiting = threading.Event()
    for _ in range(1000):  # a bound on a hang; processing a few rows takes milliseconds
        info = api.get(url)
        rest_shaped(info)
        if info.json()["state"] in ("JobComplete", "Failed", "Aborted"):
            break
        waiting.wait(0.01)
    else:
        raise AssertionError(f"job never finished: {info.json()}")  # its task died
    assert "InternalServerError" not in str(info.json().get("errorMessage")), info.json()


@pytest.fixture(scope="module")
def bulk1(module_org: FakeOrg) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=module_org.instance_url, timeout=60) as client:
        client.headers["X-SFDC-Session"] = password_token(module_org, client)
        job = (
            '<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="' + BULK_NS + '">'
            "<operation>insert</operation><object>Account</object>"
            "<contentType>XML</contentType></jobInfo>"
        )
        created = client.post(
            "/services/async/60.0/job", content=job, headers={"content-type": "application/xml"}
        )
        assert created.status_code == 201, created.text
        job_id = ET.fromstring(created.content).findtext(f"{{{BULK_NS}}}id")
        assert job_id
        yield client, f"/services/async/60.0/job/{job_id}"


@FUZZ
@given(xml_bodies)
def test_bulk1_xml_batch(bulk1: tuple[httpx.Client, str], body: str) -> None:
    client, job = bulk1
    headers = {"content-type": "application/xml"}
    bulk1_shaped(client.post(f"{job}/batch", content=body.encode(), headers=headers))


def test_bulk1_batches_never_failed_unexpectedly(
    bulk1: tuple[httpx.Client, str], org: FakeOrg
) -> None:
    """Run after the XML fuzz: no batch it queued ended in the emulator's own failure."""
    client, job = bulk1
    waiting = threading.Event()
    for _ in range(1000):  # a bound on a hang
        infos = ET.fromstring(client.get(f"{job}/batch").content)
        states = {b.findtext(f"{{{BULK_NS}}}state") for b in infos}
        if not states & {"Queued", "InProgress"}:
            break
        waiting.wait(0.01)
    assert states <= {"Completed", "Failed"}, states
    messages = [b.findtext(f"{{{BULK_NS}}}stateMessage") or "" for b in infos]
    assert not [m for m in messages if "InternalServerError" in m or "unexpected" in m]


@FUZZ
@given(st.one_of(soap_calls, xml_bodies.map(lambda body: "raw:" + body)))
def test_soap_endpoint(api: httpx.Client, call: str) -> None:
    session = str(api.headers["Authorization"]).split()[1]
    body = call.removeprefix("raw:") if call.startswith("raw:") else _envelope(session, call)
    headers = {"content-type": "text/xml; charset=UTF-8", "SOAPAction": '""'}
    soap_shaped(api.post("/services/Soap/u/60.0", content=body.encode(), headers=headers))
