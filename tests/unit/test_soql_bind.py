"""SOQL binds: every value is one literal, and no value can change the query's shape.

The property tests bind nasty strings and parse the result with the fake org's own SOQL
parser: the WHERE clause must stay one comparison whose literal is the original value.
(hypothesis is not installed here, so a seeded generator supplies the cases.)
"""

from __future__ import annotations

import datetime as dt
import enum
import random
import re
from decimal import Decimal
from typing import Any

import pytest

import salesforce_typed_std as std
from salesforce_typed.core.errors import QueryBindError, SalesforceError, UsageError
from salesforce_typed.rest.soql import LikePattern, bind, check_unbound, escape_like, quote
from salesforce_typed.testing.soql import ast, parse_query

UTC = dt.UTC


class Color(str, enum.Enum):
    RED = "red"
    QUOTED = "it's"


class Level(enum.IntEnum):
    HIGH = 3


# -- the table ----------------------------------------------------------------------------

CASES: list[tuple[object, str]] = [
    ("Acme", "'Acme'"),
    ("", "''"),
    ("O'Brien", r"'O\'Brien'"),
    ('say "hi"', r"""'say \"hi\"'"""),
    ("back\\slash", r"'back\\slash'"),
    ("a\nb\rc\td\be\ff", r"'a\nb\rc\td\be\ff'"),
    ("50%_off", "'50%_off'"),  # plain strings keep LIKE wildcards: only escape_like escapes
    ("Zoë 漢字 😀", "'Zoë 漢字 😀'"),
    ("' OR Id != null", r"'\' OR Id != null'"),
    (True, "true"),
    (False, "false"),
    (None, "null"),
    (0, "0"),
    (-42, "-42"),
    (10**30, "1" + "0" * 30),
    (1.5, "1.5"),
    (1.0, "1.0"),
    (-0.25, "-0.25"),
    (1e-7, "0.0000001"),
    (1e16, "10000000000000000.0"),
    (0.1, "0.1"),
    (Decimal("100"), "100"),
    (Decimal("1E+2"), "100"),
    (Decimal("1.500"), "1.5"),
    (Decimal("-0.010"), "-0.01"),
    (Decimal("1.0000000000000000000000000000001"), "1.0000000000000000000000000000001"),
    (dt.date(2024, 1, 31), "2024-01-31"),
    (dt.date(999, 1, 2), "0999-01-02"),
    (dt.datetime(2024, 1, 31, 10, 30, 5), "2024-01-31T10:30:05Z"),
    (dt.datetime(2024, 1, 31, 10, 30, 5, 999999), "2024-01-31T10:30:05Z"),
    (
        dt.datetime(2024, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "2023-12-31T23:00:00Z",
    ),
    (dt.datetime(2024, 1, 1, 1, 0, tzinfo=UTC), "2024-01-01T01:00:00Z"),
    (Color.RED, "'red'"),
    (Color.QUOTED, r"'it\'s'"),
    (Level.HIGH, "3"),
    (std.AccountIndustryPicklist.BANKING, "'Banking'"),
    (["a", "b"], "('a','b')"),
    (("x",), "('x')"),
    ([1, None, True], "(1,null,true)"),
    ({"b", "a", "c"}, "('a','b','c')"),
    (frozenset({10, 9, 100}), "(9,10,100)"),
    ({1, "a"}, "('a',1)"),  # mixed types: ordered by their literals
    ("%" + escape_like("50%_\\") + "%", r"'%50\%\_\\%'"),
]


@pytest.mark.parametrize(("value", "expected"), CASES, ids=[repr(c[0])[:30] for c in CASES])
def test_quote_table(value: object, expected: str) -> None:
    assert quote(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("sNaN"),
    ],
)
def test_non_finite_numbers_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="no literal"):
        quote(value)


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[31m", "v\x0bt", "\ud800"])
def test_control_characters_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="U\\+"):
        quote(text)


@pytest.mark.parametrize(
    "value",
    [b"bytes", object(), dt.time(10, 30), {"a": 1}, [["nested"]], std.Account(Name="A")],
    ids=["bytes", "object", "time", "dict", "nested-list", "sobject"],
)
def test_unsupported_types_are_type_errors(value: object) -> None:
    with pytest.raises(TypeError, match="cannot bind"):
        quote(value)


