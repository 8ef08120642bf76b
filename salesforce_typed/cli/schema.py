"""`salesforce-typed schema diff`: has the org changed under a generated package?

The org side is a live org (an alias from `salesforce-typed login`, or the environment
`generate --from-org` reads) or a folder of saved describes. Exit status: 0 no drift at or
above `--fail-on`, 1 drift, 2 usage error. `generate --check` runs the same engine.
"""

from __future__ import annotations

import asyncio
import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from salesforce_typed.cli.app import app, codegen_module

if TYPE_CHECKING:
    from salesforce_typed.schemadiff import DiffResult, Severity, Snapshot

schema_app = typer.Typer(no_args_is_help=True, help="Schema drift between a package and an org.")
app.add_typer(schema_app, name="schema")


class FailOn(enum.StrEnum):
    critical = "critical"
    warning = "warning"
    info = "info"


class Format(enum.StrEnum):
    text = "text"
    json = "json"


FailOnOption = Annotated[
    FailOn, typer.Option(help="Exit 1 when drift at or above this severity is found.")
]
FormatOption = Annotated[Format, typer.Option("--format", help="text (grouped) or json.")]


def severity(fail_on: FailOn) -> Severity:
    from salesforce_typed.schemadiff import Severity

    return Severity[fail_on.value.upper()]


def emit(result: DiffResult, fmt: Format, fail_on: FailOn) -> None:
    """Print the report on stdout; exit 1 on drift at or above `fail_on`."""
    from salesforce_typed.schemadiff import json_text, text

    level = severity(fail_on)
    render = json_text if fmt is Format.json else text
    typer.echo(render(result, level), nl=False)
    if result.fails(level):
        raise typer.Exit(1)


def usage_error(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _org_objects(
    package: Snapshot, alias: str | None, api_version: str
) -> tuple[str, str, dict[str, Any], list[str]]:
    """(source, API version, the org's objects the package has, every name it lists)."""
    from salesforce_typed.schemadiff import live, objects_from_ir

    verify: bool | str = os.environ.get("SF_CA_FILE") or True
    url, token = _session(alias, verify)
    version, listed, describes = asyncio.run(
        live.fetch(url, token, api_version=api_version, names=package.objects, verify=verify)
    )
    ir = codegen_module("load_describe").schema_from_describes(
        describes, source=url, sha256="", without_cdc=set()
    )
    return url, version, objects_from_ir(ir.sobjects), listed


def _session(alias: str | None, verify: bool | str) -> tuple[str, str]:
    """(instance URL, access token): the alias's grant and store, else the environment."""
    if alias is None:
        from salesforce_typed.cli.generate import _org_session

        return _org_session(verify)
    import ssl

    import httpx

    from salesforce_typed.auth.aliases import grant_from_alias
    from salesforce_typed.auth.flow import SalesforceAuth
    from salesforce_typed.core.errors import UsageError

    grant, store = grant_from_alias(alias)
    context = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
    try:
        with httpx.Client(verify=context) as client:
            session = SalesforceAuth(grant, store=store).get_token(client)
    except httpx.HTTPError as exc:  # its text never holds the form (the secrets)
        raise UsageError(f"token request failed: {type(exc).__name__}: {exc}") from None
    return session.instance_url, session.access_token


@schema_app.command("diff")
def diff(
    package: Annotated[
        str, typer.Option(help="The generated package: an importable name or its folder.")
    ],
    from_describe: Annotated[
        Path | None, typer.Option(help="Compare with a folder of saved describe JSON instead.")
    ] = None,
    alias: Annotated[
        str | None, typer.Option(help="A logged-in org (salesforce-typed login --alias).")
    ] = None,
    api_version: Annotated[
        str | None, typer.Option(help="Describe at this version (default: the package's).")
    ] = None,
    fail_on: FailOnOption = FailOn.critical,
    fmt: FormatOption = Format.text,
) -> None:
    """Compare a generated package with a live org or saved describes; report the drift."""
    from salesforce_typed.core.errors import SalesforceError
    from salesforce_typed.schemadiff import compare, import_package, objects_from_ir
    from salesforce_typed.schemadiff import package_snapshot as snapshot_of

    errors = codegen_module("errors")
    if from_describe is not None and alias is not None:
        raise usage_error("give --from-describe or --alias, not both")
    try:
        module = import_package(package)
        mine = snapshot_of(module)
        if from_describe is not None:
            ir = codegen_module("load_describe").load_describe_dir(from_describe)
            theirs, source = objects_from_ir(ir.sobjects), str(from_describe)
            listed: list[str] = []
            version = api_version or mine.api_version
        else:
            version = api_version if api_version is not None else mine.api_version
            source, version, theirs, listed = _org_objects(mine, alias, version)
    except (SalesforceError, errors.CodegenError) as exc:
        raise usage_error(str(exc)) from None
    result = compare(
        module.__name__, mine, theirs, source=source, listed=listed, api_version=version
    )
    emit(result, fmt, fail_on)


__all__ = ["FailOn", "Format", "diff", "emit", "schema_app"]
