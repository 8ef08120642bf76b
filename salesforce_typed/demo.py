"""`make demo`: the whole tour on the embedded fake org, no Salesforce needed.

1. start a local fake org (over TLS) with a custom object `Invoice__c`;
2. generate a typed package for that org over REST (`--from-org`), as a user would;
3. use it: typed CRUD, upsert by external id, collections, a lazy typed query with
   parent and child relationships, SOQL binds, composite with references, SOSL;
4. watch the auth layer: the session expires, the client refreshes with a rotated
   refresh token and replays, and the API usage header is tracked.
"""

from __future__ import annotations

import importlib
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

INVOICE = {
    "name": "Invoice__c",
    "label": "Invoice",
    "labelPlural": "Invoices",
    "custom": True,
    "keyPrefix": "a0I",
    "createable": True,
    "updateable": True,
    "deletable": True,
    "queryable": True,
    "searchable": True,
    "triggerable": True,
    "childRelationships": [],
    "urls": {},
    "fields": [
        {
            "name": "Id",
            "type": "id",
            "label": "Record ID",
            "createable": False,
            "updateable": False,
            "nillable": False,
            "length": 18,
            "idLookup": True,
            "defaultedOnCreate": True,
        },
        {
            "name": "IsDeleted",
            "type": "boolean",
            "label": "Deleted",
            "createable": False,
            "updateable": False,
            "nillable": False,
            "defaultedOnCreate": True,
        },
        {
            "name": "Name",
            "type": "string",
            "label": "Invoice Number",
            "length": 80,
            "createable": True,
            "updateable": True,
            "nillable": False,
            "nameField": True,
        },
        {
            "name": "Number__c",
            "type": "string",
            "label": "Number",
            "length": 20,
            "createable": True,
            "updateable": True,
            "nillable": True,
            "externalId": True,
            "idLookup": True,
            "unique": True,
            "custom": True,
        },
        {
            "name": "Amount__c",
            "type": "currency",
            "label": "Amount",
            "precision": 16,
            "scale": 2,
            "createable": True,
            "updateable": True,
            "nillable": True,
            "custom": True,
        },
        {
            "name": "Status__c",
            "type": "picklist",
            "label": "Status",
            "length": 40,
            "createable": True,
            "updateable": True,
            "nillable": True,
            "custom": True,
            "restrictedPicklist": True,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
                for v in ("Draft", "Sent", "Paid")
            ],
        },
        {
            "name": "Due__c",
            "type": "date",
            "label": "Due",
            "createable": True,
            "updateable": True,
            "nillable": True,
            "custom": True,
        },
        {
            "name": "Account__c",
            "type": "reference",
            "label": "Account",
            "length": 18,
            "referenceTo": ["Account"],
            "relationshipName": "Account__r",
            "createable": True,
            "updateable": True,
            "nillable": True,
            "custom": True,
        },
        {
            "name": "CreatedDate",
            "type": "datetime",
            "label": "Created Date",
            "createable": False,
            "updateable": False,
            "nillable": False,
            "defaultedOnCreate": True,
        },
    ],
}


def _step(console: Console, n: int, text: str) -> None:
    console.print(f"\n[bold cyan]{n}.[/] [bold]{text}[/]")


def _generate(console: Console, creds: dict[str, str], token: str, out: Path) -> None:
    env = dict(
        os.environ,
        SF_INSTANCE_URL=creds["instance_url"],
        SF_ACCESS_TOKEN=token,
        SF_CA_FILE=creds["ca_file"],
    )
    started = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "salesforce_typed",
        "generate",
        "--from-org",
        "--out",
        str(out),
        "--package",
        "demo_org",
        "--objects",
        "Account",
        "--objects",
        "Contact",
        "--objects",
        "Invoice__c",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"generate failed: {done.stderr.strip()}")
    modules = sorted(p.name for p in (out / "demo_org").glob("*.py"))
    console.print(
        f"   salesforce-typed generate --from-org → {len(modules)} modules in "
        f"{time.perf_counter() - started:.2f}s: {', '.join(modules)}"
    )


