"""The local job journal (`jobs/journal.py`) and the Python API over it: entries written
atomically, corruption named with its way out, a load found again by its content, and a load
cut into several jobs picked up part by part after the process "dies" between two requests.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import salesforce_typed_std as std
from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.bulk import Bulk2, BulkTimeoutError, PollPolicy
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import UsageError
from salesforce_typed.jobs.journal import (
    Journal,
    JournalCorruptError,
    JournalEntry,
    JournalPart,
    fingerprint,
)
from salesforce_typed.testing.server import FakeOrg

ROWS = 1200
BLANKS = (5, 450, 1199)  # rows without the required Name: they fail, in three different parts


def _input(path: Path) -> list[tuple[str, str]]:
    rows = [("" if i in BLANKS else f"j-{i}", f"N{i:05d}") for i in range(ROWS)]
    path.write_text(
        "Name,AccountNumber\n" + "".join(f"{n},{a}\n" for n, a in rows), encoding="utf-8"
    )
    return rows


def _entry(book: Journal, source: Path, **over: object) -> JournalEntry:
    fields: dict[str, object] = {
        "instance_url": "https://x.my.salesforce.com",
        "sobject": "Account",
        "operation": "insert",
        "external_id_field": None,
        "column_delimiter": "COMMA",
        "line_ending": "LF",
        "max_upload_bytes": 1000,
        "input": fingerprint(source),
        "parts": [JournalPart(start=0, rows=3, job_id="750A", state="closed")],
    }
    return book.new(**(fields | over))


# -- the journal on its own ---------------------------------------------------------------------


def test_fingerprint_is_size_mtime_and_sha256(tmp_path: Path) -> None:
    data = b"Name\n" + b"x" * (3 << 20)  # bigger than one read block
    (tmp_path / "f.csv").write_bytes(data)
    fp = fingerprint(tmp_path / "f.csv")
    assert fp.sha256 == hashlib.sha256(data).hexdigest()
    assert fp.size == len(data)
    assert fp.mtime_ns == os.stat(tmp_path / "f.csv").st_mtime_ns
    assert fp.path == str((tmp_path / "f.csv").resolve())


def test_entries_are_written_whole_and_read_back(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Name\na\nb\nc\n", encoding="utf-8")
    book = Journal(tmp_path / "j")
    entry = _entry(book, tmp_path / "in.csv")
    entry.parts[0].state = "JobComplete"
    book.save(entry)
    assert [p.name for p in (tmp_path / "j").iterdir()] == [f"{entry.id}.json"]  # no temp left
    data = json.loads((tmp_path / "j" / f"{entry.id}.json").read_text(encoding="utf-8"))
    assert data["version"] == 1 and data["state"] == "ended"
    assert "token" not in json.dumps(data).lower()
    again = book.entry_for("750A")
    assert again == entry and again is not None and again.state == "ended"
    assert book.entry_for(entry.id) == entry
    assert book.entry_for("750B") is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"version": 1, "id"', "not JSON"),
        ("[]", "not a JSON object"),
        ('{"version": 9}', "version 9, not 1"),
        ('{"version": 1, "id": "x"}', "bad field"),
        (b"\xff\xfe", "not UTF-8 text"),
    ],
)
def test_a_corrupt_entry_names_its_file_and_the_way_out(
    tmp_path: Path, text: str | bytes, reason: str
) -> None:
    (tmp_path / "in.csv").write_text("Name\na\n", encoding="utf-8")
    book = Journal(tmp_path / "j")
    good = _entry(book, tmp_path / "in.csv")
    bad = tmp_path / "j" / "load-broken.json"
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(JournalCorruptError) as err:
        list(book.entries())
    assert str(err.value).startswith(f"bulk job journal {bad} is unreadable ({reason}")
    assert "`salesforce-typed bulk jobs --forget load-broken`" in str(err.value)
    assert err.value.path == bad
    assert book.forget("load-broken") == bad  # by id, without reading it
    assert list(book.entries()) == [good]


def test_an_entry_renamed_is_corrupt(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Name\na\n", encoding="utf-8")
    book = Journal(tmp_path / "j")
    entry = _entry(book, tmp_path / "in.csv")
    (tmp_path / "j" / f"{entry.id}.json").rename(tmp_path / "j" / "other.json")
    with pytest.raises(JournalCorruptError, match="is not its file name"):
        book.entry_for("other")
    with pytest.raises(UsageError, match="not a journal entry id"):
        book.forget("../escape")


def test_a_load_is_found_by_its_content_not_its_mtime(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("Name\na\n", encoding="utf-8")
    book = Journal(tmp_path / "j")
    entry = _entry(book, source)
    key = ("https://x.my.salesforce.com", "account", "insert", None)
    os.utime(source, ns=(1, 1))  # touched, same bytes: the same load
    assert book.find(*key, fingerprint(source)) == entry
    assert book.find("https://y.my.salesforce.com", *key[1:], fingerprint(source)) is None
    assert book.find(key[0], "Account", "upsert", None, fingerprint(source)) is None
    source.write_text("Name\nb\n", encoding="utf-8")  # other content: another load
    assert book.find(*key, fingerprint(source)) is None
    assert book.forget("750A") == tmp_path / "j" / f"{entry.id}.json"
    assert book.forget("750A") is None


# -- the Python API over a fake org -------------------------------------------------------------


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as org:
        yield org


def _client(org: FakeOrg) -> Salesforce:
    c = org.credentials()
    grant = RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=org.new_refresh_token(),
        token_url=c["token_url"],
    )
    return Salesforce(auth=grant, clock=FakeClock())


def _held(sf: Salesforce) -> Counter[tuple[str, str]]:
    soql = "SELECT Name, AccountNumber FROM Account"
    return Counter((a.Name or "", a.AccountNumber or "") for a in sf.query(std.Account, soql))


class Died(BaseException):
    """The process "dies" here (like a kill: nothing after it runs)."""


def test_a_load_in_several_jobs_dies_between_requests_and_is_picked_up(
    org: FakeOrg, tmp_path: Path
) -> None:
    rows = _input(tmp_path / "in.csv")
    book = Journal(tmp_path / "j")
    heard: list[str] = []
    first: list[str] = []  # the first part's job, as "job <id>"
    first_closed = threading.Event()

    def die_at_second_job(message: str) -> None:
        # Uploads run 4 at a time, so which job is created second is a race: the first part
        # always goes through, and the run dies at the first other part's job once the
        # first one is closed (waited for: it runs on its own thread meanwhile).
        heard.append(message)
        job = message.partition(":")[0]
        if "created for rows 1-" in message:
            first.append(job)
        elif first and job == first[0] and ": upload complete" in message:
            first_closed.set()
        elif "created for rows" in message and not any(m.startswith("died") for m in heard):
            heard.append("died")
            assert first_closed.wait(60)
            raise Died  # that job exists, Open, nothing uploaded to it

    with _client(org) as sf, pytest.raises(Died):
        Bulk2(sf).ingest(
            std.Account,
            csv_path=tmp_path / "in.csv",
            journal=book,
            notify=die_at_second_job,
            max_upload_bytes=8000,
        )
    (entry,) = book.entries()
    assert len(entry.parts) >= 3 and sum(p.rows for p in entry.parts) == ROWS
    assert entry.parts[0].start == 0 and all(
        a.start + a.rows == b.start for a, b in zip(entry.parts, entry.parts[1:], strict=False)
    )
    left_open = [p.job_id for p in entry.parts if p.state == "open"]
    closed = [p.job_id for p in entry.parts if p.state == "closed"]
    assert left_open and closed  # the dead upload, and others that finished (4 at a time)

    heard.clear()
    with _client(org) as sf:
        bulk = Bulk2(sf)
        with bulk.ingest(
            std.Account, csv_path=tmp_path / "in.csv", journal=book, notify=heard.append
        ) as result:
            assert result.entry is not None and result.entry.id == entry.id
            assert result.counts.successful == ROWS - len(BLANKS)
            failed = list(result.failed())
            assert [r.input_index for r in failed] == list(BLANKS)
            assert [r.values["AccountNumber"] for r in failed] == [rows[i][1] for i in BLANKS]
            assert sorted(r.input_index or 0 for r in result.successful()) == [
                i for i in range(ROWS) if i not in BLANKS
            ]
        for job_id in closed:
            assert any(f"job {job_id}: " in m and "from an earlier run" in m for m in heard)
        for job_id in left_open:
            assert (
                f"job {job_id}: left Open by an interrupted upload; aborted, rows go to a new job"
                in heard
            )
            assert bulk.job_info(job_id or "").state == "Aborted"
        assert _held(sf) == Counter(r for i, r in enumerate(rows) if i not in BLANKS)
        (done,) = book.entries()
        assert done.state == "ended"
        aborted = {j for p in done.parts for j in p.aborted_jobs}
        # every job the dead run left Open is aborted; with uploads 4 at a time, a job whose
        # create was under way when the run died may be found and aborted too, never a
        # closed one (its rows were sent once already)
        assert set(left_open) <= aborted and not aborted & set(closed)
        assert [j.id for j in bulk.job_status(closed[0] or "", journal=book)] == done.job_ids


def test_resume_in_a_new_process_matches_rows_from_the_journal(
    org: FakeOrg, tmp_path: Path
) -> None:
    rows = _input(tmp_path / "in.csv")
    book = Journal(tmp_path / "j")
    httpx.post(f"{org.instance_url}/_admin/bulk-v2", json={"paused": True}).raise_for_status()
    with _client(org) as sf, pytest.raises(BulkTimeoutError) as stopped:
        Bulk2(sf, poll=PollPolicy(timeout=5)).ingest(
            "Account", csv_path=tmp_path / "in.csv", journal=book
        )
    (job,) = stopped.value.job_ids
    httpx.post(f"{org.instance_url}/_admin/bulk-v2", json={"paused": False}).raise_for_status()
    with _client(org) as sf:
        bulk = Bulk2(sf)
        plain = bulk.resume_ingest(job)  # no journal: no input, no index
        assert {r.input_index for r in plain.failed()} == {None}
        with bulk.resume_ingest(job, journal=book) as result:
            assert [r.input_index for r in result.failed()] == list(BLANKS)
        assert _held(sf) == Counter(r for i, r in enumerate(rows) if i not in BLANKS)
        with pytest.raises(UsageError, match="journal= needs csv_path"):
            bulk.ingest("Account", [{"Name": "x"}], journal=book)


class _DiesBeforeJournaling(Journal):
    """The process dies after a create request answered, before its job id was written."""

    def save(self, entry: JournalEntry) -> None:
        if any(p.state == "open" for p in entry.parts):
            raise Died
        super().save(entry)


def test_a_job_created_as_the_run_was_cut_off_is_found_and_aborted(
    org: FakeOrg, tmp_path: Path
) -> None:
    rows = _input(tmp_path / "in.csv")
    with _client(org) as sf, pytest.raises(Died):
        Bulk2(sf).ingest(
            "Account", csv_path=tmp_path / "in.csv", journal=_DiesBeforeJournaling(tmp_path / "j")
        )
    book = Journal(tmp_path / "j")
    (entry,) = book.entries()
    assert [p.state for p in entry.parts] == ["creating"] and entry.parts[0].job_id is None
    heard: list[str] = []
    with _client(org) as sf:
        bulk = Bulk2(sf)
        (orphan,) = [j for j in bulk.list_jobs() if j.state == "Open"]
        other = bulk.create_ingest_job("Contact", "insert")  # not this load's: left alone
        with bulk.ingest(
            "Account", csv_path=tmp_path / "in.csv", journal=book, notify=heard.append
        ) as result:
            assert result.counts.successful == ROWS - len(BLANKS)
        assert f"job {orphan.id}: created as the run was cut off, never journaled; aborted" in heard
        assert bulk.job_info(orphan.id).state == "Aborted"
        assert bulk.job_info(other.id).state == "Open"
        assert _held(sf) == Counter(r for i, r in enumerate(rows) if i not in BLANKS)
        (done,) = book.entries()
        assert done.parts[0].aborted_jobs == [orphan.id]


def test_a_file_refused_before_any_job_leaves_no_entry(org: FakeOrg, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text('Name,AccountNumber\n"open quote,1\n', encoding="utf-8")
    book = Journal(tmp_path / "j")
    with _client(org) as sf, pytest.raises(UsageError):
        Bulk2(sf).ingest("Account", csv_path=tmp_path / "bad.csv", journal=book)
    assert book.files() == []


def test_the_async_client_journals_and_picks_up_the_same(org: FakeOrg, tmp_path: Path) -> None:
    import asyncio

    from salesforce_typed import AsyncSalesforce
    from salesforce_typed.bulk import AsyncBulk2

    rows = _input(tmp_path / "in.csv")
    book = Journal(tmp_path / "j")
    c = org.credentials()

    async def load() -> tuple[list[int | None], list[str]]:
        grant = RefreshTokenGrant(
            client_id=c["client_id"],
            client_secret=c["client_secret"],
            refresh_token=org.new_refresh_token(),
            token_url=c["token_url"],
        )
        heard: list[str] = []
        async with AsyncSalesforce(auth=grant, clock=FakeClock()) as sf:
            bulk = AsyncBulk2(sf)
            async with await bulk.ingest(
                "Account", csv_path=tmp_path / "in.csv", journal=book, notify=heard.append
            ) as result:
                failed = [row.input_index async for row in result.failed()]
            return failed, heard

    assert asyncio.run(load())[0] == list(BLANKS)
    failed, heard = asyncio.run(load())  # the same load again: reported, not repeated
    assert failed == list(BLANKS)
    assert any("from an earlier run; reporting it" in m for m in heard)
    with _client(org) as sf:
        assert _held(sf) == Counter(r for i, r in enumerate(rows) if i not in BLANKS)


def test_a_load_cut_by_rows_keeps_its_cut_when_rerun_with_another(
    org: FakeOrg, tmp_path: Path
) -> None:
    """`parallel_jobs=4`: the entry records 300 rows per job; the process dies with the second
    job just created; a re-run asking for two jobs finishes the four recorded ones."""
    rows = _input(tmp_path / "in.csv")
    book = Journal(tmp_path / "j")
    heard: list[str] = []

    def die_at_second_job(message: str) -> None:
        heard.append(message)
        if sum("created for rows" in m for m in heard) == 2:
            raise Died

    with _client(org) as sf, pytest.raises(Died):
        Bulk2(sf).ingest(
            "Account",
            csv_path=tmp_path / "in.csv",
            journal=book,
            notify=die_at_second_job,
            parallel_jobs=4,
        )
    (entry,) = book.entries()
    assert entry.max_rows_per_job == ROWS // 4
    assert [(p.start, p.rows) for p in entry.parts] == [(i * 300, 300) for i in range(4)]
    closed = {p.job_id for p in entry.parts if p.state == "closed"}

    heard.clear()
    with _client(org) as sf:
        bulk = Bulk2(sf)
        with bulk.ingest(
            "Account", csv_path=tmp_path / "in.csv", journal=book, notify=heard.append,
            parallel_jobs=2,
        ) as result:  # fmt: skip
            assert result.entry is not None and result.entry.id == entry.id
            assert len(result.job_ids) == 4
            assert [r.input_index for r in result.failed()] == list(BLANKS)
        (done,) = book.entries()
        assert [(p.start, p.rows) for p in done.parts] == [(i * 300, 300) for i in range(4)]
        assert done.state == "ended" and done.max_rows_per_job == 300
        # the jobs the dead run left Open were aborted and replaced; closed ones kept
        for part in done.parts:
            assert part.job_id is not None and part.job_id not in part.aborted_jobs
        aborted = {j for p in done.parts for j in p.aborted_jobs}
        assert closed <= set(done.job_ids) and not aborted & set(done.job_ids)
        assert any("from an earlier run" in m for m in heard) == bool(closed)
        assert _held(sf) == Counter(r for i, r in enumerate(rows) if i not in BLANKS)


def test_an_entry_written_before_the_row_cut_existed_reads_as_uncut(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("Name\na\n", encoding="utf-8")
    book = Journal(tmp_path / "j")
    entry = _entry(book, tmp_path / "in.csv")
    path = tmp_path / "j" / f"{entry.id}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["max_rows_per_job"]  # as an older version wrote it
    path.write_text(json.dumps(data), encoding="utf-8")
    (again,) = book.entries()
    assert again.max_rows_per_job is None and again.parts == entry.parts
