"""Bulk API 1.0 bodies as Salesforce writes and reads them, for the fake org (no I/O).

Written apart from the client's `bulk/v1*.py` on purpose: the fake org must not echo the
client's mistakes (STYLE §15b), so both sides are checked against Salesforce's documented
shapes and the recorded templates instead of against each other.

What must stay true (wire reference §7, §13):
- XML uses the dataload namespace, the layout of Salesforce's own answers (the recorded
  `jobInfo`/`batchInfo` templates), dates as `...000Z`; JSON dates are `...000+0000` and
  `apiVersion` a number.
- Request XML with a DOCTYPE or entity declaration is refused (`InvalidXML`) before expat
  could expand anything.
- CSV results quote every cell; DML errors read `CODE:message:Field1,Field2 --`.
- Bulk JSON query results carry date and datetime values as epoch milliseconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from xml.parsers import expat

import attrs

NS: Final = "http://www.force.com/2009/06/asyncapi/dataload"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
XML_TYPE: Final = "application/xml"
JSON_TYPE: Final = "application/json"
CSV_TYPE: Final = "text/csv"
NO_RECORDS: Final = "Records not found for this query"
_PROLOG: Final = '<?xml version="1.0" encoding="UTF-8"?>'


class BulkError(Exception):
    """An `<error><exceptionCode/><exceptionMessage/></error>` answer (JSON twin too)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class BatchFailedError(Exception):
    """A batch that cannot be processed: it ends Failed with this stateMessage."""


# -- XML in ---------------------------------------------------------------------------------


@attrs.define
class Node:
    """A parsed element: local name, xsi:nil, text and children in order."""

    tag: str
    nil: bool = False
    text: str = ""
    children: list[Node] = attrs.field(factory=list)


# Records nest sObjects/sObject/Field/sObject/Field at most; anything deeper is hostile.
MAX_XML_DEPTH: Final = 32
# "A record can contain a maximum of 5,000 fields". The records themselves (the root's
# children) are not bounded here: the byte limit bounds them, and the batch then fails with
# Salesforce's own "Exceeded number of records" text.
MAX_FIELDS: Final = 5_000


def parse_xml(data: bytes) -> Node:
    """Expat with DOCTYPE and entity declarations refused; InvalidXML on anything wrong.

    Linear in the body: text arrives in pieces (one per character reference) and is joined
    once per element, and nesting and fan-out are bounded while parsing, so a hostile body
    is refused before a tree of it is built.
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    root = Node(tag="")
    stack: list[Node] = [root]
    texts: list[list[str]] = [[]]

    def refuse(*_: Any) -> None:
        raise BulkError("InvalidXML", "DOCTYPE is not allowed in the request body")

    def start(name: str, attributes: dict[str, str]) -> None:
        parent = stack[-1]
        if len(stack) > MAX_XML_DEPTH:
            raise BulkError("InvalidXML", f"Elements nest deeper than {MAX_XML_DEPTH} levels")
        if len(stack) > 2 and len(parent.children) >= MAX_FIELDS:
            raise BulkError("InvalidXML", f"An element has more than {MAX_FIELDS} children")
        node = Node(tag=name.rpartition(" ")[2], nil=attributes.get(f"{XSI} nil") == "true")
        parent.children.append(node)
        stack.append(node)
        texts.append([])

    def end(_name: str) -> None:
        stack.pop().text = "".join(texts.pop())

    def text(data: str) -> None:
        texts[-1].append(data)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise BulkError("InvalidXML", f"Unable to parse XML: {exc}") from None
    if not root.children:
        raise BulkError("InvalidXML", "The request body is empty")
    return root.children[0]


def _xml_value(node: Node) -> Any:
    if node.nil:
        return None
    inner = [c for c in node.children if c.tag != "type"]
    if inner:  # <Account><sObject><Ext__c>..</Ext__c></sObject></Account>, or unwrapped
        fields = inner[0].children if len(inner) == 1 and inner[0].tag == "sObject" else inner
        return {c.tag: _xml_value(c) for c in fields}
    return node.text


def job_request(body: bytes, *, is_json: bool) -> dict[str, str]:
    """A JobInfo request body as `{field: text}`."""
    if is_json:
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):  # bad JSON or UTF-8, digit or depth limits
            raise BulkError("InvalidJob", "Unable to parse Job") from None
        if not isinstance(data, dict):
            raise BulkError("InvalidJob", "Unable to parse Job")
        return {str(k): "" if v is None else str(v) for k, v in data.items()}
    root = parse_xml(body)
    if root.tag != "jobInfo":
        raise BulkError("InvalidJob", f"Unable to parse Job: unexpected element {root.tag}")
    return {c.tag: c.text.strip() for c in root.children}


# -- batch rows in --------------------------------------------------------------------------


def csv_rows(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows; an empty cell leaves a field alone, `#N/A` sets it to null, and
    `Account.Ext__c` columns become `{"Account": {"Ext__c": ...}}`."""
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BatchFailedError(f"InvalidBatch : Failed to parse CSV: {exc}") from None
    lines = [line for line in lines if line]
    if not lines:
        raise BatchFailedError("InvalidBatch : Failed to parse CSV header")
    header = [h.strip() for h in lines[0]]
    rows = []
    for cells in lines[1:]:
        row: dict[str, Any] = {}
        for name, cell in zip(header, cells, strict=False):
            if cell == "":
                continue
            value = None if cell == "#N/A" else cell
            parent, dot, field = name.partition(".")
            if dot:
                row.setdefault(parent, {})[field] = value
            else:
                row[name] = value
        rows.append(row)
    return header, rows


