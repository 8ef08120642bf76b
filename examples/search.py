"""SOSL: one search across objects, each hit decoded as its own typed model.

    python examples/search.py

Creates an Account and a Contact sharing a rare word, searches for it, and deletes both.
A real org indexes new records for search asynchronously, so there the first searches
may find nothing yet; the script retries for a few seconds and says so.
"""

from __future__ import annotations

import secrets
import sys
import time

from _connect import step, target

from salesforce_typed import SObject
from salesforce_typed_std import Account, Contact

RETURNING = "RETURNING Account(Id, Name ORDER BY Name), Contact(Id, LastName, AccountId)"


def main() -> int:
    word = f"Zyx{secrets.token_hex(4)}"  # letters and digits only: no SOSL escaping needed
    sosl = f"FIND {{{word}}} IN NAME FIELDS {RETURNING}"
    with target() as org, org.client() as sf:
        step(f"create an Account and a Contact named after {word!r}")
        account = sf.create(Account(Name=f"{word} Logistics"))
        contact = sf.create(Contact(LastName=word, AccountId=account.id))
        try:
            step(f"search: {sosl}")
            hits: list[SObject] = []
            for _ in range(10 if org.fake is None else 1):
                hits = sf.search(sosl)
                if hits:
                    break
                print("no hits yet: the search index lags behind new records, retrying")
                time.sleep(1.0)
            for hit in hits:
                if isinstance(hit, Account):
                    print(f"Account {hit.Id}: Name={hit.Name!r}")
                elif isinstance(hit, Contact):
                    print(f"Contact {hit.Id}: LastName={hit.LastName!r} AccountId={hit.AccountId}")
            print(f"{len(hits)} hits, typed as {sorted({type(h).__name__ for h in hits})}")
            if org.fake is not None and len(hits) != 2:
                print("expected 2 hits from the fake org")
                return 1
        finally:
            step("clean up")
            sf.delete(Account, account.id)  # the Contact goes with it (cascade delete)
            print(f"deleted Account {account.id} and Contact {contact.id}")
    print("\nsearch: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
