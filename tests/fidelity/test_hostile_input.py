"""Inputs that once crashed the fake org (a 500) get Salesforce's error body, quickly.

Each case is one that answered `500 UNKNOWN_EXCEPTION` before: deep nesting (RecursionError),
integers past a Java int or past the calendar (OverflowError), long OR lists (SQLite's
expression depth) and a large Bulk 1.0 XML batch that blocked every other request.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from salesforce_typed.testing import app
from salesforce_typed.testing.bulk1 import process
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed.testing.soql import date_literals
from salesforce_typed.testing.soql.errors import SoqlError
from salesforce_typed.testing.soql.parser import MAX_NESTING, parse_query

from .conftest import password_token

QUERY = "/services/data/v60.0/query"
SEARCH = "/services/data/v60.0/search"


def _error(response: httpx.Response, status: int = 400) -> dict[str, str]:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert isinstance(body, list) and len(body) == 1, body
    assert set(body[0]) == {"message", "errorCode"}, body
    error: dict[str, str] = body[0]
    return error


def test_495_nested_parentheses_are_too_complicated(module_api: httpx.Client) -> None:
    soql = "SELECT Id FROM Account WHERE " + "(" * 495 + "Name = 'x'" + ")" * 495
    error = _error(module_api.get(QUERY, params={"q": soql}))
    assert error["errorCode"] == "QUERY_TOO_COMPLICATED"
    assert "ERROR at Row:1:Column:" in error["message"]


def test_989_nots_are_too_complicated(module_api: httpx.Client) -> None:
    soql = "SELECT Id FROM Account WHERE " + "NOT " * 989 + "Name = 'x'"
    assert _error(module_api.get(QUERY, params={"q": soql}))["errorCode"] == (
        "QUERY_TOO_COMPLICATED"
    )


def test_nesting_up_to_the_limit_still_runs(module_api: httpx.Client) -> None:
    depth = MAX_NESTING - 1
    soql = "SELECT Id FROM Account WHERE " + "(" * depth + "NOT Name = 'x'" + ")" * depth
    response = module_api.get(QUERY, params={"q": soql})
    assert response.status_code == 200, response.text[:300]


@pytest.mark.parametrize(
    "clause",
    ["LIMIT 99999999999999999999999", "OFFSET 99999999999999999999999", "LIMIT 2147483648"],
)
def test_limit_past_a_java_int_is_malformed(module_api: httpx.Client, clause: str) -> None:
    error = _error(module_api.get(QUERY, params={"q": f"SELECT Id FROM Account {clause}"}))
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith(f"unexpected token: '{clause.split()[1]}'")


def test_date_literal_n_past_a_java_int_is_malformed(module_api: httpx.Client) -> None:
    soql = "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:99999999999"
    error = _error(module_api.get(QUERY, params={"q": soql}))
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith("unexpected token: '99999999999'")


@pytest.mark.parametrize("literal", ["LAST_N_DAYS", "N_YEARS_AGO", "NEXT_N_FISCAL_QUARTERS"])
def test_date_literal_n_past_the_calendar_runs(module_api: httpx.Client, literal: str) -> None:
    soql = f"SELECT Id FROM Account WHERE CreatedDate = {literal}:2147483647"
    assert module_api.get(QUERY, params={"q": soql}).status_code == 200


def test_date_ranges_past_the_calendar_are_clamped() -> None:
    now = dt.datetime(2026, 12, 7, 12)
    n = 2**31 - 1
    assert date_literals.resolve("LAST_N_DAYS", n, now) == (dt.date.min, dt.date(2026, 12, 8))
    assert date_literals.resolve("NEXT_N_YEARS", n, now) == (dt.date(2027, 1, 1), dt.date.max)
    assert date_literals.resolve("N_DAYS_AGO", n, now) == (dt.date.min, dt.date.min)  # empty


def test_integer_filter_past_sqlite_integers_matches_nothing(module_api: httpx.Client) -> None:
    soql = "SELECT Id FROM Account WHERE NumberOfEmployees = 99999999999999999999999"
    response = module_api.get(QUERY, params={"q": soql})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["totalSize"] == 0


def test_1200_ors_run(module_api: httpx.Client) -> None:
    soql = "SELECT Id FROM Account WHERE " + " OR ".join(f"Name = '{i}'" for i in range(1200))
    assert module_api.get(QUERY, params={"q": soql}).status_code == 200


def test_statement_over_100000_characters_is_refused() -> None:
    with pytest.raises(SoqlError) as caught:
        parse_query("SELECT Id FROM Account WHERE Name = '" + "x" * 100_000 + "'")
    assert caught.value.error_code == "MALFORMED_QUERY"
    assert caught.value.message == "SOQL statements can not be longer than 100000 characters"


@pytest.mark.parametrize(
    "sosl",
    [
        "FIND {" + "(" * 500 + "x" + ")" * 500 + "}",
        "FIND {x} RETURNING Account(Id WHERE " + "(" * 500 + "Name = 'x'" + ")" * 500 + ")",
        "FIND {x} LIMIT 99999999999999999999",
    ],
)
def test_hostile_sosl_is_malformed(module_api: httpx.Client, sosl: str) -> None:
    error = _error(module_api.get(SEARCH, params={"q": sosl}))
    assert error["errorCode"] in ("MALFORMED_SEARCH", "QUERY_TOO_COMPLICATED")


def test_sosl_term_over_10000_characters_returns_no_rows(module_api: httpx.Client) -> None:
    response = module_api.get(SEARCH, params={"q": "FIND {" + "a " * 6000 + "}"})
    assert response.status_code == 200, response.text[:300]
    assert response.json() == {"searchRecords": []}


def test_sosl_term_of_4999_words_answers(module_api: httpx.Client) -> None:
    """Compiled to SQL (a LIKE per word and column) this took a minute on the server's loop;
    the matcher runs once per row. The timeout is a bound on that, not a measurement."""
    term = " ".join(["acme"] * 2500 + [f"w{n}" for n in range(2499)])[:10_000]
    response = module_api.get(SEARCH, params={"q": "FIND {" + term + "}"}, timeout=20)
    assert response.status_code == 200, response.text[:300]


def test_sosl_term_over_4000_characters_drops_its_operators(api: httpx.Client) -> None:
    for name in ("Alphaqz", "Betaqz"):
        created = api.post("/services/data/v60.0/sobjects/Account", json={"Name": name})
        assert created.status_code == 201, created.text

    def names(term: str) -> set[str]:
        sosl = "FIND {" + term + "} RETURNING Account(Name)"
        response = api.get(SEARCH, params={"q": sosl})
        assert response.status_code == 200, response.text[:300]
        return {r["Name"] for r in response.json()["searchRecords"]}

    short = "Alphaqz AND Betaqz" + " AND zzq" * 400  # 3,218 characters: AND holds
    long = "Alphaqz AND Betaqz" + " AND zzq" * 600  # 4,818: the ANDs become ORs
    assert names(short) == set()
    assert names(long) == {"Alphaqz", "Betaqz"}


def test_sosl_term_of_900_words_runs(module_api: httpx.Client) -> None:
    response = module_api.get(SEARCH, params={"q": "FIND {x" + " AND NOT y" * 900 + "}"})
    assert response.status_code == 200, response.text[:300]


def test_json_past_the_parsers_depth_is_a_json_parser_error(module_api: httpx.Client) -> None:
    for body in ("[" * 100_000, '{"Name": ' + "1" * 5000 + "}"):
        response = module_api.post(
            "/services/data/v60.0/sobjects/Account",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert _error(response)["errorCode"] == "JSON_PARSER_ERROR"


def test_soap_sobjects_nested_past_the_bound_are_a_client_fault(module_api: httpx.Client) -> None:
    session = str(module_api.headers["Authorization"]).split()[1]
    nested = "<sObjects>" * 100_000 + "</sObjects>" * 100_000
    body = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Header><SessionHeader><sessionId>'
        f"{session}</sessionId></SessionHeader></soapenv:Header><soapenv:Body><create>"
        f"{nested}</create></soapenv:Body></soapenv:Envelope>"
    )
    response = module_api.post(
        "/services/Soap/u/60.0",
        content=body.encode(),
        headers={"content-type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
    )
    assert response.status_code == 500  # SOAP's fault status, not the last-resort handler
    assert "<faultcode>soapenv:Client</faultcode>" in response.text
    assert "nest deeper than" in response.text


def test_a_large_json_body_is_parsed_off_the_event_loop(
    fake_org: FakeOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse is held open until a query has been answered: on the server's loop the
    query could not be answered and the test would hit its bound."""
    parsing = threading.Event()
    release = threading.Event()
    real_parse = app.parse_json_body

    def held_parse(body: bytes) -> Any:
        parsing.set()
        assert release.wait(BOUND_S), "never released"
        return real_parse(body)

    monkeypatch.setattr(app, "parse_json_body", held_parse)
    body = {"Name": "big", "Description": "x" * 31_000, "Padding__c": ["y" * 1000] * 300}
    with (
        httpx.Client(base_url=fake_org.instance_url, timeout=BOUND_S) as writer,
        httpx.Client(base_url=fake_org.instance_url, timeout=BOUND_S) as reader,
    ):
        writer.headers["Authorization"] = f"Bearer {password_token(fake_org, writer)}"
        reader.headers["Authorization"] = writer.headers["Authorization"]
        outcome: list[httpx.Response] = []
        thread = threading.Thread(
            target=lambda: outcome.append(
                writer.post("/services/data/v60.0/sobjects/Account", json=body)
            )
        )
        thread.start()
        try:
            assert parsing.wait(BOUND_S)
            answered = reader.get(QUERY, params={"q": "SELECT COUNT() FROM Account"})
            assert answered.status_code == 200, answered.text
            assert not outcome  # the big request is still being parsed
        finally:
            release.set()
            thread.join(BOUND_S)
    assert _error(outcome[0])["errorCode"] == "INVALID_FIELD"  # parsed, then judged


