"""The `salesforce-typed` Typer app and what every command shares: extras, the version.

The command line: generate, fake-org, bulk, listen, publish, check-soql (one module each
beside this one).

Needs the `cli` extra (typer, rich); `generate` also needs `codegen` and `fake-org serve`
needs `fake-org`. A command whose extra is missing exits 2 naming the pip command, never a
bare ModuleNotFoundError. The generator installs as `salesforce_typed_codegen` (a user's own
`codegen/` folder cannot shadow it); a source checkout has it as `codegen/`.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Annotated, Any

import typer

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
