"""Lexer and parser: tokens, escapes, the AST, and MALFORMED_QUERY messages with carets."""

from __future__ import annotations

import datetime as dt

import pytest

from salesforce_typed.testing.soql import SoqlError, ast, parse_query
from salesforce_typed.testing.soql.lexer import like_pattern, tokenize


def kinds(source: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokenize(source)]


def test_tokens_keep_positions_and_kinds() -> None:
    tokens = tokenize("SELECT Id\nFROM Account WHERE X >= -1.5")
    assert [(t.kind, t.text, t.line, t.column) for t in tokens[:4]] == [
        ("ident", "SELECT", 1, 1),
        ("ident", "Id", 1, 8),
        ("ident", "FROM", 2, 1),
        ("ident", "Account", 2, 6),
    ]
    assert kinds("X >= -1.5")[1:3] == [("punct", ">="), ("number", "-1.5")]
    assert tokens[-1].kind == "eof"


def test_date_and_datetime_literals_are_single_tokens() -> None:
    assert kinds("2024-01-31 2024-01-31T10:00:00Z 2024-01-31T10:00:00.123+01:00")[:3] == [
        ("date", "2024-01-31"),
        ("datetime", "2024-01-31T10:00:00Z"),
        ("datetime", "2024-01-31T10:00:00.123+01:00"),
    ]


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'O\'Brien'", "O'Brien"),
        (r"'back\\slash'", "back\\slash"),
        (r"'line\nbreak\ttab'", "line\nbreak\ttab"),
        (r"'\u00e9t\u00E9'", "été"),
        (r"'say \"hi\"'", 'say "hi"'),
        (r"'100\%'", "100%"),
    ],
)
def test_string_escapes(literal: str, value: str) -> None:
    (token, _eof) = tokenize(literal)
    assert token.kind == "string"
    assert token.value == value


def test_like_pattern_distinguishes_escaped_wildcards() -> None:
    (token, _eof) = tokenize(r"'50\%_a%\_\\'")
    assert like_pattern(token) == "50\\%_a%\\_\\\\"


def test_illegal_escape_is_malformed() -> None:
    with pytest.raises(SoqlError) as err:
        tokenize(r"SELECT Id FROM Account WHERE Name = 'a\qb'")
    assert err.value.error_code == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\q'" in err.value.detail
    assert err.value.column == 37


def test_parse_full_query_shape() -> None:
    query = parse_query(
        "SELECT Id, Account.Owner.Name, (SELECT LastName FROM Contacts WHERE LastName != null "
        "ORDER BY LastName DESC NULLS FIRST LIMIT 2) FROM Contact c USING SCOPE Everything "
        "WHERE (Name LIKE 'A%' OR Name IN ('x', 'y')) AND NOT Email = null "
        "WITH SECURITY_ENFORCED ORDER BY Name ASC NULLS LAST, CreatedDate DESC LIMIT 10 "
        "OFFSET 5 FOR VIEW"
    )
    assert query.from_name == "Contact"
    assert query.alias == "c"
    assert query.limit == 10
    assert query.offset == 5
    assert isinstance(query.select[1], ast.FieldItem)
    assert query.select[1].path.parts == ("Account", "Owner", "Name")
    sub = query.select[2]
    assert isinstance(sub, ast.SubqueryItem)
    assert sub.query.limit == 2
    assert sub.query.order_by[0].nulls_first is True
    assert isinstance(query.where, ast.BoolOp)
    assert query.where.op == "AND"
    assert isinstance(query.where.operands[1], ast.Not)
    assert [o.descending for o in query.order_by] == [False, True]
    assert query.order_by[0].nulls_first is False


def test_parse_literals() -> None:
    query = parse_query(
        "SELECT Id FROM X WHERE A = 2024-01-31 AND B = 2024-01-31T10:00:00+01:00 AND C = TRUE "
        "AND D = null AND E = LAST_N_DAYS:30 AND F = this_month AND G = 42 AND H = 'x'"
    )
    assert isinstance(query.where, ast.BoolOp)
    values = [c.value for c in query.where.operands if isinstance(c, ast.Comparison)]
    assert values[0] == ast.DateLit(dt.date(2024, 1, 31), values[0].pos)
    assert isinstance(values[1], ast.DateTimeLit)
    assert values[1].value == dt.datetime(2024, 1, 31, 9, 0, tzinfo=dt.UTC)
    assert isinstance(values[2], ast.BoolLit) and values[2].value is True
    assert isinstance(values[3], ast.NullLit)
    assert isinstance(values[4], ast.DateConst) and (values[4].name, values[4].n) == (
        "LAST_N_DAYS",
        30,
    )
    assert isinstance(values[5], ast.DateConst) and values[5].n is None
    assert isinstance(values[6], ast.NumberLit) and values[6].is_integer
    assert isinstance(values[7], ast.StringLit) and values[7].value == "x"


