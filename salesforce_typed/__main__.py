"""`python -m salesforce_typed`: the CLI."""

from salesforce_typed.cli import app

app()