def test_jwt_assertion_with_hostile_json_is_invalid_grant(module_org: FakeOrg) -> None:
    def segment(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    for header in ("[" * 100_000, '{"alg": ' + "1" * 5000 + "}"):
        assertion = f"{segment(header)}.{segment('{}')}.{segment('sig')}"
        response = httpx.post(
            module_org.credentials()["token_url"],
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
        )
        assert response.status_code == 400, response.text[:300]
        assert response.json()["error"] == "invalid_grant"


# -- Bulk 1.0 ---------------------------------------------------------------------------------

NS = "http://www.force.com/2009/06/asyncapi/dataload"
BOUND_S = 60.0  # turns a hang into a failure; nothing asserts on time


@pytest.fixture
def bulk(fake_org: FakeOrg) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_org.instance_url, timeout=BOUND_S) as client:
        client.headers["X-SFDC-Session"] = password_token(fake_org, client)
        yield client


def _job(bulk: httpx.Client) -> str:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="{NS}"><operation>insert'
        "</operation><object>Account</object><contentType>XML</contentType></jobInfo>"
    )
    created = bulk.post(
        "/services/async/60.0/job", content=body, headers={"content-type": "application/xml"}
    )
    assert created.status_code == 201, created.text
    return f"/services/async/60.0/job/{ET.fromstring(created.content).findtext(f'{{{NS}}}id')}"


