"""Typed SOAP partner models: the real partner WSDL, patched by counted rules, through xsdata.

Pipeline: text rules from `specs/soap/partner_rules.toml` (each asserts its match count), the
documented operation subset (portType, binding, messages, Header parts), a prune of every schema
component the subset cannot reach, then xsdata in a subprocess, then counted rewrites of its
output and the do-not-edit header.

What must stay true:
- Every step asserts its counts, so a new WSDL fails loudly instead of generating half-patched.
- Output is byte-identical across runs and machines: xsdata runs in a scratch directory on a fixed
  file name with a fixed hash seed; no timestamps or absolute paths reach the output.
- Nothing under `generated/` is edited by hand; xsdata quirks are fixed by `_post_fix`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.dom import minidom
from xml.dom.minidom import Element, Node, Text

from .errors import CodegenError

PACKAGE = "salesforce_typed_soap"
RULES_PATH = Path(__file__).resolve().parents[1] / "specs" / "soap" / "partner_rules.toml"

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

# Top-level schema components and the symbol space their names live in.
_SPACES = {"element": "element", "complexType": "type", "simpleType": "type"}
# Attributes holding QName references, and the symbol space they point into.
_REF_ATTRS = (("type", "type"), ("base", "type"), ("ref", "element"))

Key = tuple[str, str, str]  # (symbol space, namespace, local name)


class SoapPreprocessError(CodegenError):
    """The WSDL no longer matches the rules: a count is off or a reference dangles."""


@dataclass(frozen=True)
class Rule:
    """One text replacement that must match exactly `count` times."""

    name: str
    pattern: str
    replace: str
    count: int
    regex: bool = False

    def apply(self, text: str) -> str:
        if self.regex:
            new, found = re.subn(self.pattern, self.replace, text, flags=re.MULTILINE)
        else:
            found = text.count(self.pattern)
            new = text.replace(self.pattern, self.replace)
        if found != self.count:
            raise SoapPreprocessError(
                f"rule {self.name!r} matched {found} times, expected {self.count}"
            )
        return new


@dataclass(frozen=True)
class Subset:
    """The operations kept and the counts the subset and prune must land on."""

    operations: tuple[str, ...]
    operations_total: int
    messages_kept: int
    header_parts_kept: int
    schema_components_kept: int


@dataclass(frozen=True)
class SoapRules:
    rules: tuple[Rule, ...]
    subset: Subset


def load_rules(path: Path = RULES_PATH) -> SoapRules:
    """Read the rules file; a malformed rule is a `SoapPreprocessError` naming it."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rules = []
    for raw in data["rule"]:
        if ("literal" in raw) == ("regex" in raw):
            raise SoapPreprocessError(
                f"rule {raw.get('name')!r} needs exactly one of literal/regex", source=str(path)
            )
        rules.append(
            Rule(
                name=raw["name"],
                pattern=raw.get("literal", raw.get("regex", "")),
                replace=raw["replace"],
                count=int(raw["count"]),
                regex="regex" in raw,
            )
        )
    sub = data["subset"]
    subset = Subset(
        operations=tuple(sub["operations"]),
        operations_total=int(sub["operations_total"]),
        messages_kept=int(sub["messages_kept"]),
        header_parts_kept=int(sub["header_parts_kept"]),
        schema_components_kept=int(sub["schema_components_kept"]),
    )
    return SoapRules(rules=tuple(rules), subset=subset)


# --- preprocessing -------------------------------------------------------------------------


def preprocess_wsdl(text: str, rules: SoapRules) -> str:
    """Apply the text rules, keep the operation subset, prune unreachable schema components."""
    for rule in rules.rules:
        text = rule.apply(text)
    doc = minidom.parseString(text)
    defs = doc.documentElement
    if defs is None or (defs.namespaceURI, defs.localName) != (WSDL_NS, "definitions"):
        raise SoapPreprocessError("not a WSDL 1.1 <definitions> document")
    roots = _take_subset(defs, rules.subset)
    _prune_schemas(_only(defs, WSDL_NS, "types"), roots, rules.subset.schema_components_kept)
    return doc.toxml()


