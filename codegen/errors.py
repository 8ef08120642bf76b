"""The generator's one error type: bad input names its file and JSON path, exit status 2."""

from __future__ import annotations


class CodegenError(Exception):
    """Input the generator cannot use. `source` is the file, `path` the JSON path within it."""

    def __init__(self, message: str, *, source: str = "", path: str = "") -> None:
        self.source = source
        self.path = path
        self.message = message
        where = source + (f" at {path}" if path else "")
        super().__init__(f"{where}: {message}" if where else message)