def _batch(bulk: httpx.Client, job: str, body: bytes) -> str:
    added = bulk.post(f"{job}/batch", content=body, headers={"content-type": "application/xml"})
    assert added.status_code == 201, added.text[:300]
    return f"{job}/batch/{ET.fromstring(added.content).findtext(f'{{{NS}}}id')}"


def _info(bulk: httpx.Client, batch: str) -> dict[str, str]:
    root = ET.fromstring(bulk.get(batch).content)
    return {child.tag.rpartition("}")[2]: child.text or "" for child in root}


def _finished(bulk: httpx.Client, batch: str) -> dict[str, str]:
    done = threading.Event()
    for _ in range(int(BOUND_S / 0.02)):
        info = _info(bulk, batch)
        if info["state"] in ("Completed", "Failed"):
            return info
        done.wait(0.02)
    raise AssertionError(f"batch {batch} never finished")


def _records(names: list[str]) -> bytes:
    rows = "".join(f"<sObject><Name>{name}</Name></sObject>" for name in names)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sObjects xmlns="{NS}">{rows}</sObjects>'.encode()
    )


def test_4mb_batch_of_800k_character_references_is_processed(bulk: httpx.Client) -> None:
    """Once 7 s of quadratic text joining on the server's loop; now each reference is one
    piece of a list joined once, and the record fails on its field, as in Salesforce."""
    body = _records(["&amp;" * 800_000, "Acme"])
    assert len(body) > 4_000_000
    info = _finished(bulk, _batch(bulk, _job(bulk), body))
    assert info["state"] == "Completed", info
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == ("2", "1")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<a>" * 100_000 + b"</a>" * 100_000, "nest deeper"),
        (f'<sObjects xmlns="{NS}"><sObject>'.encode() + b"<a/>" * 800_000, "more than"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><sObjects>&a;&a;</sObjects>', "DOCTYPE"),
    ],
)
def test_hostile_xml_batch_fails_as_invalid(bulk: httpx.Client, body: bytes, why: str) -> None:
    info = _finished(bulk, _batch(bulk, _job(bulk), body))
    assert info["state"] == "Failed" and info["stateMessage"].startswith("InvalidBatch : ")
    assert why in info["stateMessage"], info


