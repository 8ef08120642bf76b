"""The local job journal: what a Bulk 2.0 load did, kept on disk so a new process can finish it.

A crash (Ctrl-C, SIGKILL, a lost machine) between "job created" and "results read" must not
make a re-run load the file twice. So every load from a file writes one small JSON file under
`config_home()/bulk-jobs/` (atomically: temp file, fsync, rename, fsync the folder) before and
after each step: the input's fingerprint, how it was cut (bytes and rows per upload), the row
ranges of its uploads (one job per upload: Bulk 2.0 takes one upload per job, at most 150 MB
after base64; a big input is cut into several jobs run side by side), each job's id and how
far it got. A re-run of the same load (same org, object, operation, external id, file content) finds
the entry and picks the jobs up instead of creating new ones.

What must stay true:
- An entry is written before the request it describes is sent: a part is `creating` (with
  the time) before its job is asked for, `open` before its upload starts, `uploaded` once
  the PUT answered, `closed` once UploadComplete answered. A job `open` on Salesforce is
  aborted (its upload not known to be whole) or closed (`uploaded`), never sent to twice;
  a job whose create answer was cut off is found by its time and aborted.
- A file that cannot be read as an entry raises `JournalCorruptError` naming it and how to
  drop it (`salesforce-typed bulk jobs --forget ID`); nothing here raises a bare traceback.
- No secret is stored: the instance URL, never a token.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import attrs

from salesforce_typed.core.errors import JournalCorruptError, UsageError

__all__ = [
    "Fingerprint",
    "Journal",
    "JournalCorruptError",
    "JournalEntry",
    "JournalPart",
    "PartTracker",
    "fingerprint",
]

FOLDER: Final = "bulk-jobs"
VERSION: Final = 1
_BLOCK: Final = 1 << 20
# part states written by the client; Salesforce's ending states are stored as they come
NEW, CREATING, OPEN, UPLOADED, CLOSED = "new", "creating", "open", "uploaded", "closed"
ENDED: Final = frozenset({"JobComplete", "Failed", "Aborted"})


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@attrs.frozen(kw_only=True)
class Fingerprint:
    """Which file was loaded: its path, size, mtime and sha256 (content decides a match)."""

    path: str
    size: int
    mtime_ns: int
    sha256: str

    def same_content(self, other: Fingerprint) -> bool:
        return self.size == other.size and self.sha256 == other.sha256


def fingerprint(path: str | os.PathLike[str]) -> Fingerprint:
    """Size, mtime and sha256 of a file, read block by block (constant memory)."""
    resolved = Path(path).resolve()
    digest = hashlib.sha256()
    with resolved.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        while block := handle.read(_BLOCK):
            digest.update(block)
    return Fingerprint(
        path=str(resolved), size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=digest.hexdigest()
    )


@attrs.define(kw_only=True)
class JournalPart:
    """One upload: input rows `start` to `start + rows` (0-based data rows) and its job."""

    start: int
    rows: int
    job_id: str | None = None
    state: str = NEW
    processed: int = 0
    failed: int = 0
    aborted_jobs: list[str] = attrs.field(factory=list)  # aborted before they ran
    creating_at: str | None = None  # when its create request went out (UTC)

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def reset(self) -> None:
        """Its job was aborted before it ran: the rows go to a new job."""
        if self.job_id:
            self.aborted_jobs.append(self.job_id)
        self.job_id = None
        self.state = NEW
        self.creating_at = None


@attrs.define(kw_only=True)
class JournalEntry:
    """One load from a file: its identity, its parts and where each one got to."""

    id: str
    instance_url: str
    sobject: str
    operation: str
    external_id_field: str | None
    column_delimiter: str
    line_ending: str
    max_upload_bytes: int
    input: Fingerprint
    max_rows_per_job: int | None = None  # the row cap of each upload (`jobs/job_split.py`)
    parts: list[JournalPart] = attrs.field(factory=list)
    created: str = attrs.field(factory=_now)
    updated: str = attrs.field(factory=_now)

    @property
    def job_ids(self) -> list[str]:
        return [p.job_id for p in self.parts if p.job_id]

    def holds(self, job_id: str) -> bool:
        return any(job_id == p.job_id or job_id in p.aborted_jobs for p in self.parts)

    @property
    def state(self) -> str:
        """`new`, `uploading` (a part not closed), `running` or `ended` (every job ended)."""
        if not self.parts:
            return NEW
        if all(p.ended for p in self.parts):
            return "ended"
        if all(p.state == CLOSED or p.ended for p in self.parts):
            return "running"
        return "uploading"

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def matches(
        self,
        instance_url: str,
        sobject: str,
        operation: str,
        external_id_field: str | None,
        source: Fingerprint,
    ) -> bool:
        return (
            self.instance_url == instance_url
            and self.sobject.lower() == sobject.lower()
            and self.operation == operation
            and (self.external_id_field or "").lower() == (external_id_field or "").lower()
            and self.input.same_content(source)
        )

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "state": self.state, **attrs.asdict(self)}

    @classmethod
    def from_json(cls, data: Any, path: Path) -> JournalEntry:
        if not isinstance(data, dict):
            raise JournalCorruptError(path, "not a JSON object")
        if data.get("version") != VERSION:
            raise JournalCorruptError(path, f"version {data.get('version')!r}, not {VERSION}")
        try:
            fields = {k: v for k, v in data.items() if k not in ("version", "state")}
            fields["input"] = Fingerprint(**fields["input"])
            fields["parts"] = [JournalPart(**p) for p in fields["parts"]]
            entry = cls(**fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise JournalCorruptError(path, f"bad field: {exc}") from None
        if entry.id != path.stem:
            raise JournalCorruptError(path, f"its id {entry.id!r} is not its file name")
        return entry


class Journal:
    """The folder of entries (default `config_home()/bulk-jobs`, see `stores.file`)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            from salesforce_typed.stores.file import config_home

            path = config_home() / FOLDER
        self.path = Path(path)
        self.last: JournalEntry | None = None  # the entry written last (for a Ctrl-C handler)
        # one save at a time, each a snapshot taken when its turn comes: uploads run on
        # threads (the sync client), and an older snapshot must never land after a newer one
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def _file(self, entry_id: str) -> Path:
        if not entry_id or "/" in entry_id or "\\" in entry_id or entry_id.startswith("."):
            raise UsageError(f"not a journal entry id: {entry_id!r}")
        return self.path / f"{entry_id}.json"

    def new(self, **fields: Any) -> JournalEntry:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        entry = JournalEntry(id=f"load-{stamp}-{secrets.token_hex(3)}", **fields)
        self.save(entry)
        return entry

    def save(self, entry: JournalEntry) -> None:
        """Write the entry atomically: temp file, fsync, rename over, fsync the folder."""
        with self._lock:
            entry.updated = _now()
            self.last = entry
            self.path.mkdir(parents=True, exist_ok=True)
            text = json.dumps(entry.to_json(), indent=1)
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{entry.id}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self._file(entry.id))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            with contextlib.suppress(OSError):  # not every platform can open a folder
                folder = os.open(self.path, os.O_RDONLY)
                try:
                    os.fsync(folder)
                finally:
                    os.close(folder)

    def load(self, path: Path) -> JournalEntry:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise JournalCorruptError(path, exc.strerror or type(exc).__name__) from None
        except UnicodeDecodeError:
            raise JournalCorruptError(path, "not UTF-8 text") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JournalCorruptError(path, f"not JSON: {exc.msg} at line {exc.lineno}") from None
        return JournalEntry.from_json(data, path)

    def files(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.glob("*.json") if not p.name.startswith("."))

    def entries(self) -> Iterator[JournalEntry]:
        """Every entry, oldest first; a corrupt file raises `JournalCorruptError`."""
        for path in self.files():
            yield self.load(path)

    def find(
        self,
        instance_url: str,
        sobject: str,
        operation: str,
        external_id_field: str | None,
        source: Fingerprint,
    ) -> JournalEntry | None:
        """The newest entry of the same load (org, object, operation, external id, content)."""
        found = None
        for entry in self.entries():
            if entry.matches(instance_url, sobject, operation, external_id_field, source):
                found = entry
        return found

    def entry_for(self, job_or_entry_id: str) -> JournalEntry | None:
        """The entry with this id, or the one holding this job id."""
        file = self._file(job_or_entry_id)
        if file.is_file():
            return self.load(file)
        for entry in self.entries():
            if entry.holds(job_or_entry_id):
                return entry
        return None

    def forget(self, job_or_entry_id: str) -> Path | None:
        """Delete an entry (by its id, without reading it, or by a job id); its path or None."""
        file = self._file(job_or_entry_id)
        if not file.is_file():
            entry = self.entry_for(job_or_entry_id)
            if entry is None:
                return None
            file = self._file(entry.id)
        file.unlink()
        return file


