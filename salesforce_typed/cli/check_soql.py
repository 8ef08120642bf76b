"""`salesforce-typed check-soql PATHS`: the SOQL strings a codebase sends, checked for CI.

Exit status: 0 clean, 1 problems found, 2 usage error (a missing path, a package that does
not import). The codes are listed by `--codes` and in `salesforce_typed.soqlcheck.CODES`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from salesforce_typed.cli.app import app


@app.command("check-soql")
def check_soql(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Python or Markdown files and folders.")
    ] = None,
    package: Annotated[
        str,
        typer.Option(help="Generated package to check against: a module name or a folder."),
    ] = "salesforce_typed_std",
    all_literals: Annotated[
        bool, typer.Option("--all-literals", help="Also check every 'SELECT ... FROM' literal.")
    ] = False,
    output: Annotated[
        Literal["text", "json"], typer.Option("--format", help="text or json.")
    ] = "text",
    codes: Annotated[
        bool, typer.Option("--codes", help="List the problem codes and exit.")
    ] = False,
) -> None:
    """Check SOQL passed to query/query_all/query_to_csv against a generated package."""
    from salesforce_typed.soqlcheck import CODES, check_paths
    from salesforce_typed.soqlcheck.report import as_json, as_text

    if codes:
        for code, meaning in CODES.items():
            typer.echo(f"{code} {meaning}")
        return
    if not paths:
        typer.echo("error: give at least one file or folder to check", err=True)
        raise typer.Exit(2)
    try:
        report = check_paths(paths, package, all_literals=all_literals)
    except (FileNotFoundError, ImportError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(as_json(report) if output == "json" else as_text(report))
    raise typer.Exit(0 if report.ok else 1)
