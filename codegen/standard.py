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
DEFAULT_PROTO = ROOT.parent / "shared" / "realdata" / "pubsub" / "pubsub_api.proto"


LOCK = ROOT / "codegen" / "inputs.lock"


def lock_text(
    schema_sha: str,
    wsdl: Path | None,
    describes: dict[str, str] | None = None,
    proto: Path | None = None,
) -> str:
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
    if proto is not None:
        from .pubsub import proto_sha256

        pins["pubsub_proto_sha256"] = proto_sha256(proto)
        pins["grpcio-tools"] = version("grpcio-tools")
        pins["mypy-protobuf"] = version("mypy-protobuf")
    return json.dumps(pins, indent=2, sort_keys=True) + "\n"


def generate_all(
    out: Path, wsdl: Path | None, lock: Path | None = LOCK, proto: Path | None = DEFAULT_PROTO
) -> str:
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
    if proto is not None:
        from .pubsub import PACKAGE as PUBSUB_PACKAGE
        from .pubsub import generate_pubsub

        pubsub_files = generate_pubsub(proto, out)
        print(f"{PUBSUB_PACKAGE}: {len(pubsub_files)} files")
    text = lock_text(schema.source_sha256, wsdl, facts.sha256, proto)
    if lock is not None:
        lock.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen.standard")
    parser.add_argument("out", type=Path)
    parser.add_argument("--soap-wsdl", type=Path, default=DEFAULT_WSDL)
    parser.add_argument("--no-soap", action="store_true")
    parser.add_argument("--pubsub-proto", type=Path, default=DEFAULT_PROTO)
    parser.add_argument("--no-pubsub", action="store_true")
    args = parser.parse_args(argv)
    try:
        generate_all(
            args.out,
            None if args.no_soap else args.soap_wsdl,
            proto=None if args.no_pubsub else args.pubsub_proto,
        )
    except CodegenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
