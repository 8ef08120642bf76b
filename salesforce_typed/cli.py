"""The `salesforce-typed` command line: generate, fake-org, bulk, listen.

Needs the `cli` extra (typer, rich); `generate` also needs `codegen` and `fake-org serve`
needs `fake-org`. A command whose extra is missing exits 2 naming the pip command, never a
bare ModuleNotFoundError. The generator installs as `salesforce_typed_codegen` (a user's own
`codegen/` folder cannot shadow it); a source checkout has it as `codegen/`.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import shlex
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from codegen.ir import SchemaDef

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Typed Salesforce toolkit.")

# extra -> the modules it installs that its commands import.
EXTRAS: dict[str, tuple[str, ...]] = {
    "codegen": ("jinja2",),
    "fake-org": ("uvicorn", "httptools"),
}


def require_extra(extra: str) -> None:
    """Exit 2 with the pip command when the extra a command needs is not installed."""
    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        typer.echo(
            f"error: this command needs the '{extra}' extra ({', '.join(missing)} missing): "
            f"pip install 'salesforce-typed[{extra}]'",
            err=True,
        )
        raise typer.Exit(2)


def codegen_module(name: str) -> Any:
    """`codegen.<name>`: installed as salesforce_typed_codegen, a checkout's codegen/."""
    require_extra("codegen")
    try:
        module: ModuleType = importlib.import_module(f"salesforce_typed_codegen.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != "salesforce_typed_codegen":
            raise
        module = importlib.import_module(f"codegen.{name}")
    return module


def _show_version(value: bool) -> None:
    if value:
        from salesforce_typed import __version__

        typer.echo(f"salesforce-typed {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Print the version and exit.", callback=_show_version),
    ] = False,
) -> None:
    """salesforce-typed: typed models, REST/Bulk/SOAP/CDC clients and a local fake org."""


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
            if from_spec is not None or from_describe is not None:
                base = pipeline.load_inputs(spec=from_spec, describe=from_describe)
                schema = codegen_module("derive").overlay(base, schema)
        else:
            schema = pipeline.load_inputs(spec=from_spec, describe=from_describe)
        written = pipeline.build(
            schema, out=out, package=package, objects=patterns, standalone=True, regen=regen
        )
    except errors.CodegenError as exc:
        console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
        raise typer.Exit(2) from None
    modules = sum(1 for w in written if w.endswith(".py"))
    console.print(f"wrote {package}: {modules} modules to", escape(str(out)), highlight=False)


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
    SF_TOKEN_URL). Messages name variables, never their values."""
    import ssl
    import time

    import httpx

    from salesforce_typed.auth.grants import RefreshTokenGrant
    from salesforce_typed.core.errors import SalesforceError

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
    now = time.time()
    try:
        with httpx.Client(verify=context) as client:
            response = client.send(grant.build_token_request(now))
        session = grant.parse_token_response(response, now)
    except httpx.HTTPError as exc:  # its text never holds the form (the secrets)
        message = f"token request failed: {type(exc).__name__}: {exc}"
        raise codegen_error(message, source=grant.token_url) from None
    except SalesforceError as exc:
        raise codegen_error(f"refresh token grant failed: {exc}", source=grant.token_url) from None
    return env.get("SF_INSTANCE_URL") or session.instance_url, session.access_token


fake_org_app = typer.Typer(no_args_is_help=True, help="The local fake Salesforce org.")
app.add_typer(fake_org_app, name="fake-org")


# `export` lines for these and, first, `unset` lines for the variables the CLI would prefer
# over them (a stale SF_ACCESS_TOKEN wins over SF_REFRESH_TOKEN) or that this org lacks.
_ENV_FILE_UNSET = ("SF_ACCESS_TOKEN", "SF_CA_FILE")


def _env_file_text(credentials: dict[str, str]) -> str:
    """`. ./fake-org.env` sets exactly the SF_* variables the CLI and `from_env()` read."""
    lines = ["# salesforce-typed fake-org serve: source it (. ./fake-org.env); holds secrets"]
    lines.append("unset " + " ".join(_ENV_FILE_UNSET))
    lines += [f"export SF_{key.upper()}={shlex.quote(value)}" for key, value in credentials.items()]
    return "\n".join(lines) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    """Write a temp file beside `path`, then rename it over: a reader polling with
    `[ -s PATH ]` sees nothing or the whole file. Mode 0600: the file holds secrets."""
    import tempfile

    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


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
    env_file: Annotated[
        Path | None,
        typer.Option(
            help="Also write `export SF_...=...` lines for every credential to this file "
            "(atomically, mode 0600; removed at exit), to load with `. ./fake-org.env`."
        ),
    ] = None,
    rotation: Annotated[
        bool,
        typer.Option(
            help="Refresh Token Rotation: each refresh spends the refresh token, as in many "
            "orgs. --no-rotation lets several processes (shell commands, scripts) each start "
            "from the same SF_REFRESH_TOKEN without a shared token store."
        ),
    ] = True,
    cdc: Annotated[
        bool,
        typer.Option(
            help="Record Change Data Capture events for every write from startup, so "
            "`listen --replay -2` sees writes made before it connected. --no-cdc spares big "
            "loads the cost until streaming is first used."
        ),
    ] = True,
) -> None:
    """Start a fake org; print ONE JSON line with everything a client needs, then serve."""
    require_extra("fake-org")
    import json
    import signal
    import threading

    if env_file is not None and not env_file.parent.is_dir():
        typer.echo(f"error: --env-file: no folder {env_file.parent}", err=True)
        raise typer.Exit(2)

    from salesforce_typed.testing import streaming
    from salesforce_typed.testing.org.schema import standard_schema
    from salesforce_typed.testing.org.state import OrgConfig
    from salesforce_typed.testing.server import FakeOrg

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
        config=OrgConfig(
            api_version=api_version.removeprefix("v"), refresh_token_rotation=rotation
        ),
    )
    if cdc:
        streaming.enable(org.state)  # capture on before the first request can write
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with org:
        credentials = org.credentials()
        written = _env_file_text(credentials)
        if env_file is not None:
            _write_atomically(env_file, written)
        try:
            print(json.dumps(credentials), flush=True)
            stop.wait()
        finally:
            # Only our own file: the next `until [ -s PATH ]` must not read dead credentials.
            if env_file is not None and _read_or_none(env_file) == written:
                env_file.unlink(missing_ok=True)


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def main() -> None:
    app()


# --- bulk CLI ---
# `salesforce-typed bulk load|extract`: Bulk API 2.0 from the shell. The connection comes from
# the environment (SF_INSTANCE_URL + SF_ACCESS_TOKEN, or SF_CLIENT_ID / SF_CLIENT_SECRET /
# SF_REFRESH_TOKEN / SF_TOKEN_URL; SF_CA_FILE to trust a private CA). Exit status: 0 when every
# row loaded, 1 when rows failed or were left unprocessed, 2 when nothing could be done
# (settings, a malformed file, an API error). Secrets are handed to the grant only.

bulk_app = typer.Typer(no_args_is_help=True, help="Bulk API 2.0: load a CSV file, extract SOQL.")
app.add_typer(bulk_app, name="bulk")

_BULK_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


def _bulk_connect(console: Console) -> object:
    """A sync `Salesforce` client from the environment, or exit 2 naming what is missing."""
    import ssl

    from salesforce_typed.auth.grants import LOGIN_TOKEN_URL, AccessTokenAuth, RefreshTokenGrant
    from salesforce_typed.rest._sync.client import Salesforce

    env = os.environ
    ca_file = env.get("SF_CA_FILE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    instance_url = env.get("SF_INSTANCE_URL") or None
    auth: object
    if env.get("SF_ACCESS_TOKEN"):
        if not instance_url:
            console.print(
                "[red]error:[/red] SF_ACCESS_TOKEN needs SF_INSTANCE_URL", highlight=False
            )
            raise typer.Exit(2)
        auth = AccessTokenAuth(access_token=env["SF_ACCESS_TOKEN"], instance_url=instance_url)
    elif env.get("SF_CLIENT_ID") and env.get("SF_REFRESH_TOKEN"):
        auth = RefreshTokenGrant(
            client_id=env["SF_CLIENT_ID"],
            client_secret=env.get("SF_CLIENT_SECRET") or None,
            refresh_token=env["SF_REFRESH_TOKEN"],
            token_url=env.get("SF_TOKEN_URL") or LOGIN_TOKEN_URL,
        )
    else:
        console.print(
            "[red]error:[/red] set SF_INSTANCE_URL and SF_ACCESS_TOKEN, or SF_CLIENT_ID and "
            "SF_REFRESH_TOKEN (with SF_CLIENT_SECRET and SF_TOKEN_URL as needed)",
            highlight=False,
        )
        raise typer.Exit(2)
    return Salesforce(auth=auth, instance_url=instance_url, verify=verify)


def _bulk_write_results(result: object, folder: Path) -> list[Path]:
    """successful.csv, failed.csv, unprocessed.csv; `row` is the 1-based input data row."""
    import csv
    from collections.abc import Iterable

    from salesforce_typed.bulk2._sync.results import IngestResult

    assert isinstance(result, IngestResult)
    folder.mkdir(parents=True, exist_ok=True)

    def number(index: int | None) -> str:
        return "" if index is None else str(index + 1)

    sets: list[tuple[str, list[str], Iterable[tuple[list[str], dict[str, str]]]]] = [
        (
            "successful.csv",
            ["row", "sf__Id", "sf__Created"],
            (
                ([number(r.input_index), r.id, "true" if r.created else "false"], r.values)
                for r in result.successful()
            ),
        ),
        (
            "failed.csv",
            ["row", "sf__Id", "sf__Error"],
            (
                ([number(r.input_index), r.id or "", str(r.error)], r.values)
                for r in result.failed()
            ),
        ),
        (
            "unprocessed.csv",
            ["row"],
            (([number(r.input_index)], r.values) for r in result.unprocessed()),
        ),
    ]
    written = []
    for name, marks, rows in sets:
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            first = True
            for head, values in rows:
                if first:
                    writer.writerow([*marks, *values])
                    first = False
                writer.writerow([*head, *values.values()])
        written.append(path)
    return written


@bulk_app.command("load")
def bulk_load(
    sobject: Annotated[str, typer.Argument(help="The sObject, e.g. Account.")],
    file: Annotated[Path, typer.Argument(help="A CSV file with a header of API field names.")],
    operation: Annotated[str, typer.Option(help="insert, update, upsert, delete, hardDelete.")] = (
        "insert"
    ),
    external_id: Annotated[str | None, typer.Option(help="The external id field (upsert).")] = None,
    results: Annotated[
        Path | None, typer.Option(help="Write successful/failed/unprocessed CSVs here.")
    ] = None,
    delimiter: Annotated[str, typer.Option(help="The file's columnDelimiter.")] = "COMMA",
    line_ending: Annotated[str, typer.Option(help="The job's lineEnding (LF or CRLF).")] = "LF",
) -> None:
    """Load a CSV file with Bulk API 2.0; exit 1 if any row failed or was not processed."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from salesforce_typed.bulk import BulkProgress
    from salesforce_typed.bulk2._sync.client import Bulk2
    from salesforce_typed.core.errors import SalesforceError
    from salesforce_typed.jobs.csv_chunks import DELIMITERS, CsvInputError
    from salesforce_typed.rest._sync.client import Salesforce

    console = Console(stderr=True, soft_wrap=True)
    if operation not in _BULK_OPERATIONS or delimiter not in DELIMITERS:
        console.print("[red]error:[/red] bad --operation or --delimiter", highlight=False)
        raise typer.Exit(2)
    if line_ending not in ("LF", "CRLF"):
        console.print("[red]error:[/red] --line-ending is LF or CRLF", highlight=False)
        raise typer.Exit(2)
    sf = _bulk_connect(console)
    assert isinstance(sf, Salesforce)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with sf, Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("uploading", total=None)

        def show(event: BulkProgress) -> None:
            if event.phase == "upload":
                bar.update(task, total=event.rows_uploaded, description="uploading")
            else:
                bar.update(task, completed=event.processed, description=f"{event.state}")

        try:
            result = Bulk2(sf).ingest(
                sobject,
                csv_path=file,
                operation=operation,  # type: ignore[arg-type]
                external_id_field=external_id,
                column_delimiter=delimiter,  # type: ignore[arg-type]
                line_ending=line_ending,  # type: ignore[arg-type]
                progress=show,
            )
        except (CsvInputError, SalesforceError, OSError, ValueError) as exc:
            bar.stop()
            console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
            raise typer.Exit(2) from None
        with result:
            bar.stop()
            counts = result.counts
            for job in result.jobs:
                print(
                    f"job {job.id}: {job.state}"
                    + (f" ({job.error_message})" if job.error_message else "")
                )
            print(
                f"{sobject} {operation}: {counts.total} rows, {counts.successful} successful, "
                f"{counts.failed} failed, {counts.unprocessed} unprocessed"
            )
            if results is not None:
                for path in _bulk_write_results(result, results):
                    print(f"wrote {path}")
    if counts.failed or counts.unprocessed:
        raise typer.Exit(1)


