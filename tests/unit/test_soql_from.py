"""The top-level FROM object of a query, and the model check built on it.

`query_object()` must never name an object from a subquery, a literal or a field name, and
must answer None rather than guess. The generated cases are cross-checked against the fake
org's own SOQL parser where it reads them. (hypothesis is not installed here, so a seeded
generator supplies the cases.)
"""

from __future__ import annotations

import random

import pytest

from salesforce_typed.core.errors import QueryModelMismatchError, UsageError
from salesforce_typed.rest.soql import check_query_model, query_object
from salesforce_typed.testing.soql import parse_query
from salesforce_typed.testing.soql.errors import SoqlError

# -- the table ----------------------------------------------------------------------------

FOUND: list[tuple[str, str]] = [
    ("SELECT Id FROM Account", "Account"),
    ("select id from account", "account"),
    ("SeLeCt Id FrOm Contact", "Contact"),
    ("  SELECT\n\tId\nFROM\n\tAccount\n", "Account"),
    ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "Account"),
    ("SELECT Id, (SELECT Id FROM Contacts), (SELECT Id FROM Cases) FROM Account", "Account"),
    ("SELECT Id, (SELECT Id, (SELECT Id FROM Notes) FROM Cases) FROM Account", "Account"),
    ("SELECT Id,(SELECT Id FROM Contacts)FROM Account", "Account"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", "Account"),
    ("SELECT Id FROM Account a", "Account"),
    ("SELECT a.Id FROM Account a WHERE a.Name != null", "Account"),
    ("SELECT Id FROM Contact c, c.Account a", "Contact"),
    ("SELECT Id FROM Contact,Contact.Account", "Contact"),
    ("SELECT Id FROM Account USING SCOPE mine", "Account"),
    ("SELECT Id FROM Account a USING SCOPE Team WHERE Name = 'x'", "Account"),
    ("SELECT Id FROM Account WITH SECURITY_ENFORCED", "Account"),
    ("SELECT Id FROM Account WITH USER_MODE LIMIT 5", "Account"),
    ("SELECT Id FROM Account LIMIT 1 FOR VIEW", "Account"),
    ("SELECT Id FROM Account FOR UPDATE", "Account"),
    ("SELECT COUNT() FROM Account", "Account"),
    ("SELECT Industry, COUNT(Id) cnt FROM Account GROUP BY Industry", "Account"),
    ("SELECT Industry, COUNT(Id) FROM Account GROUP BY ROLLUP(Industry)", "Account"),
    ("SELECT FIELDS(STANDARD) FROM Account", "Account"),
    ("SELECT toLabel(StageName), FORMAT(Amount) FROM Opportunity", "Opportunity"),
    ("SELECT TYPEOF What WHEN Account THEN Phone ELSE Name END FROM Event", "Event"),
    ("SELECT Id, FromAddress, From__c FROM EmailMessage", "EmailMessage"),
    ("SELECT Id, Owner.FromName FROM Lead", "Lead"),
    ("SELECT Id :from FROM Account", "Account"),  # a placeholder named from is not FROM
    ("SELECT Id, 'FROM Contact' FROM Account", "Account"),
    (r"SELECT Id, 'it\'s ( FROM Contact' FROM Account", "Account"),
    ("SELECT Id FROM Account WHERE Name = 'x FROM Contact ('", "Account"),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30", "Account"),
    ("SELECT Id FROM Group", "Group"),
    ("SELECT Id FROM Order", "Order"),
    ("SELECT Id FROM ns__Thing__c", "ns__Thing__c"),
    ("SELECT Id FROM Account__History", "Account__History"),
    ("SELECT Label FROM Setting__mdt", "Setting__mdt"),
    ("SELECT Id FROM Account WHERE Name = 'unclosed", "Account"),  # the FROM came first
]


@pytest.mark.parametrize(("soql", "expected"), FOUND, ids=[c[0][:60] for c in FOUND])
def test_query_object_finds_the_top_level_object(soql: str, expected: str) -> None:
    assert query_object(soql) == expected


UNCLEAR = [
    "",
    "   ",
    "SELECT Id",
    "SELECT Id FROM",
    "SELECT Id FROM  ",
    "SELECT Id FROM (SELECT Id FROM Account)",
    "SELECT Id FROM 123",
    "SELECT Id FROM Account.Contacts",
    "SELECT Id FROM 'Account'",
    "SELECT (Id FROM Account",
    "SELECT Id) FROM Account",
    "SELECT 'unclosed FROM Account",
    "SELECT Id, (SELECT Id FROM Contacts)",
    "FIND {Acme} RETURNING Account(Id)",
    "UPDATE Account SET Name = 'x'",
    "(SELECT Id FROM Account)",
    "Id FROM Account",
    "SELECTED Id FROM Account",
]


@pytest.mark.parametrize("soql", UNCLEAR)
def test_query_object_is_none_when_it_cannot_tell(soql: str) -> None:
    assert query_object(soql) is None


# -- check_query_model --------------------------------------------------------------------


def test_model_mismatch_is_refused_naming_both_objects() -> None:
    with pytest.raises(QueryModelMismatchError) as info:
        check_query_model("SELECT Id FROM Contact WHERE Email = 'secret@example.com'", "Account")
    message = str(info.value)
    assert "FROM Contact" in message and "model is Account" in message
    assert "secret" not in message
    assert isinstance(info.value, UsageError | ValueError)


def test_a_child_subquery_does_not_make_a_mismatch() -> None:
    soql = "SELECT Id, (SELECT Id FROM Contacts) FROM Account"
    check_query_model(soql, "Account")
    with pytest.raises(QueryModelMismatchError, match="FROM Account but the model is Contact"):
        check_query_model(soql, "Contact")