def _take_subset(defs: Element, subset: Subset) -> set[Key]:
    """Drop other operations and their messages; return the schema elements kept messages use."""
    keep = set(subset.operations)
    port_type = _only(defs, WSDL_NS, "portType")
    binding = _only(defs, WSDL_NS, "binding")
    for container in (port_type, binding):
        ops = _children(container, WSDL_NS, "operation")
        names = [op.getAttribute("name") for op in ops]
        if len(ops) != subset.operations_total:
            raise SoapPreprocessError(
                f"<{container.localName}> has {len(ops)} operations, "
                f"expected {subset.operations_total}"
            )
        if missing := sorted(keep - set(names)):
            raise SoapPreprocessError(f"<{container.localName}> lacks operations {missing}")
        for op in ops:
            if op.getAttribute("name") not in keep:
                _remove(op)
        kept = len(_children(container, WSDL_NS, "operation"))
        if kept != len(keep):
            raise SoapPreprocessError(f"kept {kept} operations, expected {len(keep)}")

    whole: set[str] = set()  # messages the portType uses whole (input, output, fault)
    for op in _children(port_type, WSDL_NS, "operation"):
        for child in _elements(op):
            if child.hasAttribute("message"):
                whole.add(_resolve(child, child.getAttribute("message"))[1])
    parts: dict[str, set[str]] = {}  # messages the binding uses piecewise (soap:header)
    for header in binding.getElementsByTagNameNS(SOAP_NS, "header"):
        used = _resolve(header, header.getAttribute("message"))[1]
        parts.setdefault(used, set()).add(header.getAttribute("part"))

    roots: set[Key] = set()
    header_parts = 0
    for message in _children(defs, WSDL_NS, "message"):
        name = message.getAttribute("name")
        if name not in whole and name not in parts:
            _remove(message)
            continue
        for part in _children(message, WSDL_NS, "part"):
            if name not in whole and part.getAttribute("name") not in parts[name]:
                _remove(part)
                continue
            if not part.hasAttribute("element"):
                raise SoapPreprocessError(f"message {name!r} part is not an element part")
            roots.add(("element", *_resolve(part, part.getAttribute("element"))))
            header_parts += name not in whole
    messages = len(_children(defs, WSDL_NS, "message"))
    if messages != subset.messages_kept:
        raise SoapPreprocessError(f"kept {messages} messages, expected {subset.messages_kept}")
    if header_parts != subset.header_parts_kept:
        raise SoapPreprocessError(
            f"kept {header_parts} header parts, expected {subset.header_parts_kept}"
        )
    return roots


def _prune_schemas(types: Element, roots: set[Key], expected: int) -> None:
    """Remove schema components unreachable from `roots`, keeping subtypes of kept types.

    Subtypes stay because xsi:type may name them on the wire (ApiFault -> LoginFault).
    """
    components: dict[Key, Element] = {}
    for schema in _children(types, XSD_NS, "schema"):
        tns = schema.getAttribute("targetNamespace")
        for child in _elements(schema):
            if child.localName == "import":
                continue
            space = _SPACES.get(child.localName or "")
            if space is None:
                raise SoapPreprocessError(f"unsupported top-level schema <{child.localName}>")
            components[(space, tns, child.getAttribute("name"))] = child

    subtypes: dict[Key, set[Key]] = {}
    for key, comp in components.items():
        for content in _elements(comp):
            for derivation in _elements(content):
                if content.localName in {"complexContent", "simpleContent"}:
                    base = _resolve(derivation, derivation.getAttribute("base"))
                    subtypes.setdefault(("type", *base), set()).add(key)

    reached: set[Key] = set()
    pending = sorted(roots)
    while pending:
        key = pending.pop()
        if key in reached:
            continue
        if key not in components:
            raise SoapPreprocessError(f"dangling reference to {key[0]} {{{key[1]}}}{key[2]}")
        reached.add(key)
        pending.extend(sorted(_references(components[key]) | subtypes.get(key, set())))

    for key, comp in components.items():
        if key not in reached:
            _remove(comp)
    if len(reached) != expected:
        raise SoapPreprocessError(f"kept {len(reached)} schema components, expected {expected}")


def _references(comp: Element) -> set[Key]:
    """Non-builtin QNames a component refers to (types, bases, element refs)."""
    found: set[Key] = set()
    for node in [comp, *comp.getElementsByTagNameNS(XSD_NS, "*")]:
        for attr, space in _REF_ATTRS:
            if node.hasAttribute(attr):
                ns, local = _resolve(node, node.getAttribute(attr))
                if ns != XSD_NS:
                    found.add((space, ns, local))
    return found


# --- minidom helpers ------------------------------------------------------------------------


def _elements(node: Element) -> Iterator[Element]:
    for child in node.childNodes:
        if isinstance(child, Element):
            yield child


def _children(node: Element, ns: str, local: str) -> list[Element]:
    return [c for c in _elements(node) if (c.namespaceURI, c.localName) == (ns, local)]


def _only(node: Element, ns: str, local: str) -> Element:
    found = _children(node, ns, local)
    if len(found) != 1:
        raise SoapPreprocessError(f"expected one <{local}>, found {len(found)}")
    return found[0]


def _resolve(node: Element, qname: str) -> tuple[str, str]:
    """Resolve a QName-valued attribute against the namespace declarations in scope."""
    prefix, _, local = qname.rpartition(":")
    attr = f"xmlns:{prefix}" if prefix else "xmlns"
    scope: Node | None = node
    while isinstance(scope, Element):
        if scope.hasAttribute(attr):
            return scope.getAttribute(attr), local
        scope = scope.parentNode
    raise SoapPreprocessError(f"unbound prefix in {qname!r}")


def _remove(node: Element) -> None:
    """Detach a node and the indentation before it, so the output keeps no blank gaps."""
    parent = node.parentNode
    assert isinstance(parent, Element)
    before = node.previousSibling
    if isinstance(before, Text) and not before.data.strip():
        parent.removeChild(before)
    parent.removeChild(node)


# --- generation -----------------------------------------------------------------------------


