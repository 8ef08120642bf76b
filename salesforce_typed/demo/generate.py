"""Section 2: `salesforce-typed generate --from-org`, run as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from salesforce_typed.demo.output import check, say

PACKAGE = "demo_org"
OBJECTS = ("Account", "Contact", "Lead", "Opportunity", "Invoice__c")


def generate(console: Console, creds: dict[str, str], token: str, out: Path) -> None:
    """Describe the live org and write the `demo_org` package into `out`."""
    env = dict(
        os.environ,
        SF_INSTANCE_URL=creds["instance_url"],
        SF_ACCESS_TOKEN=token,
        SF_CA_FILE=creds["ca_file"],
    )
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "salesforce_typed", "generate", "--from-org"]
    cmd += ["--out", str(out), "--package", PACKAGE]
    for name in OBJECTS:
        cmd += ["--objects", name]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    check(done.returncode == 0, f"generate exited {done.returncode}: {done.stderr.strip()}")
    modules = sorted(p.name for p in (out / PACKAGE).glob("*.py"))
    say(
        console,
        f"salesforce-typed generate --from-org → {len(modules)} modules in "
        f"{time.perf_counter() - started:.2f}s: {', '.join(modules)}",
    )