def _tour(console: Console, sf: Any, org: Any) -> None:
    from salesforce_typed import CompositeRequest

    m = importlib.import_module("demo_org")
    Account, Contact, Invoice = m.Account, m.Contact, m.Invoice__c  # noqa: N806

    _step(console, 3, "typed CRUD, upsert by external id, collections")
    acme = sf.create(Account(Name="Acme Corp", Industry="Banking", AnnualRevenue=5e6))
    console.print(f"   created Account {acme.id}")
    up = sf.upsert(
        Invoice(Name="INV-1", Amount__c=1200.0, Status__c="Draft", Account__c=acme.id),
        "Number__c",
        "N-0001",
    )
    again = sf.upsert(Invoice(Status__c="Sent"), "Number__c", "N-0001")
    console.print(f"   upsert Invoice N-0001: created={up.created}, then created={again.created}")
    results = sf.create_many(
        [Contact(LastName=f"Buyer {i}", AccountId=acme.id) for i in range(250)]
    )
    console.print(f"   create_many: {sum(r.success for r in results)}/250 in 2 requests of ≤200")
    try:
        sf.create(Invoice(Name="bad", Status__c="Lost"))
    except Exception as exc:  # a typed error carrying Salesforce's errorCode
        console.print(f"   invalid picklist → {type(exc).__name__} {exc.error_code}")  # type: ignore[attr-defined]

    _step(console, 4, "a lazy, typed query with relationships and safe binds")
    query = sf.query(
        Invoice,
        "SELECT Id, Name, Amount__c, Status__c, Account__r.Name "
        "FROM Invoice__c WHERE Status__c = :s",
        {"s": "Sent"},
    )
    for inv in query:
        console.print(
            f"   {inv.Name}: {inv.Amount__c} {inv.Status__c!s} "
            f"(Account__r: {type(inv.Account__r).__name__} {inv.Account__r.Name})"
        )
    rows = sf.query(Account, "SELECT Name, (SELECT LastName FROM Contacts) FROM Account")
    for acc in rows:
        console.print(
            f"   {acc.Name}: {acc.Contacts.totalSize} contacts as "
            f"RelatedList[{type(acc.Contacts.records[0]).__name__}]"
        )
    contacts = sf.query(Contact, "SELECT Id FROM Contact", batch_size=200)
    n = sum(1 for _ in contacts)
    console.print(f"   {n} contacts paged lazily at batchSize=200 (nextRecordsUrl followed)")

    _step(console, 5, "composite with references, and SOSL")
    req = CompositeRequest(all_or_none=True)
    globex = req.create(Account(Name="Globex"), ref="globex")
    req.create(Invoice(Name="INV-2", Amount__c=99.5, Account__c=globex.id), ref="inv")
    result = sf.composite(req)
    console.print(f"   composite ok={result.ok}: Globex {result.created_id(globex)}")
    hits = sf.search("FIND {Globex} IN NAME FIELDS RETURNING Account(Id, Name)")
    console.print(f"   SOSL: {[type(h).__name__ + ':' + str(h.Name) for h in hits]}")

    _step(console, 6, "session expiry: refresh with a rotated token, replay, keep going")
    store = sf.connection.auth.store
    key = sf.connection.auth.key
    before = store.get_token_data(key)
    org.state.expire_sessions()
    sf.limits()
    after = store.get_token_data(key)
    rotated = before.refresh_token != after.refresh_token
    console.print(
        f"   refreshed: token version {before.version} → {after.version}, "
        f"refresh token rotated: {rotated}"
    )
    console.print(f"   API usage from Sforce-Limit-Info: {sf.api_usage.used}/{sf.api_usage.limit}")

    table = Table("sObject", "records (SELECT COUNT())")
    for name in ("Account", "Contact", "Invoice__c"):
        counted = sf.query(f"SELECT COUNT() FROM {name}")
        counted.all()
        table.add_row(name, str(counted.total_size))
    console.print(table)


def main() -> int:
    from salesforce_typed import RefreshTokenGrant, Salesforce, SalesforceAuth
    from salesforce_typed.stores.memory import MemoryTokenStore
    from salesforce_typed.testing.server import FakeOrg

    console = Console()
    _step(console, 1, "start the embedded fake org (TLS, with a custom object Invoice__c)")
    with FakeOrg(tls=True) as org, tempfile.TemporaryDirectory(prefix="sf-demo-") as tmp:
        org.state.schema.add_describe(INVOICE)
        creds = org.credentials()
        console.print(f"   {creds['instance_url']} (CA {Path(creds['ca_file']).name})")
        grant = RefreshTokenGrant(
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            refresh_token=creds["refresh_token"],
            token_url=creds["token_url"],
        )
        ctx = ssl.create_default_context(cafile=creds["ca_file"])
        with Salesforce(
            auth=grant, verify=ctx, package="demo_org", token_store=MemoryTokenStore()
        ) as sf:
            sf.limits()  # the first call fetches a token (and learns the instance URL)
            auth = sf.connection.auth
            assert isinstance(auth, SalesforceAuth) and auth.token is not None
            token = auth.token.access_token
            _step(console, 2, "generate a typed package from the live org")
            _generate(console, creds, token, Path(tmp))
            sys.path.insert(0, tmp)
            try:
                _tour(console, sf, org)
            finally:
                sys.path.remove(tmp)
    console.print("\n[green]demo complete[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