def test_sobject_error_says_what_to_do() -> None:
    with pytest.raises(TypeError, match=r"Account record.*record\.Id"):
        bind("SELECT Id FROM Contact WHERE AccountId = :acc", {"acc": std.Account(Name="A")})


@pytest.mark.parametrize("empty", [[], (), set(), frozenset()])
def test_empty_in_list_is_a_value_error(empty: Any) -> None:
    with pytest.raises(ValueError, match="empty IN list"):
        bind("SELECT Id FROM Account WHERE Id IN :ids", {"ids": empty})


# -- placeholders -------------------------------------------------------------------------


def test_bind_replaces_placeholders() -> None:
    soql = "SELECT Id FROM Account WHERE Name = :name AND Industry IN :inds LIMIT :n"
    out = bind(soql, {"name": "Acme", "inds": ["Energy", "Banking"], "n": 5})
    assert out == (
        "SELECT Id FROM Account WHERE Name = 'Acme' AND Industry IN ('Energy','Banking') LIMIT 5"
    )


def test_same_placeholder_twice() -> None:
    out = bind("SELECT Id FROM Account WHERE Name = :v OR Site = :v", {"v": "x"})
    assert out == "SELECT Id FROM Account WHERE Name = 'x' OR Site = 'x'"


def test_date_literal_suffixes_are_not_placeholders() -> None:
    soql = (
        "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 "
        "AND LastModifiedDate < NEXT_N_WEEKS:2 AND Name = :name"
    )
    out = bind(soql, {"name": "A"})
    assert "LAST_N_DAYS:30" in out and "NEXT_N_WEEKS:2" in out and out.endswith("Name = 'A'")
    parse_query(out)


def test_placeholders_inside_string_literals_are_text() -> None:
    soql = r"SELECT Id FROM Account WHERE Name = ':name' AND Site = 'it\'s :x' AND Phone = :p"
    assert bind(soql, {"p": "1"}) == soql.replace(":p", "'1'")


def test_placeholder_right_after_operator_without_space() -> None:
    assert bind("SELECT Id FROM Account WHERE Name=:n", {"n": "A"}).endswith("Name='A'")


def test_misspelled_name_is_a_query_bind_error_naming_both() -> None:
    with pytest.raises(QueryBindError) as info:
        bind("SELECT Id FROM Account WHERE Name = :acctName", {"acctname": "s3cr3t"})
    message = str(info.value)
    assert "no value for :acctName" in message
    assert "no placeholder for 'acctname'" in message
    assert "did you mean 'acctName' instead of 'acctname'" in message
    assert "s3cr3t" not in message
    assert isinstance(info.value, UsageError | SalesforceError | ValueError)
    assert not isinstance(info.value, KeyError)


def test_leading_colon_in_a_name_gets_a_hint() -> None:
    with pytest.raises(QueryBindError, match="did you mean 'name' instead of ':name'"):
        bind("SELECT Id FROM Account WHERE Name = :name", {":name": "a"})


def test_every_missing_placeholder_is_named_once_in_order() -> None:
    soql = "SELECT Id FROM Account WHERE Name = :b AND Site = :a AND Phone = :b AND Id = :c"
    with pytest.raises(QueryBindError) as info:
        bind(soql, {"c": "1"})
    assert "no value for :b, :a;" in str(info.value)
    assert "placeholders in the query: :b, :a, :c; names given: 'c'" in str(info.value)


def test_unused_parameters_are_a_query_bind_error() -> None:
    with pytest.raises(QueryBindError, match="no placeholder for 'nmae', 'zzz'") as info:
        bind("SELECT Id FROM Account WHERE Name = :name", {"name": "a", "nmae": "b", "zzz": 1})
    assert "did you mean" not in str(info.value)  # :name has its value: nothing to suggest


def test_params_for_a_query_without_placeholders_are_refused() -> None:
    with pytest.raises(
        QueryBindError, match=r"no placeholder for 'n'.*placeholders in the query: none"
    ):
        bind("SELECT Id FROM Account WHERE Name = ':n'", {"n": "token-value"})


