"""The `salesforce-typed` command line: generate, fake-org, bulk, listen, publish.

`app.py` holds the Typer app and what the commands share; each command lives in its own
module, which registers itself on `app` when imported here.
"""

from salesforce_typed.cli import (
    bulk,
    check_soql,
    fake_org,
    generate,
    listen,
    login,
    publish,
    schema,
)
from salesforce_typed.cli.app import app


def main() -> None:
    app()


__all__ = [
    "app",
    "bulk",
    "check_soql",
    "fake_org",
    "generate",
    "listen",
    "login",
    "main",
    "publish",
    "schema",
]
