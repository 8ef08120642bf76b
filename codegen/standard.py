"""`make generate`: rebuild everything committed under generated/ from specs/.

python -m codegen.standard generated [--soap-wsdl PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import CodegenError
from .pipeline import build, load_inputs

ROOT = Path(__file__).resolve().parents[1]
STANDARD_PACKAGE = "salesforce_typed_std"
SOAP_PACKAGE = "salesforce_typed_soap"
DEFAULT_WSDL = ROOT.parent / "shared" / "realdata" / "wsdl" / "partner-v66.0.wsdl"


LOCK = ROOT / "codegen" / "inputs.lock"


def lock_text(schema_sha: str, wsdl: Path | None, describes: dict[str, str] | None = None) -> str:
    """What `codegen/inputs.lock` pins: every input's sha256 and the generator versions."""
    import hashlib
    import json
    from importlib.metadata import version

    from . import __version__
    from .render import template_hash

    pins = {
        "codegen": __version__,
        "templates_sha256": template_hash(),
        "catalog_sha256": schema_sha,
        "partner_wsdl_sha256": hashlib.sha256(wsdl.read_bytes()).hexdigest() if wsdl else None,
        "describes_sha256": describes or {},
        "jinja2": version("jinja2"),
        "xsdata": version("xsdata"),
        "ruff": version("ruff"),
    }
    return json.dumps(pins, indent=2, sort_keys=True) + "\n"


def generate_all(out: Path, wsdl: Path | None, lock: Path | None = LOCK) -> str:
    """Regenerate every committed package into `out`; returns the lock text it implies."""
    from .facts import load_facts, with_facts

    facts = load_facts()
    schema = with_facts(load_inputs(catalog=ROOT / "specs" / "standard"), facts)
    files = build(schema, out=out, package=STANDARD_PACKAGE)
    print(f"{STANDARD_PACKAGE}: {len(files)} files")
    if wsdl is not None:
        from .soap import generate_soap

        soap_files = generate_soap(wsdl, out)
        print(f"{SOAP_PACKAGE}: {len(soap_files)} files")
    text = lock_text(schema.source_sha256, wsdl, facts.sha256)
    if lock is not None:
        lock.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen.standard")
    parser.add_argument("out", type=Path)
    parser.add_argument("--soap-wsdl", type=Path, default=DEFAULT_WSDL)
    parser.add_argument("--no-soap", action="store_true")
    args = parser.parse_args(argv)
    try:
        generate_all(args.out, None if args.no_soap else args.soap_wsdl)
    except CodegenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
