"""Section 3: typed REST with the generated package, then a session expiry survived.

Shows CRUD, upsert by external id, collections chunked at 200, a typed error, lazy typed
queries (parent and child relationships, binds, paging), composite with references, SOSL,
and the auth flow refreshing with a rotated refresh token and replaying.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from rich.console import Console

from salesforce_typed.demo.output import check, say


def rest_tour(console: Console, sf: Any, org: Any, m: ModuleType) -> None:
    _crud(console, sf, m)
    _queries(console, sf, m)
    _composite(console, sf, m)
    _rotation(console, sf, org)


def _crud(console: Console, sf: Any, m: ModuleType) -> None:
    from salesforce_typed.core.errors import APIStatusError

    acme = sf.create(m.Account(Name="Acme Corp", Industry="Banking", AnnualRevenue=5e6))
    up = sf.upsert(
        m.Invoice__c(Name="INV-1", Amount__c=1200.0, Status__c="Draft", Account__c=acme.id),
        "Number__c",
        "N-0001",
    )
    again = sf.upsert(m.Invoice__c(Status__c="Sent"), "Number__c", "N-0001")
    say(
        console,
        f"created Account {acme.id}; upsert Invoice N-0001: created={up.created}, "
        f"then created={again.created}",
    )
    check(up.created and not again.created, "upsert by external id")
    buyers = [m.Contact(LastName=f"Buyer {i}", AccountId=acme.id) for i in range(250)]
    made = sum(r.success for r in sf.create_many(buyers))
    say(console, f"create_many: {made}/250 Contacts in 2 requests of ≤200")
    check(made == 250, "create_many")
    try:
        sf.create(m.Invoice__c(Name="bad", Status__c="Lost"))
    except APIStatusError as exc:  # Salesforce's errorCode, typed
        say(console, f"invalid picklist value → {type(exc).__name__} {exc.error_code}")
    else:
        check(False, "a restricted picklist accepted an unknown value")


def _queries(console: Console, sf: Any, m: ModuleType) -> None:
    soql = (
        "SELECT Id, Name, Amount__c, Status__c, Account__r.Name "
        "FROM Invoice__c WHERE Status__c = :s"
    )
    for inv in sf.query(m.Invoice__c, soql, {"s": "Sent"}):
        say(
            console,
            f"query with a bind: {inv.Name} {inv.Amount__c} {inv.Status__c!s}, "
            f"Account__r typed as {type(inv.Account__r).__name__} ({inv.Account__r.Name})",
        )
    rows = sf.query(m.Account, "SELECT Name, (SELECT LastName FROM Contacts) FROM Account")
    for acc in rows:
        kind = type(acc.Contacts.records[0]).__name__
        say(console, f"child subquery: {acc.Name} has {acc.Contacts.totalSize} {kind}s")
    n = sum(1 for _ in sf.query(m.Contact, "SELECT Id FROM Contact", page_size=200))
    say(console, f"{n} Contacts read lazily in pages of 200 (nextRecordsUrl followed)")


def _composite(console: Console, sf: Any, m: ModuleType) -> None:
    from salesforce_typed import CompositeRequest

    req = CompositeRequest(all_or_none=True)
    globex = req.create(m.Account(Name="Globex"), ref="globex")
    req.create(m.Invoice__c(Name="INV-2", Amount__c=99.5, Account__c=globex.id), ref="inv")
    result = sf.composite(req)
    hits = sf.search("FIND {Globex} IN NAME FIELDS RETURNING Account(Id, Name)")
    found = [f"{type(h).__name__}:{h.Name}" for h in hits]
    say(
        console,
        f"composite ok={result.ok}: Globex {result.created_id(globex)} with its Invoice; "
        f"SOSL finds {found}",
    )
    check(result.ok, "composite with references")


def _rotation(console: Console, sf: Any, org: Any) -> None:
    store, key = sf.connection.auth.store, sf.connection.auth.key
    before = store.get_token_data(key)
    org.state.expire_sessions()  # the next call gets 401 INVALID_SESSION_ID
    sf.limits()
    after = store.get_token_data(key)
    rotated = before.refresh_token != after.refresh_token
    say(
        console,
        f"session expired → refreshed (token version {before.version} → {after.version}), "
        f"refresh token rotated: {rotated}, request replayed; "
        f"API usage {sf.api_usage.used}/{sf.api_usage.limit}",
    )
    check(rotated, "refresh token rotation")
