"""A generated package -> the snapshot it was generated against (its models and `_schema`)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from salesforce_typed.core.errors import UsageError

from .snapshot import Snapshot, objects_from_models


def import_package(spec: str) -> ModuleType:
    """`spec` is an importable package name, or the path of a package folder (imported from
    its parent folder; a same-named package already imported from elsewhere is refused)."""
    path = Path(spec)
    if not (path / "__init__.py").is_file():
        if not spec.isidentifier():
            raise UsageError(f"package {spec!r}: no such folder, nor an importable name")
        try:
            return importlib.import_module(spec)
        except ModuleNotFoundError as exc:
            raise UsageError(f"package {spec!r} cannot be imported: {exc}") from None
    name = path.resolve().name
    loaded = sys.modules.get(name)
    if loaded is not None:
        here = Path(str(getattr(loaded, "__file__", ""))).resolve().parent
        if here != path.resolve():
            raise UsageError(f"another package named {name!r} is already imported ({here})")
        return loaded
    sys.path.insert(0, str(path.resolve().parent))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(path.resolve().parent))


def package_snapshot(package: ModuleType) -> Snapshot:
    """Every sObject model's FieldInfo table, with the API version, selection and
    fingerprint its `_schema` module recorded at generation."""
    try:
        meta = importlib.import_module(f"{package.__name__}._schema")
    except ModuleNotFoundError:
        raise UsageError(
            f"{package.__name__} has no _schema module: regenerate it with this "
            "salesforce-typed to check it for drift"
        ) from None
    models = [getattr(package, name) for name in getattr(package, "SOBJECTS", ())]
    return Snapshot(
        objects=objects_from_models(models),
        api_version=str(meta.API_VERSION),
        selection=tuple(meta.SELECTION),
        fingerprint=str(meta.FINGERPRINT),
    )