@pytest.mark.parametrize("params", [{}, None])
def test_missing_params_are_refused(params: dict[str, object] | None) -> None:
    with pytest.raises(QueryBindError, match=":n"):
        bind("SELECT Id FROM Account LIMIT :n", params)


def test_unterminated_literal_is_refused() -> None:
    soql = "SELECT Id FROM Account WHERE Name = 'abc-secret AND Id = :v"
    with pytest.raises(QueryBindError, match="unterminated string literal at offset 36") as info:
        bind(soql, {"v": "x"})
    assert "secret" not in str(info.value)


def test_a_bad_value_names_its_placeholder_in_a_note() -> None:
    with pytest.raises(TypeError, match="cannot bind") as info:
        bind("SELECT Id FROM Account WHERE Name = :name", {"name": b"raw"})
    assert "while binding the SOQL placeholder :name" in info.value.__notes__


def test_bind_none_returns_text_without_placeholders_unchanged() -> None:
    soql = "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 AND Name = ':x'"
    assert bind(soql, None) == soql


# -- check_unbound ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "SELECT Id FROM Account",
        "SELECT Id FROM Account WHERE Name = ':name'",
        r"SELECT Id FROM Account WHERE Name = 'it\'s :x' AND Site = '\\:y'",
        "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30",
        "SELECT Id FROM Opportunity WHERE CloseDate < NEXT_N_FISCAL_QUARTERS:2",
        "SELECT Id FROM Account WHERE CreatedDate > 2024-01-31T10:30:05Z",
        "SELECT Id FROM Account WHERE CreatedDate > 2024-01-31T10:30:05+05:30",
        "SELECT Id FROM Account WHERE Name = 'a:b' OR Name = 'LAST_N_DAYS:3'",
        "SELECT Id, (SELECT Id FROM Contacts WHERE Name = ':c') FROM Account",
        r"FIND {a\:b} RETURNING Account(Id)",
        r"FIND {O\'Brien :x} RETURNING Contact",
        "",
    ],
)
def test_check_unbound_accepts_text_without_placeholders(text: str) -> None:
    check_unbound(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("SELECT Id FROM Account WHERE Name = :name", ":name"),
        ("SELECT Id FROM Account WHERE Name=:n", ":n"),
        ("SELECT Id FROM Account WHERE Id IN :ids AND Name = :n AND Site = :ids", ":ids, :n"),
        ("SELECT Id FROM Account WHERE Name = ':x' AND Site = :site", ":site"),
        ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 LIMIT :lim", ":lim"),
        ("SELECT Id, (SELECT Id FROM Contacts WHERE Name = :c) FROM Account", ":c"),
        ("FIND {acme} RETURNING Account(Id WHERE Site = :site)", ":site"),
        ("SELECT Id FROM Account WHERE Name = :n AND Site = 'unclosed :later", ":n"),
    ],
)
def test_check_unbound_names_the_placeholders(text: str, names: str) -> None:
    with pytest.raises(QueryBindError, match="no params were given") as info:
        check_unbound(text)
    assert f"given: {names};" in str(info.value)


def test_check_unbound_leaves_an_unclosed_quote_to_salesforce() -> None:
    # Salesforce answers MALFORMED_QUERY for this; guessing placeholders after it would not help.
    check_unbound("SELECT Id FROM Account WHERE Name = 'abc AND Id = :v")


def test_no_placeholders_no_params_is_identity() -> None:
    soql = "SELECT Id FROM Account WHERE Name = 'a:b'"
    assert bind(soql, {}) == soql


def test_like_pattern_joins() -> None:
    pat = escape_like("a_b") + "%" + escape_like("%")
    assert isinstance(pat, LikePattern)
    assert quote(pat) == r"'a\_b%\%'"
    assert quote("_" + escape_like("'")) == r"'_\''"


# Text that looks like a placeholder but is not one, and real placeholders.
_DECOYS = [
    "Name = ':x'",
    r"Name = 'it\'s :y'",
    "CreatedDate = LAST_N_DAYS:30",
    "CloseDate < NEXT_N_WEEKS:2",
    "CreatedDate > 2024-01-31T10:30:05+05:30",
    "Site = 'a:b:c'",
    "Name != null",
]
_NAMES = ["n", "name", "acctName", "ids", "x_1", "_p"]


