"""How the demo speaks: numbered section headings, indented lines, checks that exit 1."""

from __future__ import annotations

from rich.console import Console


class DemoFailedError(SystemExit):
    """A section did not show what it claims; the message says which check failed."""


def heading(console: Console, n: int, text: str) -> None:
    console.print(f"\n[bold cyan]{n}.[/] [bold]{text}[/]")


def say(console: Console, text: str) -> None:
    console.print(f"   {text}")


def check(ok: bool, what: str) -> None:
    """Stop the demo with exit status 1 when `ok` is false."""
    if not ok:
        raise DemoFailedError(f"demo failed: {what}")
