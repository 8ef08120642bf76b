"""`make demo`: generate typed packages, then put the models to work.

Until the fake org is in, the tour runs offline: it regenerates the standard package from
specs/, generates a per-org package from saved describes when ../shared/realdata is there,
and shows the models decoding, validating and building payloads.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"


def _generate(console: Console, tmp: Path) -> None:
    from codegen.pipeline import build, load_inputs

    started = time.perf_counter()
    files = build(load_inputs(catalog=ROOT / "specs" / "standard"), out=tmp, package="demo_std")
    console.print(
        f"[bold]1. generated[/] the standard package: {len(files)} files in "
        f"{time.perf_counter() - started:.2f}s"
    )
    describes = REALDATA / "fixtures" / "rest" / "cumulusci" / "describe"
    if describes.is_dir():
        started = time.perf_counter()
        files = build(
            load_inputs(describe=describes), out=tmp, package="demo_org", standalone=False
        )
        console.print(
            f"   and a per-org package from {len(list(describes.glob('*.json')))} "
            f"saved describes: {len(files)} files in "
            f"{time.perf_counter() - started:.2f}s"
        )


def _tour(console: Console) -> None:
    std = importlib.import_module("demo_std")

    console.print("\n[bold]2. typed construction[/]: UNSET is not None")
    acc = std.Account(Name="Acme", Industry=std.AccountIndustryPicklist.BANKING, Website=None)
    console.print(
        f"   std.Account(Name='Acme', Industry=BANKING, Website=None).BillingCity -> "
        f"{acc.BillingCity!r}"
    )
    console.print(f"   create payload: {json.dumps(acc.to_create_payload())}")

    console.print("\n[bold]3. decoding a REST record[/] (nulls, datetimes, address, parent)")
    raw = {
        "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/003"},
        "Id": "003Hs00003ZkQp1IAF",
        "LastName": "Doe",
        "Email": None,
        "CreatedDate": "2024-01-01T00:00:00.000+0000",
        "MailingAddress": {"city": "Paris", "country": "FR", "street": None},
        "Account": {"attributes": {"type": "Account", "url": "/x"}, "Name": "Acme"},
        "Region__c": "EMEA",
    }
    con = std.Contact.from_dict(raw)
    table = Table("field", "Python value", "type")
    for name in ("LastName", "Email", "CreatedDate", "MailingAddress", "Account"):
        value = getattr(con, name)
        table.add_row(name, repr(value)[:60], type(value).__name__)
    table.add_row("Region__c (unknown)", repr(con["Region__c"]), "kept in extra_fields")
    console.print(table)
    console.print(f"   round trip equal: {con.to_dict() == raw}")

    console.print("\n[bold]4. run-time metadata[/] from describe")
    info = std.Account.field_info("Name")
    console.print(
        f"   Account.Name: type={info.type} length={info.length} "
        f"nillable={info.nillable} createable={info.createable}"
    )
    values = std.Account.field_info("Industry").picklist_values
    console.print(f"   Account.Industry values: {', '.join(values[:5])}, …")

    console.print("\n[bold]5. a change event[/] as the CDC listener will hand it over")
    ev = std.AccountChangeEvent.from_dict(
        {
            "ChangeEventHeader": {
                "entityName": "Account",
                "recordIds": ["001A", "001B"],
                "changeType": "UPDATE",
                "changedFields": ["Rating"],
                "commitTimestamp": 1714564800000,
            },
            "Rating": "Hot",
        }
    )
    header = ev.ChangeEventHeader
    console.print(
        f"   {header.changeType} {header.recordIds} changed={header.changedFields} "
        f"Rating={ev.Rating!r}"
    )

    console.print("\n[bold]6. typed REST operations[/] (pure request builders)")
    spec = std.AccountEndpoints.build_upsert("Id", "001Hs00003ZkQp1IAF", acc)
    console.print(f"   {spec.method} {spec.path} {json.dumps(spec.json)}")

    if importlib.util.find_spec("demo_org") is not None:
        org = importlib.import_module("demo_org")
        custom = org.Custom__c
        console.print(
            f"\n[bold]7. per-org package[/]: {len(org.SOBJECTS)} types incl. "
            f"Custom__c fields {[f.name for f in custom.__sf_fields__]}"
        )
    console.print(f"\ndone at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC")


def main() -> int:
    console = Console()
    with tempfile.TemporaryDirectory(prefix="sf-demo-") as tmp:
        _generate(console, Path(tmp))
        sys.path.insert(0, tmp)
        try:
            _tour(console)
        finally:
            sys.path.remove(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
