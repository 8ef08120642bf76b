"""`salesforce-typed bulk load|extract|status|results|resume|abort|jobs`: Bulk API 2.0 from
the shell. Loads are journaled (`jobs/journal.py`): a re-run after a crash picks the jobs up.

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


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def _journal_or_none(enabled: bool = True) -> object:
    """The job journal (`config_home()/bulk-jobs`), or None when `--no-journal`."""
    from salesforce_typed.jobs.journal import Journal

    return Journal() if enabled else None


def _say(message: str) -> None:
    """Journal news on stdout at once: a kill right after must not lose the job id."""
    print(message, flush=True)


def _fail(console: Console, exc: BaseException) -> typer.Exit:
    from rich.markup import escape

    console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
    return typer.Exit(2)


def _interrupted(sf: object, book: object, entry: Any = None) -> typer.Exit:
    """Ctrl-C: abort the load's jobs still Open (a half upload never runs), name the ones
    left running and how to follow them; exit 130."""
    from salesforce_typed.bulk2._sync.client import Bulk2
    from salesforce_typed.core.errors import SalesforceError
    from salesforce_typed.jobs.journal import Journal
    from salesforce_typed.rest._sync.client import Salesforce

    assert isinstance(sf, Salesforce)
    if not isinstance(book, Journal):
        _say("interrupted (--no-journal: jobs already created are not known here)")
        return typer.Exit(130)
    entry = entry or book.last
    if entry is None:
        _say("interrupted before any job was created")
        return typer.Exit(130)
    try:
        aborted, running = Bulk2(sf).stop_load(entry, book)
    except (SalesforceError, OSError, KeyboardInterrupt) as exc:
        _say(f"interrupted; aborting the Open jobs failed ({type(exc).__name__})")
        aborted, running = [], entry.job_ids
    for job_id in aborted:
        _say(f"job {job_id}: aborted (it was still Open: none of its rows will load)")
    for job_id in running:
        _say(
            f"job {job_id}: keeps running on Salesforce; follow it with "
            f"`salesforce-typed bulk status {job_id}`"
        )
    _say(
        f"interrupted: run the same command again, or `salesforce-typed bulk resume "
        f"{entry.id}`, to finish {entry.id} without loading any row twice"
    )
    return typer.Exit(130)


def _report(result: object, results: Path | None) -> int:
    """Print each job and the counts, write the result CSVs; the exit status (0 or 1)."""
    from salesforce_typed.bulk2._sync.results import IngestResult

    assert isinstance(result, IngestResult)
    with result:
        counts = result.counts
        for job in result.jobs:
            print(
                f"job {job.id}: {job.state}"
                + (f" ({job.error_message})" if job.error_message else ""),
                flush=True,
            )
        entry = result.entry
        what = f"{entry.sobject} {entry.operation}" if entry is not None else "ingest"
        print(
            f"{what}: {counts.total} rows, {counts.successful} successful, "
            f"{counts.failed} failed, {counts.unprocessed} unprocessed"
        )
        if results is not None:
            for path in _bulk_write_results(result, results):
                print(f"wrote {path}")
    return 1 if counts.failed or counts.unprocessed else 0


def _progress_bar(console: Console) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    return Progress(*columns, console=console, transient=True)


def _show(bar: Any, task: Any) -> Any:
    from salesforce_typed.bulk import BulkProgress

    uploaded = 0  # jobs' uploads end in any order: the bar's total only grows

    def show(event: BulkProgress) -> None:
        nonlocal uploaded
        if event.phase == "upload":
            uploaded = max(uploaded, event.rows_uploaded)
            bar.update(task, total=uploaded, description="uploading")
        else:
            bar.update(task, completed=event.processed, description=f"{event.state}")

    return show


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
    journal: Annotated[
        bool, typer.Option(help="Keep a local job journal, so a re-run after a crash resumes.")
    ] = True,
    parallel_jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Cut the file into about this many jobs, run side by side. Default: by size "
            "(200,000 rows or more: jobs of at least 100,000 rows, at most 10); 1: one job.",
        ),
    ] = None,
) -> None:
    """Load a CSV file with Bulk API 2.0; exit 1 if any row failed or was not processed.

    Each job's id is printed before its upload. Run again after a crash (same org, object,
    operation, file content): the journaled jobs are picked up, no row is loaded twice (the
    re-run keeps the first run's cut into jobs, whatever --parallel-jobs says).
    """
    from salesforce_typed.bulk2._sync.client import Bulk2
    from salesforce_typed.core.errors import SalesforceError
    from salesforce_typed.jobs.csv_chunks import DELIMITERS, CsvInputError
    from salesforce_typed.jobs.journal import Journal
    from salesforce_typed.rest._sync.client import Salesforce

    console = _console()
    if operation not in _BULK_OPERATIONS or delimiter not in DELIMITERS:
        console.print("[red]error:[/red] bad --operation or --delimiter", highlight=False)
        raise typer.Exit(2)
    if line_ending not in ("LF", "CRLF"):
        console.print("[red]error:[/red] --line-ending is LF or CRLF", highlight=False)
        raise typer.Exit(2)
    sf = _bulk_connect(console)
    assert isinstance(sf, Salesforce)
    book = _journal_or_none(journal)
    assert book is None or isinstance(book, Journal)
    with sf, _progress_bar(console) as bar:
        task = bar.add_task("uploading", total=None)
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
                progress=_show(bar, task),
                journal=book,
                notify=_say,
                parallel_jobs=parallel_jobs,
            )
        except KeyboardInterrupt:
            bar.stop()
            raise _interrupted(sf, book) from None
        except (CsvInputError, SalesforceError, OSError, ValueError) as exc:
            bar.stop()
            raise _fail(console, exc) from None
        bar.stop()
        status = _report(result, results)
    if status:
        raise typer.Exit(status)


def _entry(console: Console, book: object, job: str) -> Any:
    """The journal entry holding `job` (None when it has none); corruption exits 2."""
    from salesforce_typed.jobs.journal import Journal, JournalCorruptError

    assert isinstance(book, Journal)
    try:
        return book.entry_for(job)
    except JournalCorruptError as exc:
        raise _fail(console, exc) from None


def _open(job: str) -> tuple[Console, Any, Any, Any]:
    """What `status`, `resume`, `results` and `abort` start from: the console, the journal,
    the entry holding `job` (or None), and a connected client."""
    from salesforce_typed.rest._sync.client import Salesforce

    console = _console()
    book = _journal_or_none()
    entry = _entry(console, book, job)
    sf = _bulk_connect(console)
    assert isinstance(sf, Salesforce)
    return console, book, entry, sf


@bulk_app.command("status")
def bulk_status(
    job: Annotated[str, typer.Argument(help="A job id (or a journal entry id).")],
) -> None:
    """Show a load's jobs: state and counts on Salesforce, and what the journal recorded."""
    from salesforce_typed.bulk2._sync.client import Bulk2
    from salesforce_typed.core.errors import SalesforceError

    console, book, entry, sf = _open(job)
    if entry is not None:
        print(
            f"{entry.id}: {entry.sobject} {entry.operation} of {entry.input.path} "
            f"({entry.rows} rows, {len(entry.parts)} part(s)), journal says {entry.state}"
        )
        for part in entry.parts:
            print(f"  rows {part.start + 1}-{part.start + part.rows}: {part.job_id or '-'}")
    if entry is not None and not entry.job_ids:
        print(f"{entry.id}: no job was created yet")
        return
    with sf:
        try:
            jobs = Bulk2(sf).job_status(entry.job_ids[0] if entry else job, journal=book)
        except (SalesforceError, OSError) as exc:
            raise _fail(console, exc) from None
    for info in jobs:
        print(
            f"job {info.id}: {info.state}, {info.number_records_processed} processed, "
            f"{info.number_records_failed} failed"
            + (f" ({info.error_message})" if info.error_message else "")
        )


def _finish(job: str, *, upload: bool, out: Path | None) -> None:
    """`bulk resume` and `bulk results`: a journaled load finished (or only collected)."""
    from salesforce_typed.bulk2._sync.client import Bulk2
    from salesforce_typed.core.errors import SalesforceError

    console, book, entry, sf = _open(job)
    if entry is None:
        _say(f"{job} is not in the journal: results carry no input row numbers")
    with sf, _progress_bar(console) as bar:
        task = bar.add_task("waiting", total=None)
        try:
            result = Bulk2(sf).resume_ingest(
                [entry.id] if entry is not None else [job],
                journal=book if entry is not None else None,
                notify=_say,
                upload=upload,
                progress=_show(bar, task),
            )
        except KeyboardInterrupt:
            bar.stop()
            raise _interrupted(sf, book, entry) from None
        except (SalesforceError, OSError, ValueError) as exc:
            bar.stop()
            raise _fail(console, exc) from None
        bar.stop()
        status = _report(result, out)
    if status:
        raise typer.Exit(status)


@bulk_app.command("resume")
def bulk_resume(
    job: Annotated[str, typer.Argument(help="A job id or journal entry id.")],
    results: Annotated[
        Path | None, typer.Option(help="Write successful/failed/unprocessed CSVs here.")
    ] = None,
) -> None:
    """Finish a journaled load: upload what was not, close or abort jobs left Open, wait."""
    _finish(job, upload=True, out=results)


@bulk_app.command("results")
def bulk_results(
    job: Annotated[str, typer.Argument(help="A job id or journal entry id.")],
    out: Annotated[Path, typer.Option(help="The folder for the three result CSVs.")],
) -> None:
    """Write successful.csv, failed.csv and unprocessed.csv; `row` is the input file's row."""
    _finish(job, upload=False, out=out)


@bulk_app.command("abort")
def bulk_abort(
    job: Annotated[str, typer.Argument(help="A job id or journal entry id.")],
) -> None:
    """Abort a job (with a journal entry: every job of its load that has not ended)."""
    from salesforce_typed.bulk2._sync.client import Bulk2
    from salesforce_typed.core.errors import SalesforceError

    console, book, entry, sf = _open(job)
    parts = [p for p in entry.parts if p.job_id and not p.ended] if entry is not None else []
    with sf:
        try:
            if entry is None:
                info = Bulk2(sf).abort(job)
                print(f"job {info.id}: {info.state}")
                return
            for part in parts:
                assert part.job_id is not None
                info = Bulk2(sf).abort(part.job_id, "ingest")
                part.state = str(info.state)
                part.processed = info.number_records_processed
                book.save(entry)
                print(f"job {info.id}: {info.state}")
        except (SalesforceError, OSError) as exc:
            raise _fail(console, exc) from None
    if not parts:
        print(f"{entry.id}: no job left to abort ({entry.state})")


@bulk_app.command("jobs")
def bulk_jobs(
    forget: Annotated[
        str | None, typer.Option(help="Drop this entry (entry id or job id) from the journal.")
    ] = None,
) -> None:
    """List the job journal (loads this machine started), or forget one entry."""
    from salesforce_typed.jobs.journal import Journal, JournalCorruptError

    console = _console()
    book = _journal_or_none()
    assert isinstance(book, Journal)
    if forget is not None:
        try:
            gone = book.forget(forget)
        except (JournalCorruptError, ValueError, OSError) as exc:
            raise _fail(console, exc) from None
        if gone is None:
            raise _fail(console, ValueError(f"{forget} is not in the journal ({book.path})"))
        print(f"forgot {gone.stem} ({gone})")
        return
    broken = False
    for path in book.files():
        try:
            entry = book.load(path)
        except JournalCorruptError as exc:
            broken = True
            _fail(console, exc)
            continue
        print(
            f"{entry.id}  {entry.created}  {entry.state:9}  {entry.sobject} {entry.operation}  "
            f"{entry.rows} rows  jobs {','.join(entry.job_ids) or '-'}  {entry.input.path}"
        )
    if broken:
        raise typer.Exit(2)


@bulk_app.command("extract")
def bulk_extract(
    soql: Annotated[str, typer.Argument(help="The SOQL query.")],
    out: Annotated[Path, typer.Option(help="The CSV file to write.")],
    include_deleted: Annotated[bool, typer.Option(help="queryAll: deleted rows too.")] = False,
    page_size: Annotated[
        int | None,
        typer.Option(
            help="Rows per results page (maxRecords), read one after another. Default: "
            "Salesforce's page size, the listed pages downloaded ten at a time."
        ),
    ] = None,
    format: Annotated[  # columnar: typed output (columnar/cli.py)
        str, typer.Option(help="csv, parquet, arrow (an Arrow IPC stream) or jsonl.")
    ] = "csv",
    extra_scale: Annotated[
        int, typer.Option(help="Typed formats: widen decimal columns by this many places.")
    ] = 0,
    round_decimals: Annotated[
        bool, typer.Option(help="Typed formats: round extra decimals half up, not refuse.")
    ] = False,
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

                extract_command(
                    Bulk2(sf),
                    soql,
                    out,
                    format,
                    include_deleted,
                    page_size,
                    show,
                    extra_scale=extra_scale,
                    round_decimals=round_decimals,
                )
                return
            written = Bulk2(sf).query_to_csv(
                soql, out, include_deleted=include_deleted, page_size=page_size, progress=show
            )
        except (SalesforceError, OSError, ValueError) as exc:
            bar.stop()
            console.print("[red]error:[/red]", escape(str(exc)), highlight=False)
            raise typer.Exit(2) from None
    print(f"job {written.job_id}: {written.records} rows, {written.bytes} bytes to {written.path}")