@attrs.define
class PartTracker:
    """Writes one part's progress through the journal as the client goes (create, upload,
    close), and tells `notify` what happened, in words."""

    journal: Journal
    entry: JournalEntry
    part: JournalPart
    notify: Callable[[str], None] | None = None

    def say(self, message: str) -> None:
        if self.notify is not None:
            self.notify(message)

    def _set(self, state: str, job_id: str | None = None) -> None:
        if job_id is not None:
            self.part.job_id = job_id
        self.part.state = state
        self.journal.save(self.entry)

    def creating(self) -> None:
        """Before the create request: a job made by a request that never answered (killed
        mid-way) is found again by this time (`AsyncBulk2._abort_orphans`)."""
        self.part.creating_at = _now()
        self._set(CREATING)

    def created(self, job_id: str) -> None:
        self._set(OPEN, job_id)
        first = self.part.start + 1
        self.say(f"job {job_id}: created for rows {first}-{first + self.part.rows - 1}; uploading")

    def uploaded(self) -> None:
        self._set(UPLOADED)

    def closed(self) -> None:
        self._set(CLOSED)
        job_id = self.part.job_id
        self.say(
            f"job {job_id}: upload complete; follow it with `salesforce-typed bulk status {job_id}`"
        )

    def aborted(self) -> None:
        self.part.reset()
        self.journal.save(self.entry)
