"""`salesforce-typed generate`: a typed package from a spec, saved describes or a live org."""

from __future__ import annotations

import asyncio
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import attrs
import typer

if TYPE_CHECKING:
    from rich.console import Console

    from codegen.ir import SchemaDef
from salesforce_typed.cli.app import app, codegen_module
from salesforce_typed.cli.schema import (
    FailOn,
    FailOnOption,
    Format,
    FormatOption,
    emit,
    usage_error,
)


def _shown(path: Path, absolute_as: str | None = None) -> str:
    """A path for the header: as typed when relative; an absolute one would make the output
    differ from machine to machine, so it shows as `absolute_as` or its last name."""
    if not path.is_absolute():
        return path.as_posix()
    return absolute_as if absolute_as is not None else path.name


def _regen_command(
    out: Path,
    package: str,
    from_spec: Path | None,
    from_describe: Path | None,
    from_org: bool,
    objects: list[str],
    api_version: str,
) -> str:
    """The user's command that regenerates this package, for its do-not-edit header."""
    words = ["salesforce-typed", "generate"]
    if from_spec is not None:
        words += ["--from-spec", _shown(from_spec)]
    if from_describe is not None:
        words += ["--from-describe", _shown(from_describe)]
    if from_org:
        words += ["--from-org", "--api-version", api_version]
    for pattern in objects:
        words += ["--objects", pattern]
    words += ["--out", _shown(out, "."), "--package", package]
    return shlex.join(words)


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
        bool,
        typer.Option(
            help="Describe a live org: SF_INSTANCE_URL and SF_ACCESS_TOKEN, or SF_REFRESH_TOKEN, "
            "SF_CLIENT_ID, SF_CLIENT_SECRET, SF_TOKEN_URL; SF_CA_FILE trusts a private CA."
        ),
    ] = False,
    objects: Annotated[
        list[str] | None, typer.Option(help="Glob of sObjects to include (repeatable).")
    ] = None,
    api_version: Annotated[str, typer.Option(help="API version for --from-org.")] = "62.0",
    check: Annotated[
        bool,
        typer.Option(
            help="Write nothing: compare the inputs with the package already in --out and "
            "exit 1 on drift, as `schema diff` does."
        ),
    ] = False,
    fail_on: FailOnOption = FailOn.critical,
    fmt: FormatOption = Format.text,
) -> None:
    """Generate a pip-installable package of typed models for an org."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, soft_wrap=True)
    pipeline = codegen_module("pipeline")
    errors = codegen_module("errors")
    patterns = objects or []
    regen = _regen_command(out, package, from_spec, from_describe, from_org, patterns, api_version)
    try:
        pipeline.check_package_name(package)  # before any input is read or output written
        if from_org:
            schema = _describe_org(api_version, patterns, console)
            schema = attrs.evolve(schema, api_version=api_version)  # for schema diff
            if from_spec is not None or from_describe is not None:
                base = pipeline.load_inputs(spec=from_spec, describe=from_describe)
                schema = codegen_module("derive").overlay(base, schema)
        else:
            schema = pipeline.load_inputs(spec=from_spec, describe=from_describe)
        if check:
            _check(out / package, pipeline.select(schema, patterns), fail_on, fmt)
            return
        written = pipeline.build(
            schema, out=out, package=package, objects=patterns, standalone=True, regen=regen
        )
    except errors.CodegenError as exc:
        console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
        raise typer.Exit(2) from None
    modules = sum(1 for w in written if w.endswith(".py"))
    console.print(f"wrote {package}: {modules} modules to", escape(str(out)), highlight=False)


def _check(folder: Path, schema: SchemaDef, fail_on: FailOn, fmt: Format) -> None:
    """`--check`: the package in `folder` against the inputs, through schema diff's engine."""
    from salesforce_typed.core.errors import UsageError
    from salesforce_typed.schemadiff import compare, import_package, objects_from_ir
    from salesforce_typed.schemadiff import package_snapshot as snapshot_of

    try:
        mine = snapshot_of(import_package(str(folder)))
    except UsageError as exc:
        raise usage_error(str(exc)) from None
    theirs = objects_from_ir(schema.sobjects)
    source = schema.source or "the inputs"
    emit(
        compare(folder.name, mine, theirs, source=source, api_version=schema.api_version),
        fmt,
        fail_on,
    )


def _describe_org(api_version: str, patterns: list[str], console: Console) -> SchemaDef:
    from rich.progress import Progress

    fetch_describes = codegen_module("load_org").fetch_describes

    verify: bool | str = os.environ.get("SF_CA_FILE") or True
    url, token = _org_session(verify)
    with Progress(transient=True) as bar:
        task = bar.add_task("describing", total=None)

        def step(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=f"describe {name}")

        schema: SchemaDef = asyncio.run(
            fetch_describes(
                url, token, api_version=api_version, patterns=patterns, progress=step, verify=verify
            )
        )
    return schema


def _org_session(verify: bool | str) -> tuple[str, str]:
    """(instance_url, access_token) for --from-org: SF_ACCESS_TOKEN (+ SF_INSTANCE_URL) as
    given, else one refresh-token grant call (SF_REFRESH_TOKEN, SF_CLIENT_ID, SF_CLIENT_SECRET,
    SF_TOKEN_URL) through the auth flow and the file store (SF_TOKEN_STORE=memory opts out), so
    a rotated refresh token is kept for the next command. Messages name variables, never
    their values."""
    import ssl

    import httpx

    from salesforce_typed.auth.flow import SalesforceAuth
    from salesforce_typed.auth.grants import RefreshTokenGrant
    from salesforce_typed.core.errors import SalesforceError
    from salesforce_typed.stores.file import default_token_store

    codegen_error = codegen_module("errors").CodegenError
    env = os.environ
    if env.get("SF_ACCESS_TOKEN"):
        if not env.get("SF_INSTANCE_URL"):
            raise codegen_error("--from-org: SF_ACCESS_TOKEN needs SF_INSTANCE_URL set")
        return env["SF_INSTANCE_URL"], env["SF_ACCESS_TOKEN"]
    if not env.get("SF_REFRESH_TOKEN"):
        raise codegen_error(
            "--from-org needs SF_INSTANCE_URL and SF_ACCESS_TOKEN set, or SF_REFRESH_TOKEN and "
            "SF_CLIENT_ID (with SF_CLIENT_SECRET and SF_TOKEN_URL as your connected app needs)"
        )
    if not env.get("SF_CLIENT_ID"):
        raise codegen_error("--from-org: SF_REFRESH_TOKEN needs SF_CLIENT_ID set")
    grant = RefreshTokenGrant.from_env()
    context = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
    try:
        auth = SalesforceAuth(grant, store=default_token_store())
        with httpx.Client(verify=context) as client:
            session = auth.get_token(client)
    except httpx.HTTPError as exc:  # its text never holds the form (the secrets)
        message = f"token request failed: {type(exc).__name__}: {exc}"
        raise codegen_error(message, source=grant.token_url) from None
    except SalesforceError as exc:
        raise codegen_error(f"refresh token grant failed: {exc}", source=grant.token_url) from None
    return env.get("SF_INSTANCE_URL") or session.instance_url, session.access_token
