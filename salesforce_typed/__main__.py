"""`python -m salesforce_typed` and the `salesforce-typed` console script: the CLI.

`pip install salesforce-typed` installs the client and models only; the command line needs
the `cli` extra (typer, rich). Without it, `--version` still answers and anything else exits
2 naming the extra to install, instead of a bare `No module named 'typer'`.
"""

from __future__ import annotations

import sys

CLI_MODULES = ("typer", "rich", "click")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from salesforce_typed import __version__

        print(f"salesforce-typed {__version__}")
        return
    try:
        from salesforce_typed.cli import app
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in CLI_MODULES:
            raise
        print(
            "salesforce-typed: the command line needs the 'cli' extra: "
            "pip install 'salesforce-typed[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    app(args, prog_name="salesforce-typed")


if __name__ == "__main__":
    main()