def test_json_job_past_the_digit_limit_is_invalid_job(bulk: httpx.Client) -> None:
    body = '{"operation": "insert", "object": "Account", "x": ' + "1" * 5000 + "}"
    refused = bulk.post(
        "/services/async/60.0/job", content=body, headers={"content-type": "application/json"}
    )
    assert refused.status_code == 400, refused.text[:300]
    assert refused.json()["exceptionCode"] == "InvalidJob"


def test_gzip_bomb_batch_is_refused_at_the_size_limit(bulk: httpx.Client) -> None:
    bomb = gzip.compress(b"x" * 200_000_000)  # 200 MB in about 200 kB
    assert len(bomb) < 1_000_000
    job = _job(bulk)
    headers = {"content-type": "application/xml", "content-encoding": "gzip"}
    refused = bulk.post(f"{job}/batch", content=bomb, headers=headers)
    assert refused.status_code == 400, refused.text[:300]
    error = ET.fromstring(refused.content)
    assert error.findtext(f"{{{NS}}}exceptionCode") == "InvalidBatch"
    assert error.findtext(f"{{{NS}}}exceptionMessage") == "Exceeded max size limit of 10000000"
    truncated = gzip.compress(_records(["Acme"]))[:-20]
    broken = bulk.post(f"{job}/batch", content=truncated, headers=headers)
    assert "Unable to decompress" in broken.text
    fine = bulk.post(f"{job}/batch", content=gzip.compress(_records(["Acme"])), headers=headers)
    assert fine.status_code == 201, fine.text[:300]


def test_10001_records_fail_with_salesforces_record_count_text(bulk: httpx.Client) -> None:
    info = _finished(bulk, _batch(bulk, _job(bulk), _records(["r"] * 10_001)))
    assert info["state"] == "Failed"
    assert info["stateMessage"].startswith("InvalidBatch : Exceeded number of records: 10001.")


def test_a_batch_being_parsed_does_not_block_other_requests(
    bulk: httpx.Client, fake_org: FakeOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse is held open on purpose until a query has been answered: were it on the
    server's event loop, the query could not be answered and the test would hit its bound."""
    parsing = threading.Event()
    release = threading.Event()
    real_rows = process._rows

    def held_rows(*args: Any) -> Any:
        parsing.set()
        assert release.wait(BOUND_S), "never released"
        return real_rows(*args)

    monkeypatch.setattr(process, "_rows", held_rows)
    batch = _batch(bulk, _job(bulk), _records([f"Acme {n}" for n in range(10_000)]))
    assert parsing.wait(BOUND_S)
    try:
        with httpx.Client(base_url=fake_org.instance_url, timeout=BOUND_S) as api:
            api.headers["Authorization"] = f"Bearer {password_token(fake_org, api)}"
            answered = api.get(QUERY, params={"q": "SELECT COUNT() FROM Account"})
        assert answered.status_code == 200, answered.text
        assert _info(bulk, batch)["state"] == "InProgress"  # answered mid-parse
    finally:
        release.set()
    info = _finished(bulk, batch)
    assert (info["state"], info["numberRecordsProcessed"]) == ("Completed", "10000"), info