@pytest.mark.parametrize(
    ("soql", "model"),
    [
        ("select id from account", "Account"),
        ("SELECT Id FROM ACCOUNT a", "account"),
        ("SELECT COUNT() FROM Account", "Account"),
        ("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry", "Account"),
        ("SELECT Id FROM ns__Thing__c USING SCOPE mine", "NS__THING__C"),
        ("SELECT Id FROM Account WITH SECURITY_ENFORCED FOR VIEW", "Account"),
    ],
)
def test_matching_models_pass(soql: str, model: str) -> None:
    check_query_model(soql, model)


@pytest.mark.parametrize("soql", UNCLEAR)
def test_unclear_queries_are_left_to_salesforce(soql: str) -> None:
    check_query_model(soql, "Account")


def test_a_namespace_is_part_of_the_name() -> None:
    with pytest.raises(QueryModelMismatchError):
        check_query_model("SELECT Id FROM ns__Thing__c", "Thing__c")


# -- generated queries, cross-checked with the fake org's parser --------------------------

_OBJECTS = ["Account", "contact", "ns__Thing__c", "Order", "Group", "Account__History"]
_ITEMS = [
    "Id",
    "Name",
    "From__c",
    "Owner.FromName",
    "COUNT(Id) cnt",
    "(SELECT Id FROM Contacts)",
    "(SELECT Id, (SELECT Id FROM Notes) FROM Cases)",
    "(SELECT Id FROM Contacts WHERE Name = 'a) FROM Lead (')",
    "TYPEOF What WHEN Account THEN Phone END",
    "FIELDS(STANDARD)",
    "toLabel(Status)",
]
_ALIASES = ["", " a", " x1"]
_SCOPES = ["", " USING SCOPE mine", " USING SCOPE Team"]
_WHERES = [
    "",
    " WHERE Name = 'x FROM Contact ('",
    " WHERE Id IN (SELECT AccountId FROM Opportunity)",
    r" WHERE Name = 'it\'s) FROM Lead'",
    " WHERE CreatedDate = LAST_N_DAYS:30",
    " WHERE Name = :from",
]
_WITHS = ["", " WITH SECURITY_ENFORCED", " WITH USER_MODE"]
_TAILS = ["", " GROUP BY Name", " ORDER BY Name DESC NULLS LAST", " LIMIT 10", " FOR VIEW"]
_SPACES = [" ", "\n", "\t ", "  \n  "]


def _keyword(rng: random.Random, word: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in word)


def _generated(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        obj = rng.choice(_OBJECTS)
        items = ", ".join(rng.sample(_ITEMS, rng.randint(1, 4)))
        soql = (
            f"{rng.choice(_SPACES)}{_keyword(rng, 'select')}{rng.choice(_SPACES)}{items}"
            f"{rng.choice(_SPACES)}{_keyword(rng, 'from')}{rng.choice(_SPACES)}{obj}"
            f"{rng.choice(_ALIASES)}{rng.choice(_SCOPES)}{rng.choice(_WHERES)}"
            f"{rng.choice(_WITHS)}{rng.choice(_TAILS)}"
        )
        out.append((soql, obj))
    return out


GENERATED = _generated(seed=20240601, count=500)


def test_generated_queries_name_their_object() -> None:
    for soql, obj in GENERATED:
        assert query_object(soql) == obj, soql
        check_query_model(soql, obj.swapcase())
        other = "Lead" if obj != "Lead" else "Case"
        with pytest.raises(QueryModelMismatchError):
            check_query_model(soql, other)


def test_generated_queries_agree_with_the_fake_org_parser() -> None:
    parsed = 0
    for soql, obj in GENERATED:
        try:
            query = parse_query(soql)
        except SoqlError:
            continue  # a form the fake org does not read (TYPEOF, USING SCOPE, ...)
        parsed += 1
        assert query.from_name == query_object(soql) == obj, soql
    assert parsed >= 20


def test_truncated_queries_never_name_a_wrong_object() -> None:
    # A prefix names the real object (or the start of it, cut mid-name) or says None.
    for soql, obj in GENERATED[:100]:
        for end in range(len(soql) + 1):
            found = query_object(soql[:end])
            assert found is None or obj.startswith(found), soql[:end]
            if found is not None and found != obj:
                assert soql[:end].endswith(found)


# -- query_arguments: the one query shape every API takes ----------------------------------


def test_query_arguments_typed_binds_and_checks_the_model() -> None:
    import salesforce_typed_std as std
    from salesforce_typed.core.errors import QueryModelMismatchError, UsageError
    from salesforce_typed.rest.soql import query_arguments

    text, model = query_arguments(std.Account, "SELECT Id FROM Account WHERE Name = :n", {"n": "x"})
    assert (text, model) == ("SELECT Id FROM Account WHERE Name = 'x'", std.Account)
    with pytest.raises(QueryModelMismatchError):
        query_arguments(std.Account, "SELECT Id FROM Contact", None)
    with pytest.raises(UsageError):
        query_arguments(std.Account, {"n": 1}, None)  # soql and params swapped
    with pytest.raises(UsageError):
        query_arguments(std.Account, "SELECT Id FROM Account", ["x"])  # params not a mapping


def test_query_arguments_untyped_takes_soql_then_params() -> None:
    from salesforce_typed.core.errors import QueryBindError, UsageError
    from salesforce_typed.rest.soql import query_arguments

    assert query_arguments("SELECT Id FROM Lead WHERE Id = :i", {"i": "00Q"}, None) == (
        "SELECT Id FROM Lead WHERE Id = '00Q'",
        None,
    )
    with pytest.raises(QueryBindError):
        query_arguments("SELECT Id FROM Lead WHERE Id = :i", None, None)
    with pytest.raises(UsageError):
        query_arguments("SELECT Id FROM Lead", {}, {"x": 1})
