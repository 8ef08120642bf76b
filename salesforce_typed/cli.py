"""The `salesforce-typed` command line: generate (later: fake-org, bulk, listen)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from codegen.ir import SchemaDef

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Typed Salesforce toolkit.")


@app.callback()
def _main() -> None:
    """salesforce-typed: typed models, REST/Bulk/SOAP/CDC clients and a local fake org."""


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the package (and pyproject) into.")],
    package: Annotated[str, typer.Option(help="Python package name, e.g. acme_sf.")],
    from_spec: Annotated[
        Path | None, typer.Option(help="sObjects OpenAPI 3 spec (oas3) JSON file.")
    ] = None,
    from_describe: Annotated[
        Path | None, typer.Option(help="Folder of describe JSON (+ describeGlobal.json).")
    ] = None,
    from_org: Annotated[
        bool, typer.Option(help="Describe a live org: SF_INSTANCE_URL and SF_ACCESS_TOKEN.")
    ] = False,
    objects: Annotated[
        list[str] | None, typer.Option(help="Glob of sObjects to include (repeatable).")
    ] = None,
    api_version: Annotated[str, typer.Option(help="API version for --from-org.")] = "62.0",
) -> None:
    """Generate a pip-installable package of typed models for an org."""
    from rich.console import Console
    from rich.markup import escape

    from codegen.errors import CodegenError
    from codegen.pipeline import build, load_inputs

    console = Console(stderr=True, soft_wrap=True)
    patterns = objects or []
    try:
        if from_org:
            schema = _describe_org(api_version, patterns, console)
            if from_spec is not None or from_describe is not None:
                from codegen.derive import overlay

                base = load_inputs(spec=from_spec, describe=from_describe)
                schema = overlay(base, schema)
        else:
            schema = load_inputs(spec=from_spec, describe=from_describe)
        written = build(schema, out=out, package=package, objects=patterns, standalone=True)
    except CodegenError as exc:
        console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
        raise typer.Exit(2) from None
    modules = sum(1 for w in written if w.endswith(".py"))
    console.print(f"wrote {package}: {modules} modules to", escape(str(out)), highlight=False)


def _describe_org(api_version: str, patterns: list[str], console: Console) -> SchemaDef:
    from rich.progress import Progress

    from codegen.errors import CodegenError
    from codegen.load_org import fetch_describes

    url = os.environ.get("SF_INSTANCE_URL")
    token = os.environ.get("SF_ACCESS_TOKEN")
    if not url or not token:
        raise CodegenError("--from-org needs SF_INSTANCE_URL and SF_ACCESS_TOKEN set")
    verify: bool | str = os.environ.get("SF_CA_FILE") or True
    with Progress(transient=True) as bar:
        task = bar.add_task("describing", total=None)

        def step(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=f"describe {name}")

        return asyncio.run(
            fetch_describes(
                url, token, api_version=api_version, patterns=patterns, progress=step, verify=verify
            )
        )


fake_org_app = typer.Typer(no_args_is_help=True, help="The local fake Salesforce org.")
app.add_typer(fake_org_app, name="fake-org")


@fake_org_app.command("serve")
def fake_org_serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 0,
    tls: Annotated[bool, typer.Option(help="Serve https with a self-signed CA.")] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the org's data in this folder across restarts.")
    ] = None,
    api_version: Annotated[str, typer.Option(help="The newest API version served.")] = "62.0",
    describe_dir: Annotated[
        Path | None, typer.Option(help="Load custom objects from describe JSON files.")
    ] = None,
    package: Annotated[
        list[str] | None, typer.Option(help="Load the sObjects of a generated package.")
    ] = None,
) -> None:
    """Start a fake org; print ONE JSON line with everything a client needs, then serve."""
    import json
    import signal
    import threading

    from salesforce_typed.testing.schema import standard_schema
    from salesforce_typed.testing.server import FakeOrg
    from salesforce_typed.testing.state import OrgConfig

    schema = standard_schema()
    for name in package or []:
        schema.add_package(name)
    if describe_dir is not None:
        schema.add_describe_dir(describe_dir)
    org = FakeOrg(
        host=host,
        port=port,
        tls=tls,
        data_dir=data_dir,
        schema=schema,
        config=OrgConfig(api_version=api_version.removeprefix("v")),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with org:
        print(json.dumps(org.credentials()), flush=True)
        stop.wait()


def main() -> None:
    app()