def json_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, digit or depth limits
        raise BatchFailedError(f"InvalidBatch : Failed to parse JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BatchFailedError("InvalidBatch : JSON batch must be an array of records")
    return [{k: v for k, v in r.items() if k != "attributes"} for r in data]


def xml_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        root = parse_xml(body)
    except BulkError as exc:
        raise BatchFailedError(f"InvalidBatch : {exc.message}") from None
    if root.tag != "sObjects":
        raise BatchFailedError(f"InvalidBatch : Unexpected element {root.tag}, expected sObjects")
    return [{c.tag: _xml_value(c) for c in record.children} for record in root.children]


# -- XML and JSON out -----------------------------------------------------------------------


def xml_date(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def json_date(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _element(root: str, fields: Sequence[tuple[str, Any]]) -> str:
    lines = [f'<{root}\n   xmlns="{NS}">']
    lines += [f" <{k}>{_esc(v)}</{k}>" for k, v in fields]
    return "\n".join(lines) + f"\n</{root}>"


def render(root: str, fields: Sequence[tuple[str, Any]], *, as_json: bool) -> bytes:
    """One JobInfo / BatchInfo / error; the field tuples carry epoch floats for dates."""
    if as_json:
        return json.dumps(dict(_json_fields(fields)), separators=(",", ":")).encode()
    return (_PROLOG + _element(root, _xml_fields(fields))).encode()


def render_list(items: Iterable[Sequence[tuple[str, Any]]], *, as_json: bool) -> bytes:
    """`batchInfoList`: self-closed when empty, as Salesforce sends it."""
    entries = list(items)
    if as_json:
        data = {"batchInfo": [dict(_json_fields(f)) for f in entries]}
        return json.dumps(data, separators=(",", ":")).encode()
    if not entries:
        return f'{_PROLOG}<batchInfoList\n   xmlns="{NS}" />'.encode()
    inner = []
    for fields in entries:
        inner.append(" <batchInfo>")
        inner += [f"  <{k}>{_esc(v)}</{k}>" for k, v in _xml_fields(fields)]
        inner.append(" </batchInfo>")
    body = "\n".join(inner)
    return f'{_PROLOG}<batchInfoList\n   xmlns="{NS}">\n{body}\n</batchInfoList>'.encode()


def _xml_fields(fields: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    out = []
    for key, value in fields:
        if value is None:
            continue
        if key in ("createdDate", "systemModstamp"):
            value = xml_date(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out.append((key, value))
    return out


def _json_fields(fields: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    out = []
    for key, value in sorted(fields):  # Salesforce's JSON lists JobInfo keys alphabetically
        if value is None:
            continue
        if key in ("createdDate", "systemModstamp"):
            value = json_date(value)
        elif key == "apiVersion":
            value = float(value)
        out.append((key, value))
    return out


def error_body(code: str, message: str, *, as_json: bool) -> bytes:
    return render(
        "error", [("exceptionCode", code), ("exceptionMessage", message)], as_json=as_json
    )


def result_list(result_ids: Sequence[str], *, as_json: bool) -> bytes:
    if as_json:
        return json.dumps(list(result_ids)).encode()
    items = "".join(f"<result>{r}</result>" for r in result_ids)
    return f'{_PROLOG}<result-list xmlns="{NS}">{items}</result-list>'.encode()


# -- DML results ----------------------------------------------------------------------------


@attrs.frozen
class RowOutcome:
    """One record's result: errors are (statusCode, message, fields)."""

    id: str | None
    success: bool
    created: bool
    errors: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


def _quote_all(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def dml_results(outcomes: Sequence[RowOutcome], content_type: str) -> bytes:
    """Results in input order, in the batch's format."""
    if content_type == "CSV":
        rows = [["Id", "Success", "Created", "Error"]]
        for o in outcomes:
            error = ""
            if o.errors:
                code, message, fields = o.errors[0]
                error = (
                    f"{code}:{message}:{','.join(fields)} --" if fields else f"{code}:{message}:--"
                )
            rows.append([o.id or "", _flag(o.success), _flag(o.created), error])
        return _quote_all(rows)
    if content_type == "JSON":
        data = [
            {
                "success": o.success,
                "created": o.created,
                "id": o.id,
                "errors": [
                    {"fields": list(f), "message": m, "statusCode": c} for c, m, f in o.errors
                ],
            }
            for o in outcomes
        ]
        return json.dumps(data, separators=(",", ":")).encode()
    parts = [f'{_PROLOG}<results xmlns="{NS}" xmlns:xsi="{XSI}">']
    for o in outcomes:
        parts.append("<result>")
        for code, message, fields in o.errors:
            names = "".join(f"<fields>{_esc(n)}</fields>" for n in fields)
            parts.append(
                f"<errors>{names}<message>{_esc(message)}</message>"
                f"<statusCode>{code}</statusCode></errors>"
            )
        parts.append(f"<id>{o.id}</id>" if o.id else '<id xsi:nil="true"/>')
        parts.append(f"<success>{_flag(o.success)}</success><created>{_flag(o.created)}</created>")
        parts.append("</result>")
    parts.append("</results>")
    return "".join(parts).encode()


def _flag(value: bool) -> str:
    return "true" if value else "false"


# -- query results --------------------------------------------------------------------------


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _flag(value)
    if isinstance(value, str) and len(value) == 28 and value.endswith("+0000"):
        return value[:-5] + "Z"  # REST's datetime form -> Bulk's
    return str(value)


def _cell(record: Mapping[str, Any] | None, path: str) -> Any:
    head, dot, rest = path.partition(".")
    if record is None:
        return None
    value = record.get(head)
    return _cell(value, rest) if dot else value


def query_csv(columns: Sequence[str], records: Sequence[Mapping[str, Any]]) -> bytes:
    if not records:
        return NO_RECORDS.encode()
    rows = [list(columns)]
    rows += [[_csv_value(_cell(r, c)) for c in columns] for r in records]
    return _quote_all(rows)


def query_json(records: Sequence[Mapping[str, Any]], date_fields: frozenset[str]) -> bytes:
    return json.dumps([_millis(r, date_fields) for r in records], separators=(",", ":")).encode()


def _millis(record: Mapping[str, Any], date_fields: frozenset[str], prefix: str = "") -> Any:
    out: dict[str, Any] = {}
    for key, value in record.items():
        path = prefix + key
        if isinstance(value, Mapping) and key != "attributes":
            out[key] = _millis(value, date_fields, path + ".")
        elif path in date_fields and isinstance(value, str):
            text = value.replace("+0000", "+00:00")
            when = dt.datetime.fromisoformat(text if "T" in text else text + "T00:00:00+00:00")
            out[key] = int(when.timestamp() * 1000)
        else:
            out[key] = value
    return out


def query_xml(records: Sequence[Mapping[str, Any]]) -> bytes:
    head = f'{_PROLOG}<queryResult xmlns="{NS}" xmlns:xsi="{XSI}">'
    return (head + "".join(_xml_record("records", r) for r in records) + "</queryResult>").encode()


def _xml_record(tag: str, record: Mapping[str, Any]) -> str:
    kind = (record.get("attributes") or {}).get("type", "")
    parts = [f'<{tag} xsi:type="sObject"><type>{kind}</type>']
    for key, value in record.items():
        if key == "attributes":
            continue
        if value is None:
            parts.append(f'<{key} xsi:nil="true"/>')
        elif isinstance(value, Mapping):
            parts.append(_xml_record(key, value))
        else:
            parts.append(f"<{key}>{_esc(_csv_value(value))}</{key}>")
    parts.append(f"</{tag}>")
    return "".join(parts)
