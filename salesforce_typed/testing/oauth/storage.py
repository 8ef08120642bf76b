"""The OAuth bookkeeping a persistent org keeps across restarts: families and refresh tokens.

Every refresh token ever issued stays on disk with its family, rotated-out ones included, so
after a restart a rotated-out token is still recognised (and still revokes its family).
`save` writes only what changed since the last call: new tokens (the token table only
grows, in insertion order) and families whose current token moved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesforce_typed.testing.oauth.endpoints import _Family, oauth_state
from salesforce_typed.testing.org.state import OrgState

if TYPE_CHECKING:
    from salesforce_typed.testing.org.persist import Journal

__all__ = ["is_current", "load", "save"]

_SAVED = "oauth_saved"  # state.extensions key: what the journal already holds


class _Saved:
    def __init__(self) -> None:
        self.tokens = 0
        self.currents: dict[str, str | None] = {}


def load(state: OrgState, book: Journal) -> None:
    """Put the journal's families and refresh tokens back into the org's OAuth state."""
    oauth = oauth_state(state)
    saved = _Saved()
    with state.lock:
        for family_id, row in book.entries("oauth_family"):
            oauth.families[family_id] = _Family(
                family_id=family_id,
                client_id=str(row["client_id"]),
                issued_at=float(row["issued_at"]),
                current=row["current"],
            )
            saved.currents[family_id] = row["current"]
        for token, family_id in book.entries("refresh_token"):
            oauth.refresh_tokens[token] = str(family_id)
        saved.tokens = len(oauth.refresh_tokens)
        state.extensions[_SAVED] = saved


def save(state: OrgState, book: Journal) -> None:
    """Write new refresh tokens and changed families through to the journal."""
    oauth = oauth_state(state)
    with state.lock:
        saved = state.extensions.setdefault(_SAVED, _Saved())
        tokens = list(oauth.refresh_tokens.items())[saved.tokens :]
        families: list[tuple[str, Any]] = [
            (
                f.family_id,
                {"client_id": f.client_id, "issued_at": f.issued_at, "current": f.current},
            )
            for f in oauth.families.values()
            if saved.currents.get(f.family_id, "") != f.current
        ]
        # tokens first: a family row never names a token the journal lacks
        book.put_many("refresh_token", tokens)
        book.put_many("oauth_family", families)
        saved.tokens += len(tokens)
        saved.currents.update((family_id, row["current"]) for family_id, row in families)


def is_current(state: OrgState, token: str) -> bool:
    """Whether `token` is its live family's current refresh token (not rotated out or
    revoked): what a restarted org may print again."""
    oauth = oauth_state(state)
    with state.lock:
        family = oauth.families.get(oauth.refresh_tokens.get(token, ""))
        return family is not None and family.current == token
