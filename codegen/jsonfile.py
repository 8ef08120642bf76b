"""Reading JSON inputs with errors that name the file and the JSON path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import CodegenError


def read_json(path: Path) -> tuple[Any, str]:
    """The parsed document and the sha256 of its bytes."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CodegenError(f"cannot read: {exc.strerror}", source=str(path)) from exc
    try:
        return json.loads(raw), hashlib.sha256(raw).hexdigest()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = "$"
        if isinstance(exc, json.JSONDecodeError):
            where = f"line {exc.lineno} column {exc.colno}"
        raise CodegenError(f"invalid JSON: {exc}", source=str(path), path=where) from exc


def expect(cond: bool, message: str, source: str, path: str) -> None:
    if not cond:
        raise CodegenError(message, source=source, path=path)


def want_dict(value: Any, source: str, path: str) -> dict[str, Any]:
    expect(isinstance(value, dict), f"expected an object, got {type(value).__name__}", source, path)
    result: dict[str, Any] = value
    return result


def want_list(value: Any, source: str, path: str) -> list[Any]:
    expect(isinstance(value, list), f"expected an array, got {type(value).__name__}", source, path)
    result: list[Any] = value
    return result
