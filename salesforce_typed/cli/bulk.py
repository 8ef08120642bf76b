"""`salesforce-typed bulk load|extract`: Bulk API 2.0 from the shell.

The connection comes from the environment (SF_INSTANCE_URL + SF_ACCESS_TOKEN, or SF_CLIENT_ID /
SF_CLIENT_SECRET / SF_REFRESH_TOKEN / SF_TOKEN_URL; SF_CA_FILE to trust a private CA). A refreshed
token is kept in the file store (`FileTokenStore()`, SF_TOKEN_STORE=memory opts out), so the
next run starts from the rotated refresh token, not the revoked seed in SF_REFRESH_TOKEN. Exit
status: 0 when every row loaded, 1 when rows failed or were left unprocessed, 2 when nothing
could be done (settings, a malformed file, an API error). Secrets are handed to the grant only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

from salesforce_typed.cli.app import app

bulk_app = typer.Typer(no_args_is_help=True, help="Bulk API 2.0: load a CSV file, extract SOQL.")
app.add_typer(bulk_app, name="bulk")

_BULK_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


def _bulk_connect(console: Console) -> object:
    """A sync `Salesforce` client from the environment, or exit 2 naming what is missing."""
    import ssl

    from rich.markup import escape

    from salesforce_typed.auth.grants import LOGIN_TOKEN_URL, AccessTokenAuth, RefreshTokenGrant
    from salesforce_typed.auth.token import TokenStore
    from salesforce_typed.core.errors import UsageError
    from salesforce_typed.rest._sync.client import Salesforce
    from salesforce_typed.stores.file import default_token_store

    env = os.environ
    ca_file = env.get("SF_CA_FILE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    instance_url = env.get("SF_INSTANCE_URL") or None
    auth: object
    store: TokenStore | None = None
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
        try:
            store = default_token_store(env)
        except UsageError as exc:
            console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
            raise typer.Exit(2) from None
    else:
        console.print(
            "[red]error:[/red] set SF_INSTANCE_URL and SF_ACCESS_TOKEN, or SF_CLIENT_ID and "
            "SF_REFRESH_TOKEN (with SF_CLIENT_SECRET and SF_TOKEN_URL as needed)",
            highlight=False,
        )
        raise typer.Exit(2)
    return Salesforce(auth=auth, instance_url=instance_url, verify=verify, token_store=store)


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
    file: Annotated[
        Path, typer.Argument(help="A CSV (or .parquet) file with API field names as columns.")
    ],
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
            # columnar: a .parquet file goes in row group by row group (columnar/cli.py).
            source: dict[str, Any] = {"csv_path": file}
            if file.suffix.lower() == ".parquet":
                from salesforce_typed.columnar.cli import parquet_as_csv

                source = {"csv_path": parquet_as_csv(file)}
            result = Bulk2(sf).ingest(
                sobject,
                **source,
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
    format: Annotated[  # columnar: typed output (columnar/cli.py)
        str, typer.Option(help="csv, parquet, arrow (an Arrow IPC stream) or jsonl.")
    ] = "csv",
) -> None:
    """Run a Bulk API 2.0 query job and stream its rows into one file (CSV by default)."""
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
            if format != "csv":  # columnar: parquet, arrow, jsonl
                from salesforce_typed.columnar.cli import extract_command

                extract_command(Bulk2(sf), soql, out, format, include_deleted, page_size, show)
                return
            written = Bulk2(sf).query_to_csv(
                soql, out, include_deleted=include_deleted, page_size=page_size, progress=show
            )
        except (SalesforceError, OSError, ValueError) as exc:
            bar.stop()
            console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
            raise typer.Exit(2) from None
    print(f"job {written.job_id}: {written.records} rows, {written.bytes} bytes to {written.path}")
