"""Find the SOQL a Python file hands the client, without running it (`ast` only).

A site is a call `.query(`, `.query_all(`, `.query_to_csv(` or `query_to_csv(` (REST, Bulk
1.0 and 2.0, SOAP and composite share these names) whose soql argument resolves to a string
starting with SELECT: a literal, an f-string or `+` of resolvable parts (a run-time part is
fine inside a quoted literal, where it can only be a value), or a name assigned such a string
once in the file. With `all_literals`, every other `SELECT ... FROM` literal is a site too
(docstrings and f-string pieces aside). The model argument and a literal `params` dict (or a
name assigned one) come along for their checks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

import attrs

_METHODS = frozenset({"query", "query_all", "query_to_csv"})
_SELECT = re.compile(r"\s*select\b", re.IGNORECASE)
# A bare literal counts only with a FROM too, so prose ("Select the ...") is left alone.
_SELECT_FROM = re.compile(r"\s*select\b.*\bfrom\b", re.IGNORECASE | re.DOTALL)
# An unknown part of an f-string or concatenation (kept in the text, inside its literal).
DYNAMIC = "\x00"
_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'", re.DOTALL)
_PREFIX = re.compile(r"^[rRuUbBfF]*('''|\"\"\"|'|\")")


@attrs.frozen
class Site:
    """One SOQL string. `exact` when columns inside it map onto the file (a plain literal)."""

    line: int
    column: int  # 0-based, as `ast` counts
    soql: str
    exact: bool
    model: str | None = None  # the class name passed as the model, if any
    params: tuple[str, ...] | None = None  # keys of a literal dict; None: unknown
    params_given: bool = True

    def position(self, line: int, column: int) -> tuple[int, int]:
        """1-based (line, column) in the file of 1-based (line, column) in `soql`."""
        if not self.exact:
            return self.line, self.column + 1
        if line == 1:
            return self.line, self.column + column
        return self.line + line - 1, column


class _Strings:
    """Names assigned exactly one resolvable string in the file."""

    def __init__(self, tree: ast.Module) -> None:
        assigned: dict[str, list[ast.expr]] = {}
        bound: dict[str, int] = {}  # every binding: loops, arguments, `with ... as`, ...
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound[node.id] = bound.get(node.id, 0) + 1
            elif isinstance(node, ast.arg):
                bound[node.arg] = bound.get(node.arg, 0) + 2
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        self._values = {k: v[0] for k, v in assigned.items() if len(v) == 1 and bound.get(k) == 1}
        self._busy: set[str] = set()
        self.visited: set[int] = set()  # ids of the literals the last resolve() read
        self.used: set[int] = set()  # ... and of every literal a call site's SOQL is made of

    def value(self, node: ast.expr | None) -> ast.expr | None:
        """A name's one assigned value (a `params` dict defined above the call), else `node`."""
        if isinstance(node, ast.Name) and node.id in self._values:
            return self._values[node.id]
        return node

    def resolve(self, node: ast.expr) -> str | None:
        """The string `node` builds, with DYNAMIC where an f-string or `+` part is unknown."""
        return self._resolve(node)

    def _resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant):
            self.visited.add(id(node))
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._resolve(node.left), self._resolve(node.right)
            if left is None and right is None:
                return None
            return (DYNAMIC if left is None else left) + (DYNAMIC if right is None else right)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inner = value.value if isinstance(value, ast.FormattedValue) else value
                text = self._resolve(inner)
                parts.append(DYNAMIC if text is None else text)
            return "".join(parts)
        if isinstance(node, ast.Name) and node.id in self._values and node.id not in self._busy:
            self._busy.add(node.id)
            try:
                return self._resolve(self._values[node.id])
            finally:
                self._busy.discard(node.id)
        return None


def settle(text: str) -> str | None:
    """`text` if every DYNAMIC part sits inside a string literal (`'{name}'`: a value filled in
    at run time, still a string), else None: the query's shape is not known."""
    if DYNAMIC in _LITERAL.sub("", text):
        return None
    return text


def _exact(source: str, node: ast.expr) -> tuple[int, int, bool]:
    """Where the SOQL text of `node` starts, and whether its columns map one to one."""
    if isinstance(node, ast.Name):
        return node.lineno, node.col_offset, False
    segment = ast.get_source_segment(source, node)
    if isinstance(node, ast.Constant) and segment is not None:
        match = _PREFIX.match(segment)
        if match:
            quote = match.group(1)
            body = segment[match.end() : len(segment) - len(quote)]
            if body == node.value:
                return node.lineno, node.col_offset + match.end(), True
    return node.lineno, node.col_offset, False


def _class_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _params(node: ast.expr | None) -> tuple[tuple[str, ...] | None, bool]:
    """(literal keys or None if unknown, whether params were given at all)."""
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return (), False
    if isinstance(node, ast.Dict) and all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys
    ):
        return tuple(str(k.value) for k in node.keys if isinstance(k, ast.Constant)), True
    return None, True


def _call_site(call: ast.Call, strings: _Strings, source: str) -> Site | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in _METHODS or (name != "query_to_csv" and not isinstance(func, ast.Attribute)):
        return None
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    args = list(call.args)
    soql_node = keywords.get("soql")
    index = -1
    if soql_node is None:
        found = [i for i, arg in enumerate(args[:2]) if strings.resolve(arg) is not None]
        index = found[0] if found else -1
        soql_node = args[index] if found else None
    strings.visited.clear()
    text = strings.resolve(soql_node) if soql_node is not None else None
    text = settle(text) if text is not None else None
    if soql_node is None or text is None or not _SELECT.match(text):
        return None
    strings.used |= strings.visited
    model = None
    if index == 1:
        model = _class_name(args[0])
    elif "model" in keywords:
        model = _class_name(keywords["model"])
    params_node = keywords.get("params")
    after = 2 if name == "query_to_csv" else 1  # query_to_csv(soql, path, params)
    rest = args[index + after :] if index >= 0 else []
    if params_node is None and rest:
        first = _class_name(rest[0])
        if index == 0 and name != "query_to_csv" and first and first[:1].isupper():
            model = first  # composite: query(soql, Model)
            rest = rest[1:]
        params_node = rest[0] if rest else None
    keys, given = _params(strings.value(params_node))
    line, column, exact = _exact(source, soql_node)
    return Site(line, column, text, exact, model, keys, given)


def find_sites(source: str, *, all_literals: bool = False) -> Iterator[Site]:
    """Every SOQL site of one Python file, in source order; SyntaxError if it does not parse."""
    tree = ast.parse(source)
    strings = _Strings(tree)
    seen: set[tuple[int, int]] = set()
    sites: list[Site] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            site = _call_site(node, strings, source)
            if site is not None:
                seen.add((site.line, site.column))
                sites.append(site)
    if all_literals:
        # Docstrings, and the pieces of f-strings (whole only where resolvable), are no SOQL.
        docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
        docstrings |= {
            id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values
        }
        for node in ast.walk(tree):
            if id(node) in docstrings or id(node) in strings.used:
                continue  # (a call site's literal is reported there, once)
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _SELECT_FROM.match(node.value)
            ):
                line, column, exact = _exact(source, node)
                if (line, column) not in seen:
                    seen.add((line, column))
                    sites.append(Site(line, column, node.value, exact, params=None))
    yield from sorted(sites, key=lambda s: (s.line, s.column))