def _placeholder_queries(seed: int, count: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        conditions: list[str] = []
        names: list[str] = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.5:
                conditions.append(rng.choice(_DECOYS))
            else:
                name = rng.choice(_NAMES)
                conditions.append(
                    f"{rng.choice(['Name', 'Site', 'Id'])} {rng.choice(['=', 'IN'])} :{name}"
                )
                if name not in names:
                    names.append(name)
        out.append(("SELECT Id FROM Account WHERE " + " AND ".join(conditions), names))
    return out


PLACEHOLDER_QUERIES = _placeholder_queries(seed=99, count=300)


def test_check_unbound_finds_exactly_the_placeholders() -> None:
    for soql, names in PLACEHOLDER_QUERIES:
        if not names:
            check_unbound(soql)
            assert bind(soql, None) == soql
            continue
        with pytest.raises(QueryBindError) as info:
            check_unbound(soql)
        assert f"given: {', '.join(':' + n for n in names)};" in str(info.value), soql


def test_bind_refuses_any_missing_or_extra_name() -> None:
    rng = random.Random(5)
    for soql, names in PLACEHOLDER_QUERIES:
        params: dict[str, object] = {n: f"secret-{n}" for n in names}
        check_unbound(bind(soql, params))  # every placeholder became a literal
        if names and rng.random() < 0.5:
            dropped = rng.choice(names)
            del params[dropped]
            expected = f":{dropped}"
        else:
            params["extra"] = "secret-extra"
            expected = "'extra'"
        with pytest.raises(QueryBindError, match=expected) as info:
            bind(soql, params)
        assert "secret" not in str(info.value)


# -- properties against the fake org's parser ---------------------------------------------

_PIECES = [
    "'",
    '"',
    "\\",
    "\\'",
    "\\\\'",
    "\n",
    "\r\n",
    "\t",
    "\b",
    "\f",
    "%",
    "_",
    "' OR Id != null",
    "' OR Name LIKE '%",
    "') OR (Name = '",
    ":v",
    ":other",
    "LAST_N_DAYS:30",
    "@{acc.id}",
    "--",
    "/*",
    "*/",
    ";",
    " ",
    "é",
    "漢",
    "😀",
    "\u2028",
    "\u00a0",
    "\x7f",
    "\u0085",
    "\\u0041",
    "null",
    "\\n",
]


def _nasty_strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = ["", "'", "\\", "' OR Id != null", "\\'); DELETE", "x' AND Name = 'y"]
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 8)):
            if rng.random() < 0.7:
                parts.append(rng.choice(_PIECES))
            else:
                parts.append(chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0x2FFF)])))
        out.append("".join(parts))
    return out


NASTY = _nasty_strings(seed=20240531, count=400)


def _where(soql: str) -> ast.Condition:
    where = parse_query(soql).where
    assert where is not None
    return where


def test_bound_strings_stay_one_literal() -> None:
    for text in NASTY:
        where = _where(bind("SELECT Id FROM Account WHERE Name = :v", {"v": text}))
        assert isinstance(where, ast.Comparison), text
        assert where.op == "="
        assert isinstance(where.value, ast.StringLit)
        assert where.value.value == text


def test_bound_strings_keep_the_query_shape() -> None:
    soql = "SELECT Id FROM Account WHERE Name = :a AND Site != :b LIMIT 1"
    for a, b in zip(NASTY, reversed(NASTY), strict=True):
        query = parse_query(bind(soql, {"a": a, "b": b}))
        assert query.limit == 1
        where = query.where
        assert isinstance(where, ast.BoolOp) and where.op == "AND"
        left, right = where.operands
        assert isinstance(left, ast.Comparison) and isinstance(left.value, ast.StringLit)
        assert isinstance(right, ast.Comparison) and isinstance(right.value, ast.StringLit)
        assert (left.value.value, right.value.value) == (a, b)


def test_bound_lists_stay_one_in_list() -> None:
    rng = random.Random(7)
    for _ in range(100):
        values = rng.sample(NASTY, rng.randint(1, 6))
        where = _where(bind("SELECT Id FROM Account WHERE Name IN :vs", {"vs": values}))
        assert isinstance(where, ast.InList) and not where.negated
        assert isinstance(where.values, tuple)
        assert [v.value for v in where.values if isinstance(v, ast.StringLit)] == values