def generate_soap(wsdl_path: Path, out_root: Path, rules: SoapRules | None = None) -> list[Path]:
    """Generate `<out_root>/salesforce_typed_soap/` from the WSDL; return the files written.

    The package directory is replaced whole, so a class that left the subset leaves no file.
    """
    raw = wsdl_path.read_bytes()
    wsdl = preprocess_wsdl(raw.decode("utf-8"), rules or load_rules())
    header = (
        f"# DO NOT EDIT: generated by salesforce-typed codegen {_codegen_version()} from "
        f"{wsdl_path.name} sha256 {hashlib.sha256(raw).hexdigest()}; "
        "change codegen/ or specs/, then make generate\n"
    )
    with tempfile.TemporaryDirectory(prefix="sf-soap-") as tmp:
        sources = _run_xsdata(wsdl, wsdl_path.name, Path(tmp))
        sources = _post_fix(sources, _envelope_header_counts(wsdl))
    target = out_root / PACKAGE
    if target.exists():
        shutil.rmtree(target)
    written = []
    for rel, source in sorted(sources.items()):
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + source, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def _codegen_version() -> str:
    from . import __version__

    return __version__


def _run_xsdata(wsdl: str, name: str, workdir: Path) -> dict[str, str]:
    """Run the xsdata CLI in `workdir`; return {relative path: source} of the package.

    A subprocess, because xsdata writes relative to the working directory, imports what it
    generated and shells out to `ruff`: none of that should touch the calling process.
    """
    (workdir / name).write_text(wsdl, encoding="utf-8", newline="\n")
    scripts = sysconfig.get_path("scripts")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")]),
        "PYTHONHASHSEED": "0",
    }
    command = [
        sys.executable,
        "-m",
        "xsdata",
        "generate",
        name,
        "--package",
        PACKAGE,
        "--structure-style",
        "clusters",
        "--max-line-length",
        "100",
        "--no-include-header",
        "--no-relative-imports",
    ]
    proc = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CodegenError(f"xsdata failed:\n{proc.stdout}\n{proc.stderr}", source=name)
    package = workdir / PACKAGE
    return {
        path.relative_to(package).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(package.rglob("*.py"))
    }


# --- post-generation fixes ------------------------------------------------------------------

# xsdata makes every soap:header of a binding a required field, and the Header element too;
# Salesforce treats all of them as optional, so a call without CallOptions must type-check.
_ENVELOPE_HEADER = re.compile(
    r"^    header: (\w+)\.Header = field\(\n"
    r"        metadata=\{\n((?:            .*\n)+?)"
    r"        \}\n    \)\n",
    re.MULTILINE,
)
_HEADER_CLASS = re.compile(r"^    class Header:\n(?:(?:        .*)?\n)+", re.MULTILINE)
_HEADER_FIELD = re.compile(
    r"^        (\w+): (\w+) = field\(\n"
    r"            metadata=\{\n((?:                .*\n)+?)"
    r"            \}\n        \)\n",
    re.MULTILINE,
)


def _envelope_header_counts(wsdl: str) -> tuple[int, int]:
    """(envelopes with a Header, header fields in all of them), read from the kept binding."""
    defs = minidom.parseString(wsdl).documentElement
    assert defs is not None
    envelopes = fields = 0
    for op in _children(_only(defs, WSDL_NS, "binding"), WSDL_NS, "operation"):
        for message in _elements(op):
            found = len(message.getElementsByTagNameNS(SOAP_NS, "header"))
            envelopes += found > 0
            fields += found
    return envelopes, fields


def _optional_header_fields(block: re.Match[str]) -> str:
    return _HEADER_FIELD.sub(
        r"        \1: None | \2 = field(\n            default=None,\n"
        r"            metadata={\n\3            },\n        )\n",
        block.group(0),
    )


def _post_fix(sources: dict[str, str], expected: tuple[int, int]) -> dict[str, str]:
    """Make envelope headers optional; fail unless exactly the expected fields changed."""
    envelopes = fields = 0
    fixed = {}
    for rel, source in sources.items():
        source, found = _ENVELOPE_HEADER.subn(
            r"    header: None | \1.Header = field(\n        default=None,\n"
            r"        metadata={\n\2        },\n    )\n",
            source,
        )
        envelopes += found
        for block in _HEADER_CLASS.finditer(source):
            fields += len(_HEADER_FIELD.findall(block.group(0)))
        fixed[rel] = _HEADER_CLASS.sub(_optional_header_fields, source)
    if (envelopes, fields) != expected:
        raise CodegenError(
            f"optional-headers fix changed {envelopes} envelopes and {fields} header fields, "
            f"expected {expected[0]} and {expected[1]}"
        )
    return fixed


def main(argv: list[str] | None = None) -> int:
    """`python -m codegen.soap WSDL OUT_ROOT`, e.g. `../shared/realdata/wsdl/... generated`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m codegen.soap WSDL OUT_ROOT", file=sys.stderr)
        return 2
    try:
        written = generate_soap(Path(args[0]), Path(args[1]))
    except CodegenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files under {Path(args[1]) / PACKAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
