"""The public surface of `salesforce_typed` is its `__all__`, as httpx's exported-members test.

Also guards the one error tree: every exception the runtime defines is a `SalesforceError`,
is exported from `salesforce_typed`, and appears in the tree drawn in `core/errors.py`'s
docstring under one of its bases, so the drawing cannot fall behind the classes.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import types

import pytest

import salesforce_typed
from salesforce_typed.core import errors
from salesforce_typed.core.errors import SalesforceError

# The fake org keeps its own server-side errors; the demo is a program using the SDK (it may
# exit with its own SystemExit); `__main__` runs the CLI when imported.
_NOT_RUNTIME = ("salesforce_typed.testing", "salesforce_typed.demo", "salesforce_typed.__main__")


def _runtime(module_name: str) -> bool:
    return module_name.startswith("salesforce_typed") and not module_name.startswith(_NOT_RUNTIME)


def _runtime_modules() -> list[types.ModuleType]:
    """Every runtime module, imported; `testing/` is never walked into (nor imported)."""
    modules = [salesforce_typed]
    for package in modules:
        for info in pkgutil.iter_modules(getattr(package, "__path__", ()), f"{package.__name__}."):
            if _runtime(info.name):
                modules.append(importlib.import_module(info.name))
    return modules


def _exported() -> dict[str, object]:
    return {name: getattr(salesforce_typed, name) for name in salesforce_typed.__all__}


# -- salesforce_typed.__all__ ---------------------------------------------------------------


def test_every_name_in_all_resolves() -> None:
    for name in salesforce_typed.__all__:
        assert getattr(salesforce_typed, name) is not None, name


def test_all_is_the_public_surface() -> None:
    public = {
        name
        for name in dir(salesforce_typed)
        if not name.startswith("_")
        and not isinstance(getattr(salesforce_typed, name), types.ModuleType)
    }
    assert set(salesforce_typed.__all__) == public | {"__version__"}
    assert len(salesforce_typed.__all__) == len(set(salesforce_typed.__all__))


def test_dir_lists_the_lazy_names_before_they_load() -> None:
    listed = set(dir(salesforce_typed))
    assert {"Salesforce", "AsyncSalesforce", "RetryPolicy", "NotFoundError"} <= listed
    assert set(salesforce_typed.__all__) <= listed


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        salesforce_typed.Contact  # noqa: B018


# -- every runtime exception is a SalesforceError and is exported ---------------------------


def _runtime_exceptions() -> dict[type[BaseException], str]:
    """Public exception classes defined by the runtime -> one place they are reachable."""
    found: dict[type[BaseException], str] = {}
    for module in _runtime_modules():
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and _runtime(value.__module__)
                and not name.startswith("_")
                and not value.__name__.startswith("_")
            ):
                found.setdefault(value, f"{module.__name__}.{name}")
    return found


def test_runtime_exceptions_are_salesforce_errors() -> None:
    strays = [
        where
        for cls, where in _runtime_exceptions().items()
        if not issubclass(cls, SalesforceError)
    ]
    assert strays == []


def test_runtime_exceptions_are_exported() -> None:
    exported = set(_exported().values())
    missing = [where for cls, where in _runtime_exceptions().items() if cls not in exported]
    assert missing == []


def test_exceptions_are_defined_in_core_errors() -> None:
    elsewhere = [
        where
        for cls, where in _runtime_exceptions().items()
        if cls.__module__ != "salesforce_typed.core.errors"
    ]
    assert elsewhere == []


# -- the drawing in core/errors.py ----------------------------------------------------------

# `    │   ├── Name       meaning`: a 4-space indent, then 4 columns per level, then the name
# and, after two spaces at least, its one-line meaning.
_NODE = re.compile(r"^    (?P<rails>(?:[│ ]   )*)(?:[├└]── )?(?P<name>[A-Z]\w*)\s{2,}\S")


def _drawn_tree() -> dict[str, str | None]:
    """Each drawn class -> the class it is drawn under (None for the root)."""
    lines = (errors.__doc__ or "").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    SalesforceError "))
    tree: dict[str, str | None] = {}
    path: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            break
        match = _NODE.match(line)
        assert match is not None, f"not a tree line: {line!r}"
        name = match["name"]
        depth = len(match["rails"]) // 4 + (0 if name == "SalesforceError" else 1)
        assert name not in tree, f"{name} is drawn twice"
        del path[depth:]
        tree[name] = path[-1] if path else None
        path.append(name)
    return tree


def _all_subclasses(cls: type) -> set[type]:
    subclasses: set[type] = set()
    sub: type
    for sub in cls.__subclasses__():
        subclasses |= {sub} | _all_subclasses(sub)
    return subclasses


def test_every_salesforce_error_is_drawn_under_a_base() -> None:
    _runtime_modules()  # every class that exists gets defined, wherever it lives
    tree = _drawn_tree()
    classes = {cls for cls in _all_subclasses(SalesforceError) if _runtime(cls.__module__)}
    undrawn = sorted(cls.__name__ for cls in classes if cls.__name__ not in tree)
    assert undrawn == []
    for cls in classes:
        assert getattr(errors, cls.__name__) is cls, f"{cls.__name__} is not core.errors'"
        parent = getattr(errors, tree[cls.__name__] or "")
        assert parent in cls.__bases__, f"{cls.__name__} is drawn under {parent.__name__}"


def test_every_drawn_class_exists_and_is_exported() -> None:
    tree = _drawn_tree()
    assert tree["SalesforceError"] is None
    exported = _exported()
    for name in tree:
        assert exported.get(name) is getattr(errors, name), f"{name} is not exported"
        assert issubclass(getattr(errors, name), SalesforceError)


# -- subpackages that keep their own surface --------------------------------------------------

STREAMING = {
    "EARLIEST",
    "RETRYABLE",
    "TERMINAL",
    "TIP",
    "Action",
    "Advice",
    "AsyncListener",
    "Backoff",
    "BayeuxError",
    "ChangeDataEvent",
    "ChannelService",
    "CheckpointStore",
    "CometDSession",
    "ConnectionLostError",
    "ErrorKind",
    "EventDecoder",
    "FencedCheckpoints",
    "GenericChangeEvent",
    "GenericEvent",
    "HandlerError",
    "LeaderElection",
    "LeadershipLostError",
    "Listener",
    "ListenerOptions",
    "MemoryCheckpoints",
    "PlatformEvent",
    "PushTopicEvent",
    "ReplayFallback",
    "ReplayIdInvalidError",
    "ReplayPosition",
    "StreamEvent",
    "StreamingError",
    "StreamingStoppedError",
}


def test_streaming_all_is_its_public_surface() -> None:
    import salesforce_typed.streaming as streaming

    assert set(streaming.__all__) == STREAMING
    public = {
        name
        for name, value in vars(streaming).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - STREAMING <= {"annotations"}


@pytest.mark.parametrize(
    "package", ["salesforce_typed.bulk", "salesforce_typed.soap", "salesforce_typed.streaming"]
)
def test_subpackage_all_resolves_and_its_errors_are_the_tree(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(_exported().values())
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert value in exported, f"{package}.{name}"