def _like_regex(like_pattern: str) -> re.Pattern[str]:
    """The parser's SQL LIKE form (ESCAPE '\\') as a regex."""
    out = []
    i = 0
    while i < len(like_pattern):
        ch = like_pattern[i]
        if ch == "\\":
            out.append(re.escape(like_pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def test_escape_like_matches_only_itself() -> None:
    for text in NASTY:
        where = _where(bind("SELECT Id FROM Account WHERE Name LIKE :p", {"p": escape_like(text)}))
        assert isinstance(where, ast.Comparison) and where.op == "LIKE"
        assert isinstance(where.value, ast.StringLit)
        regex = _like_regex(where.value.like_pattern)
        assert regex.fullmatch(text), text
        if "%" in text or "_" in text:
            # a wildcard would also match this; the escaped pattern must not
            assert not regex.fullmatch(text.replace("%", "XX").replace("_", "Y"))


def test_like_contains_pattern() -> None:
    for text in NASTY[:100]:
        bound = bind(
            "SELECT Id FROM Account WHERE Name LIKE :p", {"p": "%" + escape_like(text) + "%"}
        )
        where = _where(bound)
        assert isinstance(where, ast.Comparison) and isinstance(where.value, ast.StringLit)
        assert _like_regex(where.value.like_pattern).fullmatch(f"before{text}after")


def test_bound_numbers_parse_back_to_the_same_value() -> None:
    rng = random.Random(11)
    floats = [rng.uniform(-1e6, 1e6) for _ in range(100)]
    floats += [rng.random() * 10.0 ** rng.randint(-20, 20) for _ in range(100)]
    floats += [5e-324, 1.7976931348623157e308, -0.0]
    for value in floats:
        where = _where(bind("SELECT Id FROM Account WHERE AnnualRevenue > :v", {"v": value}))
        assert isinstance(where, ast.Comparison) and isinstance(where.value, ast.NumberLit)
        assert "e" not in where.value.text.lower()
        assert float(where.value.text) == value
    for dec in [Decimal("123.4500"), Decimal("-1E-30"), Decimal("9" * 40), Decimal("0E+5")]:
        where = _where(bind("SELECT Id FROM Account WHERE AnnualRevenue > :v", {"v": dec}))
        assert isinstance(where, ast.Comparison) and isinstance(where.value, ast.NumberLit)
        assert Decimal(where.value.text) == dec and "E" not in where.value.text


def test_bound_dates_and_datetimes_parse_back() -> None:
    rng = random.Random(3)
    for _ in range(50):
        moment = dt.datetime(2000, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=rng.randint(0, 10**9))
        offset = dt.timezone(dt.timedelta(minutes=rng.randint(-720, 840)))
        local = moment.astimezone(offset)
        where = _where(bind("SELECT Id FROM Account WHERE CreatedDate >= :t", {"t": local}))
        assert isinstance(where, ast.Comparison) and isinstance(where.value, ast.DateTimeLit)
        assert where.value.value == moment
        day = moment.date()
        where = _where(bind("SELECT Id FROM Opportunity WHERE CloseDate = :d", {"d": day}))
        assert isinstance(where, ast.Comparison) and isinstance(where.value, ast.DateLit)
        assert where.value.value == day


def test_booleans_and_null_parse_as_literals() -> None:
    where = _where(
        bind("SELECT Id FROM Account WHERE IsDeleted = :b AND Site = :n", {"b": False, "n": None})
    )
    assert isinstance(where, ast.BoolOp)
    first, second = where.operands
    assert isinstance(first, ast.Comparison) and first.value == ast.BoolLit(False, first.value.pos)
    assert isinstance(second, ast.Comparison) and isinstance(second.value, ast.NullLit)


def test_public_surface() -> None:
    from salesforce_typed.rest import soql

    assert soql.__all__ == [
        "LikePattern",
        "bind",
        "check_query_model",
        "check_unbound",
        "escape_like",
        "query_arguments",
        "query_object",
        "quote",
    ]
