"""What `mypy --strict` tells a user of the committed `salesforce_typed_std` models.

One mypy run checks two user files: `good.py` must be clean, and every line of `bad.py` marked
`# E: <code>` must draw exactly that error (unmarked lines none). The models' whole promise is
here: keyword constructors typed per field, `None` and `UNSET` kept in every field type so
reads need narrowing, typed parents and child lists, and picklists that take their enum or
any string.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "generated"

GOOD = """\
from __future__ import annotations

from salesforce_typed.core.models import RelatedList
from salesforce_typed.core.unset import UNSET
from salesforce_typed_std import Account, AccountIndustryPicklist, Contact


def build() -> Account:
    return Account(Name="Acme", Industry=None, AnnualRevenue=1.5)


def shout(acc: Account) -> str:
    if isinstance(acc.Name, str):
        return acc.Name.upper()
    return ""


def parent_name(contact: Contact) -> str | None:
    parent = contact.Account
    if isinstance(parent, Account) and isinstance(parent.Name, str):
        return parent.Name
    return None


def contact_names(acc: Account) -> list[str]:
    if isinstance(acc.Contacts, RelatedList):
        return [c.LastName for c in acc.Contacts.records if isinstance(c.LastName, str)]
    return []


banking = Account(Industry=AccountIndustryPicklist.BANKING)
martian = Account(Industry="Martian Mining")
cleared = Account(Name="Acme", Phone=None, BillingCity=UNSET, AnnualRevenue=2)
decoded = Account.from_dict({"Name": "Acme"})
reveal_type(Contact().Account)  # REVEAL parent
reveal_type(decoded)  # REVEAL decoded
reveal_type(Account().Contacts)  # REVEAL children
"""

BAD = """\
from __future__ import annotations

from salesforce_typed_std import Account, AccountIndustryPicklist, Contact

Account(Name=1)  # E: arg-type
Account(AnnualRevenue="lots")  # E: arg-type
Account(Industry=5)  # E: arg-type
Account(Nmae="Acme")  # E: call-arg
acc = Account(Name="Acme", Industry=AccountIndustryPicklist.BANKING)
acc.Name.upper()  # E: union-attr
name: str = acc.Name  # E: assignment
Contact().Account.Name  # E: union-attr
acc.Industry.value  # E: union-attr
acc.NoSuchField  # E: attr-defined
"""

LINE = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<sev>error|note): (?P<msg>.*?)(?:  \[(?P<code>[a-z-]+)\])?$"
)


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[dict[str, str]], str]:
    work = tmp_path_factory.mktemp("mypy_user")
    (work / "good.py").write_text(GOOD, encoding="utf-8")
    (work / "bad.py").write_text(BAD, encoding="utf-8")
    (work / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    env = dict(os.environ, MYPYPATH=str(GENERATED))
    env.pop("MYPY_CACHE_DIR", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(work / ".mypy_cache"),
            "--show-error-codes",
            "--no-pretty",
            "--hide-error-context",
            "--no-error-summary",
            "--no-color-output",
            "good.py",
            "bad.py",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    rows = []
    for raw in result.stdout.splitlines():
        m = LINE.match(raw)
        assert m is not None, f"unparsed mypy output: {raw!r}\n{result.stdout}{result.stderr}"
        rows.append({k: v or "" for k, v in m.groupdict().items()})
    return result.returncode, rows, result.stdout + result.stderr


def marked_lines(text: str, marker: str) -> dict[int, str]:
    return {
        n: line.split(marker, 1)[1].strip()
        for n, line in enumerate(text.splitlines(), start=1)
        if marker in line
    }


def test_mypy_ran_on_both_files(mypy_output: tuple[int, list[dict[str, str]], str]) -> None:
    code, rows, raw = mypy_output
    assert code == 1, raw  # bad.py must fail; 2 would mean mypy itself could not run
    outside = [r for r in rows if r["file"] not in ("good.py", "bad.py")]
    assert outside == [], raw  # the generated package itself must be clean under --strict


def test_correct_user_code_passes(mypy_output: tuple[int, list[dict[str, str]], str]) -> None:
    _, rows, raw = mypy_output
    errors = [r for r in rows if r["file"] == "good.py" and r["sev"] == "error"]
    assert errors == [], raw


def test_reveal_types(mypy_output: tuple[int, list[dict[str, str]], str]) -> None:
    _, rows, raw = mypy_output
    reveals = marked_lines(GOOD, "# REVEAL")
    notes = {
        reveals[int(r["line"])]: r["msg"]
        for r in rows
        if r["file"] == "good.py" and r["sev"] == "note" and int(r["line"]) in reveals
    }
    assert set(notes) == {"parent", "decoded", "children"}, raw
    parent = notes["parent"]
    assert "salesforce_typed_std.account.Account" in parent
    assert "None" in parent and "UnsetType" in parent
    assert notes["decoded"] == 'Revealed type is "salesforce_typed_std.account.Account"'
    children = notes["children"]
    assert "RelatedList[salesforce_typed_std.contact.Contact]" in children
    assert "Any" not in children


def test_each_wrong_line_draws_its_error(
    mypy_output: tuple[int, list[dict[str, str]], str],
) -> None:
    _, rows, raw = mypy_output
    expected = marked_lines(BAD, "# E:")
    got: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        if r["file"] == "bad.py" and r["sev"] == "error":
            got[int(r["line"])].add(r["code"])
    assert set(got) == set(expected), raw  # no missed error, no error on an unmarked line
    for line, code in expected.items():
        assert got[line] == {code}, (line, BAD.splitlines()[line - 1], raw)


def test_reading_an_unnarrowed_field_names_none_and_unset(
    mypy_output: tuple[int, list[dict[str, str]], str],
) -> None:
    _, rows, raw = mypy_output
    line = next(
        n for n, text in enumerate(BAD.splitlines(), 1) if text.startswith("acc.Name.upper")
    )
    messages = " ".join(r["msg"] for r in rows if r["file"] == "bad.py" and int(r["line"]) == line)
    assert 'Item "None"' in messages, raw
    assert 'Item "UnsetType"' in messages, raw