@bulk_app.command("extract")
def bulk_extract(
    soql: Annotated[str, typer.Argument(help="The SOQL query.")],
    out: Annotated[Path, typer.Option(help="The CSV file to write.")],
    include_deleted: Annotated[bool, typer.Option(help="queryAll: deleted rows too.")] = False,
    page_size: Annotated[int, typer.Option(help="Rows per results page (maxRecords).")] = 50_000,
) -> None:
    """Run a Bulk API 2.0 query job and stream its rows into one CSV file."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from salesforce_typed.bulk import BulkProgress
    from salesforce_typed.bulk2._sync.client import Bulk2
    from salesforce_typed.core.errors import SalesforceError
    from salesforce_typed.rest._sync.client import Salesforce

    console = Console(stderr=True, soft_wrap=True)
    sf = _bulk_connect(console)
    assert isinstance(sf, Salesforce)
    with (
        sf,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
        ) as bar,
    ):
        task = bar.add_task("query job running", total=None)

        def show(event: BulkProgress) -> None:
            bar.update(task, description=f"{event.rows_downloaded or event.processed} rows")

        try:
            written = Bulk2(sf).query_to_csv(
                soql, out, include_deleted=include_deleted, page_size=page_size, progress=show
            )
        except (SalesforceError, OSError, ValueError) as exc:
            bar.stop()
            console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
            raise typer.Exit(2) from None
    print(f"job {written.job_id}: {written.records} rows, {written.bytes} bytes to {written.path}")


# --- listen CLI ---
# `salesforce-typed listen CHANNEL`: one JSON line per event on stdout, diagnostics on stderr.
# The connection comes from the environment, checked in this order (explicit, no guessing
# between half-set variables): SF_INSTANCE_URL + SF_ACCESS_TOKEN; SF_REFRESH_TOKEN (+
# SF_CLIENT_ID, SF_CLIENT_SECRET, SF_TOKEN_URL); SF_USERNAME + SF_PASSWORD (+ SF_CLIENT_ID,
# SF_CLIENT_SECRET, SF_SECURITY_TOKEN, SF_TOKEN_URL). SF_CA_FILE trusts a private CA.

if TYPE_CHECKING:
    from salesforce_typed.auth.grants import AccessTokenAuth, TokenGrant


def _listen_auth_from_env() -> tuple[TokenGrant | AccessTokenAuth, str | None]:
    """(grant, instance_url) from the environment; secrets never reach a message."""
    from salesforce_typed.auth.grants import (
        LOGIN_TOKEN_URL,
        AccessTokenAuth,
        PasswordGrant,
        RefreshTokenGrant,
    )

    env = os.environ
    token_url = env.get("SF_TOKEN_URL") or LOGIN_TOKEN_URL
    instance_url = env.get("SF_INSTANCE_URL") or None
    if env.get("SF_ACCESS_TOKEN"):
        if not instance_url:
            raise ValueError("SF_ACCESS_TOKEN needs SF_INSTANCE_URL")
        return AccessTokenAuth(access_token=env["SF_ACCESS_TOKEN"], instance_url=instance_url), None
    if env.get("SF_REFRESH_TOKEN"):
        if not env.get("SF_CLIENT_ID"):
            raise ValueError("SF_REFRESH_TOKEN needs SF_CLIENT_ID (and usually SF_CLIENT_SECRET)")
        grant: TokenGrant = RefreshTokenGrant(
            client_id=env["SF_CLIENT_ID"],
            client_secret=env.get("SF_CLIENT_SECRET") or None,
            refresh_token=env["SF_REFRESH_TOKEN"],
            token_url=token_url,
        )
        return grant, instance_url
    if env.get("SF_USERNAME") and env.get("SF_PASSWORD"):
        if not env.get("SF_CLIENT_ID") or not env.get("SF_CLIENT_SECRET"):
            raise ValueError("SF_USERNAME/SF_PASSWORD need SF_CLIENT_ID and SF_CLIENT_SECRET")
        grant = PasswordGrant(
            client_id=env["SF_CLIENT_ID"],
            client_secret=env["SF_CLIENT_SECRET"],
            username=env["SF_USERNAME"],
            password=env["SF_PASSWORD"],
            security_token=env.get("SF_SECURITY_TOKEN", ""),
            token_url=token_url,
        )
        return grant, instance_url
    raise ValueError(
        "no Salesforce connection in the environment: set SF_INSTANCE_URL and SF_ACCESS_TOKEN, "
        "or SF_CLIENT_ID/SF_CLIENT_SECRET/SF_REFRESH_TOKEN/SF_TOKEN_URL, "
        "or SF_USERNAME/SF_PASSWORD with SF_CLIENT_ID/SF_CLIENT_SECRET"
    )


@app.command()
def listen(
    channel: Annotated[str, typer.Argument(help="/data/AccountChangeEvent, /event/X__e, ...")],
    replay: Annotated[
        int, typer.Option(help="-1: new events only, -2: all retained, N: events after N.")
    ] = -1,
    max_events: Annotated[
        int | None, typer.Option(help="Exit after this many events (for scripts and tests).")
    ] = None,
    fallback: Annotated[
        str, typer.Option(help="When the replay id is gone: earliest, tip or stop.")
    ] = "earliest",
    api_version: Annotated[str, typer.Option(help="API version of /cometd/NN.0.")] = "62.0",
) -> None:
    """Print the events of one channel as JSON lines (connection from SF_* variables)."""
    import json
    import logging
    import sys

    from salesforce_typed import AsyncSalesforce
    from salesforce_typed.streaming import ReplayFallback, StreamEvent

    try:
        choice = {"earliest": ReplayFallback.EARLIEST, "tip": ReplayFallback.TIP}
        chosen = choice.get(fallback.lower(), ReplayFallback.STOP)
        if fallback.lower() not in (*choice, "stop"):
            raise ValueError(f"--fallback takes earliest, tip or stop, not {fallback!r}")
        auth, instance_url = _listen_auth_from_env()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s"
    )
    count = 0

    async def run() -> None:
        # The listener shares the client's token, pool and TLS setting (SF_CA_FILE).
        async with AsyncSalesforce(
            auth=auth,
            instance_url=instance_url,
            api_version=api_version,
            verify=os.environ.get("SF_CA_FILE") or True,
        ) as sf:
            listener = sf.listener(
                replay_fallback=chosen,
                on_error=lambda e: typer.echo(f"warning: {type(e).__name__}: {e}", err=True),
            )

            def show(event: StreamEvent) -> None:
                nonlocal count
                print(json.dumps(event.to_json(), default=str), flush=True)
                count += 1
                if max_events is not None and count >= max_events:
                    listener.stop()

            listener.channel(channel, replay=replay, on_message=show)
            await listener.run()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
