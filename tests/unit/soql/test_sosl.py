"""SOSL: term matching (substring, wildcards, phrases, AND/OR/AND NOT), field groups,
RETURNING clauses with WHERE/ORDER BY/LIMIT, the overall LIMIT and MALFORMED_SEARCH."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from soql_org import A1, A2, C1, C2, I1, O1, O2, U2

from salesforce_typed.testing.soql import Schema, SoqlError, execute_search


def search(conn: sqlite3.Connection, schema: Schema, sosl: str) -> list[Any]:
    body = execute_search(conn, schema, sosl)
    assert list(body) == ["searchRecords"]
    return body["searchRecords"]  # type: ignore[return-value]


def found(conn: sqlite3.Connection, schema: Schema, sosl: str, key: str = "Name") -> list[Any]:
    return [r[key] for r in search(conn, schema, sosl)]


def test_default_searches_every_object_for_ids(conn: sqlite3.Connection, schema: Schema) -> None:
    records = search(conn, schema, "FIND {acme}")
    by_type: dict[str, set[str]] = {}
    for record in records:
        assert list(record) == ["attributes", "Id"]
        by_type.setdefault(record["attributes"]["type"], set()).add(record["Id"])
    # Account by name and website, contacts by e-mail, opportunities by name.
    assert by_type == {"Account": {A1}, "Contact": {C1, C2}, "Opportunity": {O1, O2}}
    assert [r["attributes"]["type"] for r in records] == [
        "Account",
        "Contact",
        "Contact",
        "Opportunity",
        "Opportunity",
    ]


def test_record_shape(conn: sqlite3.Connection, schema: Schema) -> None:
    (record,) = search(conn, schema, "FIND {Globex} RETURNING Account(Id, Name, Owner.Name)")
    assert record == {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{A2}"},
        "Id": A2,
        "Name": "Globex",
        "Owner": {
            "attributes": {
                "type": "User",
                "url": f"/services/data/v62.0/sobjects/User/{U2}",
            },
            "Name": "Bob Builder",
        },
    }


@pytest.mark.parametrize(
    ("sosl", "expected"),
    [
        ("FIND {ACME} RETURNING Account(Name)", ["Acme"]),
        ("FIND {cme} RETURNING Account(Name)", ["Acme"]),  # substring
        ("FIND {Glo*} RETURNING Account(Name)", ["Globex"]),
        ("FIND {Um?rella} RETURNING Account(Name)", ["Umbrella"]),
        ("FIND {U*a} RETURNING Account(Name)", ["Umbrella"]),
        ("FIND {globex OR umbrella} RETURNING Account(Name ORDER BY Name)", ["Globex", "Umbrella"]),
        ("FIND {acme deal} RETURNING Opportunity(Name)", ["Acme Deal"]),
        ("FIND {acme AND deal} RETURNING Opportunity(Name)", ["Acme Deal"]),
        ("FIND {acme AND NOT upsell} RETURNING Opportunity(Name)", ["Acme Deal"]),
        ('FIND {"Acme Deal"} RETURNING Opportunity(Name)', ["Acme Deal"]),
        ('FIND {"Deal Acme"} RETURNING Opportunity(Name)', []),
        ("FIND {(globex OR umbrella) AND big} RETURNING Opportunity(Name)", ["Globex Big"]),
        ("FIND {INV\\-001} RETURNING Invoice__c(Name)", ["INV-001"]),
        ("FIND {Deleted} RETURNING Account(Name)", []),
        ("FIND {nothing-matches-this} RETURNING Account(Name)", []),
        ('FIND {"OR"} RETURNING Account(Name)', []),  # a quoted operator is a phrase
    ],
)
def test_term_matching(
    conn: sqlite3.Connection, schema: Schema, sosl: str, expected: list[str]
) -> None:
    assert found(conn, schema, sosl) == expected


def test_field_groups(conn: sqlite3.Connection, schema: Schema) -> None:
    assert found(
        conn, schema, "FIND {acme} IN NAME FIELDS RETURNING Account(Name), Contact(Name)"
    ) == ["Acme"]
    assert found(
        conn,
        schema,
        "FIND {acme} IN EMAIL FIELDS RETURNING Account(Name), Contact(Name ORDER BY Name)",
    ) == ["Ann Smith", "Bob Jones"]
    assert found(
        conn, schema, "FIND {555} IN PHONE FIELDS RETURNING Account(Name), Contact(Name)"
    ) == [
        "Acme",
        "Cid O'Brien",
    ]
    assert found(conn, schema, "FIND {rivoli} IN ALL FIELDS RETURNING Account(Name)") == ["Acme"]
    assert found(conn, schema, "FIND {rivoli} IN NAME FIELDS RETURNING Account(Name)") == []
    assert found(conn, schema, "FIND {acme} IN SIDEBAR FIELDS RETURNING Account(Name)") == ["Acme"]


def test_returning_where_order_limit(conn: sqlite3.Connection, schema: Schema) -> None:
    sosl = (
        "FIND {acme} RETURNING Opportunity(Name, Amount WHERE Amount > 600 ORDER BY Name LIMIT 5), "
        "Contact(Email ORDER BY Email DESC LIMIT 1), Account"
    )
    records = search(conn, schema, sosl)
    assert [(r["attributes"]["type"], r.get("Name"), r.get("Email")) for r in records] == [
        ("Opportunity", "Acme Deal", None),
        ("Contact", None, "bob@acme.com"),
        ("Account", None, None),
    ]
    assert records[0]["Amount"] == 1000.0
    assert list(records[2]) == ["attributes", "Id"]
    offset = found(conn, schema, "FIND {e} RETURNING Account(Name ORDER BY Name LIMIT 2 OFFSET 1)")
    assert offset == ["Globex", "initech"]


def test_overall_limit(conn: sqlite3.Connection, schema: Schema) -> None:
    records = found(
        conn, schema, "FIND {e} RETURNING Account(Name ORDER BY Name), Opportunity(Name) LIMIT 3"
    )
    assert records == ["Acme", "Globex", "initech"]
    records = found(
        conn, schema, "FIND {acme} RETURNING Account(Name), Opportunity(Name ORDER BY Name) LIMIT 2"
    )
    assert records == ["Acme", "Acme Deal"]


def test_with_and_update_clauses_are_accepted(conn: sqlite3.Connection, schema: Schema) -> None:
    sosl = (
        "FIND {acme} IN ALL FIELDS RETURNING Account(Name) WITH SNIPPET (target_length=120) "
        "WITH SPELL_CORRECTION = false LIMIT 10 UPDATE TRACKING"
    )
    assert found(conn, schema, sosl) == ["Acme"]


def test_custom_object_and_relationship(conn: sqlite3.Connection, schema: Schema) -> None:
    records = search(
        conn, schema, "FIND {INV-001} RETURNING Invoice__c(Name, Account__r.Name, Paid__c)"
    )
    assert records == [
        {
            "attributes": {
                "type": "Invoice__c",
                "url": f"/services/data/v62.0/sobjects/Invoice__c/{I1}",
            },
            "Name": "INV-001",
            "Account__r": {
                "attributes": {
                    "type": "Account",
                    "url": f"/services/data/v62.0/sobjects/Account/{A1}",
                },
                "Name": "Acme",
            },
            "Paid__c": True,
        }
    ]


@pytest.mark.parametrize(
    ("sosl", "code", "detail"),
    [
        (
            "FIND acme RETURNING Account",
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        ),
        (
            "FIND {acme",
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        ),
        (
            "FIND {   }",
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        ),
        (
            "SEARCH {acme}",
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        ),
        ("FIND {acme AND}", "MALFORMED_SEARCH", "invalid search term"),
        ("FIND {(acme}", "MALFORMED_SEARCH", "invalid search term"),
        ("FIND {acme} IN BOGUS FIELDS", "MALFORMED_SEARCH", "unexpected token: 'BOGUS'"),
        ("FIND {acme} RETURNING", "MALFORMED_SEARCH", "unexpected token: '<EOF>'"),
        (
            "FIND {acme} RETURNING Account(COUNT(Id))",
            "MALFORMED_SEARCH",
            "Only fields may be listed in RETURNING",
        ),
        (
            "FIND {acme} RETURNING Account(Name) LIMIT x",
            "MALFORMED_SEARCH",
            "unexpected token: 'x'",
        ),
        (
            "FIND {acme} RETURNING Acount(Name)",
            "INVALID_TYPE",
            "sObject type 'Acount' is not supported.",
        ),
        (
            "FIND {acme} RETURNING Account(Nme)",
            "INVALID_FIELD",
            "No such column 'Nme' on entity 'Account'.",
        ),
        (
            "FIND {acme} RETURNING Account(Name WHERE IsDeleted = 'no')",
            "INVALID_FIELD",
            "value of filter criterion for field 'IsDeleted' must be of type boolean",
        ),
    ],
)
def test_search_errors(
    conn: sqlite3.Connection, schema: Schema, sosl: str, code: str, detail: str
) -> None:
    with pytest.raises(SoqlError) as err:
        execute_search(conn, schema, sosl)
    assert err.value.error_code == code
    assert err.value.detail.startswith(detail), err.value.detail


def test_search_error_caret(conn: sqlite3.Connection, schema: Schema) -> None:
    with pytest.raises(SoqlError) as err:
        execute_search(conn, schema, "FIND {acme} RETURNING Acount(Name)")
    assert (err.value.row, err.value.column) == (1, 23)


def test_apex_quoted_term_is_refused_over_rest(schema: Schema) -> None:
    """`FIND 'term'` is Apex syntax; the REST API wants braces."""
    import pytest as _pytest

    from salesforce_typed.testing.soql import SoqlError
    from salesforce_typed.testing.soql.sosl import parse_search

    with _pytest.raises(SoqlError) as err:
        parse_search(schema, "FIND 'acme' RETURNING Account(Name)")
    assert err.value.error_code == "MALFORMED_SEARCH"
