"""`python -m salesforce_typed.demo`: start the fake org, then run every section in order."""

from __future__ import annotations

import importlib
import os
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from salesforce_typed.demo.output import heading, say

LOGIN = "log in: salesforce-typed login (web-server flow, PKCE), a browser played by httpx"
ROTATION = "a rotation survives a token store that lost its data"
SECTIONS = (
    "typed REST: CRUD, upsert, collections, queries, composite, SOSL, token rotation",
    "Bulk API 2.0: ingest 20,000 Accounts, reconcile, extract typed and to CSV",
    "SOAP convertLead, the new records read back typed over REST",
    "Change Data Capture: typed events at a listener while REST writes happen",
    "a faithful fake org: tree insert, derived values, real query rules, a restart",
    "typed queries: select(...) through REST, SOAP and Bulk, typed rows, require",
    "check-soql: string SOQL checked against the generated package",
    "a Bulk load that survives the process: journal, rerun, failed rows matched",
    "Bulk where latency rules: result pages downloaded ten at a time",
    "Pub/Sub API over gRPC: a CDC event typed, a platform event published and received",
    "typed columnar data: 1,000,000 rows to Parquet, then DuckDB",
    "schema drift: the org changes under the package",
)


def _timed(console: Console, n: int, title: str, run: Callable[[], None]) -> None:
    heading(console, n, title)
    started = time.perf_counter()
    run()
    say(console, f"[dim]({time.perf_counter() - started:.2f}s)[/]")


def _sections(console: Console, sf: Any, org: Any, folder: Path, ctx: ssl.SSLContext) -> None:
    from salesforce_typed.demo.bulk import bulk_tour
    from salesforce_typed.demo.bulk_jobs import bulk_jobs_tour
    from salesforce_typed.demo.bulk_overlap import bulk_overlap_tour
    from salesforce_typed.demo.cdc import cdc_tour
    from salesforce_typed.demo.check_soql import check_soql_tour
    from salesforce_typed.demo.columnar import columnar_tour
    from salesforce_typed.demo.fidelity import fidelity_tour
    from salesforce_typed.demo.pubsub import pubsub_tour
    from salesforce_typed.demo.query_builder import query_tour
    from salesforce_typed.demo.rest import rest_tour
    from salesforce_typed.demo.schema_drift import schema_drift_tour
    from salesforce_typed.demo.soap import soap_tour

    m = importlib.import_module("demo_org")
    runs: tuple[Callable[[], None], ...] = (
        lambda: rest_tour(console, sf, org, m),
        lambda: bulk_tour(console, sf, m, folder),
        lambda: soap_tour(console, sf, m),
        lambda: cdc_tour(console, sf, m),
        lambda: fidelity_tour(console, sf, m),
        lambda: query_tour(console, sf, m),
        lambda: check_soql_tour(console, sf, m),
        lambda: bulk_jobs_tour(console, sf, m),
        lambda: bulk_overlap_tour(console, sf, m, org, folder),
        lambda: pubsub_tour(console, sf, m, org),
        lambda: columnar_tour(console, sf, m, org, folder),  # leaves 1M Opportunities
        lambda: schema_drift_tour(console, sf, m, org),  # changes the schema: last
    )
    for n, (title, run) in enumerate(zip(SECTIONS, runs, strict=True), start=5):
        _timed(console, n, title, run)


def _summary(console: Console, sf: Any) -> None:
    table = Table("sObject", "records (SELECT COUNT())", title="the org after the tour")
    for name in ("Account", "Contact", "Lead", "Opportunity", "Invoice__c"):
        counted = sf.query(f"SELECT COUNT() FROM {name}")
        counted.all()
        table.add_row(name, f"{counted.total_size:,}")
    console.print(table)


def _connect(console: Console, org: Any, folder: Path) -> None:
    from salesforce_typed import Salesforce, SalesforceAuth
    from salesforce_typed.demo.generate import PACKAGE, generate
    from salesforce_typed.demo.login import ALIAS, log_in
    from salesforce_typed.demo.rotation import rotation_tour

    creds = org.credentials()
    say(console, f"{creds['instance_url']} (trusting its CA {Path(creds['ca_file']).name})")
    ctx = ssl.create_default_context(cafile=creds["ca_file"])
    home = folder / "home"  # this demo's SALESFORCE_TYPED_HOME: aliases.json, tokens/
    os.environ["SALESFORCE_TYPED_HOME"] = str(home)
    heading(console, 2, LOGIN)
    started = time.perf_counter()
    log_in(console, creds, ctx, home)
    with Salesforce.from_alias(ALIAS, verify=ctx) as sf:
        left = sf.limits()["DailyApiRequests"]["Remaining"]  # the login's token, from its store
    say(console, f"Salesforce.from_alias({ALIAS!r}).limits() → {left:,} API calls left")
    say(console, f"[dim]({time.perf_counter() - started:.2f}s)[/]")
    _timed(console, 3, ROTATION, lambda: rotation_tour(console, creds, ctx))
    with Salesforce.from_alias(ALIAS, verify=ctx, package=PACKAGE) as sf:
        sf.limits()  # sessions expired in section 3: this refreshes the alias's token
        auth = sf.connection.auth
        assert isinstance(auth, SalesforceAuth) and auth.token is not None
        heading(console, 4, "generate a typed package from the live org")
        generate(console, creds, auth.token.access_token, folder)
        sys.path.insert(0, str(folder))
        try:
            _sections(console, sf, org, folder, ctx)
            _summary(console, sf)
        finally:
            sys.path.remove(str(folder))


def main() -> int:
    from salesforce_typed.demo.invoice import INVOICE
    from salesforce_typed.testing.server import FakeOrg

    console = Console(soft_wrap=True)
    started = time.perf_counter()
    heading(console, 1, "start the embedded fake org (TLS, with a custom object Invoice__c)")
    home = os.environ.get("SALESFORCE_TYPED_HOME")
    with FakeOrg(tls=True) as org, tempfile.TemporaryDirectory(prefix="sf-demo-") as tmp:
        org.state.schema.add_describe(INVOICE)
        try:
            _connect(console, org, Path(tmp))
        finally:  # the demo's logins never touch the user's own aliases and tokens
            if home is None:
                os.environ.pop("SALESFORCE_TYPED_HOME", None)
            else:
                os.environ["SALESFORCE_TYPED_HOME"] = home
    console.print(f"\n[green]demo complete[/] in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