def test_keywords_may_name_objects() -> None:
    assert parse_query("select id from Group").from_name == "Group"
    assert parse_query("SELECT Id FROM Order ORDER BY Id").from_name == "Order"


def test_aggregates_and_aliases_parse() -> None:
    query = parse_query(
        "SELECT Industry ind, COUNT(Id) cnt, COUNT() , SUM(AnnualRevenue) FROM Account "
        "GROUP BY Industry HAVING COUNT(Id) > 1"
    )
    first, second, third, fourth = query.select
    assert isinstance(first, ast.FieldItem) and first.alias == "ind"
    assert isinstance(second, ast.AggregateItem) and second.alias == "cnt"
    assert isinstance(third, ast.AggregateItem) and third.aggregate.path is None
    assert isinstance(fourth, ast.AggregateItem) and fourth.aggregate.func == "SUM"
    assert isinstance(query.having, ast.Comparison)
    assert isinstance(query.having.left, ast.Aggregate)


def error_of(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as err:
        parse_query(soql)
    return err.value


def test_unexpected_token_message_has_caret() -> None:
    err = error_of("SELECT Id FORM Account")
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message == (
        "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FORM'"
    )
    assert err.as_error_body() == [{"message": err.message, "errorCode": "MALFORMED_QUERY"}]


def test_error_position_on_later_line() -> None:
    err = error_of("SELECT Id\nFROM Account\nWHERE Name = 'a' AND Name = 'b' OR Name = 'c'")
    assert (err.row, err.column) == (3, 33)
    assert err.detail == "unexpected token: 'OR'"
    assert err.message.startswith("\nWHERE Name = 'a' AND Name = 'b' OR Name = 'c'\n")


@pytest.mark.parametrize(
    ("soql", "detail"),
    [
        ("SELECT Id FROM", "unexpected token: '<EOF>'"),
        ("SELECT FROM Account", "unexpected token: 'FROM'"),
        ("SELECT Id, FROM Account", "unexpected token: 'FROM'"),
        ("SELECT Id FROM Account WHERE", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account WHERE Name = ", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account WHERE Name == 'x'", "unexpected token: '='"),
        ("SELECT Id FROM Account WHERE Name = :name", "Bind variables only allowed in Apex code"),
        ("SELECT Id FROM Account LIMIT -1", "unexpected token: '-1'"),
        ("SELECT Id FROM Account LIMIT 1.5", "unexpected token: '1.5'"),
        ("SELECT Id FROM Account WHERE (Name = 'x'", "unexpected token: '<EOF>'"),
        (
            "SELECT Id FROM Account WHERE Name = 'x' OR Id = 'y' AND Id = 'z'",
            "unexpected token: 'AND'",
        ),
        ("SELECT Id FROM Account WHERE Name = BOGUS_LITERAL", "unexpected token: 'BOGUS_LITERAL'"),
        ('SELECT Id FROM Account WHERE Name = "x"', "unexpected token: '\"'"),
        ("SELECT Id FROM Account ORDER Name", "unexpected token: 'Name'"),
        (
            "SELECT Id FROM Account WHERE Tags INCLUDES (1)",
            "INCLUDES and EXCLUDES take string values",
        ),
        ("SELECT Id FROM Account x y", "unexpected token: 'y'"),
        ("SELECT FIELDS(SOME) FROM Account", "unexpected token: 'SOME'"),
        ("SELECT LOWER(Name) FROM Account", "unsupported function: LOWER"),
        ("SELECT Id FROM Account GROUP BY ROLLUP(Name)", "GROUP BY ROLLUP is not supported"),
        ("SELECT Id FROM Account WITH NOTHING", "unexpected token: 'NOTHING'"),
        ("SELECT Id FROM Account WHERE Name = 'x' trailing", "unexpected token: 'trailing'"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2024-13-45", "unexpected token: '2024-13-45'"),
    ],
)
def test_malformed_queries(soql: str, detail: str) -> None:
    err = error_of(soql)
    assert err.error_code == "MALFORMED_QUERY"
    assert err.detail == detail


def test_not_in_and_semi_join_parse() -> None:
    query = parse_query(
        "SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact) AND Name IN ('a')"
    )
    assert isinstance(query.where, ast.BoolOp)
    semi, plain = query.where.operands
    assert isinstance(semi, ast.InList) and semi.negated and isinstance(semi.values, ast.Query)
    assert isinstance(plain, ast.InList) and not plain.negated
