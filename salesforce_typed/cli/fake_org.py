"""`salesforce-typed fake-org serve`: the local fake org; its credentials as JSON, an env file."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from salesforce_typed.cli.app import app, require_extra

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
    pubsub_port: Annotated[
        int,
        typer.Option(
            help="The Pub/Sub API's gRPC port; 0 picks a free one (with --data-dir, the port "
            "of the last run when it is free)."
        ),
    ] = 0,
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
    latency_ms: Annotated[
        float,
        typer.Option(
            min=0, help="Realistic latency: every API request waits this many ms (overlapping)."
        ),
    ] = 0.0,
    bulk_rows_per_s: Annotated[
        float,
        typer.Option(min=0, help="Realistic latency: Bulk server work, rows per second (0: none)."),
    ] = 0.0,
    bulk_concurrent_jobs: Annotated[
        int,
        typer.Option(min=0, help="Realistic latency: Bulk jobs processed at once; others queue."),
    ] = 0,
    bulk_results_rows_per_s: Annotated[
        float,
        typer.Option(min=0, help="Realistic latency: rows/s serving a Bulk 2.0 results page."),
    ] = 0.0,
) -> None:
    """Start a fake org; print ONE JSON line with everything a client needs, then serve."""
    require_extra("fake-org")
    import json
    import signal
    import threading

    if env_file is not None and not env_file.parent.is_dir():
        typer.echo(f"error: --env-file: no folder {env_file.parent}", err=True)
        raise typer.Exit(2)

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
        pubsub=True,  # the Pub/Sub API's gRPC target is in the JSON line as pubsub_url
        pubsub_port=pubsub_port,
        config=OrgConfig(
            api_version=api_version.removeprefix("v"),
            refresh_token_rotation=rotation,
            capture_changes=cdc,  # capture on before the first request can write
        ),
    )
    from salesforce_typed.testing.admin.latency import configure

    mode = configure(
        org.state,
        {
            "rtt_ms": latency_ms,
            "bulk_rows_per_s": bulk_rows_per_s,
            "bulk_concurrent_jobs": bulk_concurrent_jobs,
            "bulk_results_rows_per_s": bulk_results_rows_per_s,
        },
    )
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
            if mode.active:  # the mode's settings, stated on stderr
                typer.echo(f"realistic latency: {json.dumps(mode.to_dict())}", err=True)
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
