"""Logged-in orgs by name: the alias registry, the stores their tokens live in, and
`grant_from_alias` (the Python entry point to a `salesforce-typed login`).

`aliases.json` (mode 0600, atomic writes under a file lock) sits beside the file token
store under `config_home()`. It never holds a token: tokens stay in the store the alias
names. It does hold the connected app's client secret when one was given, which refresh
needs; every output masks it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from salesforce_typed.auth.grants import (
    ClientCredentialsGrant,
    JwtBearerGrant,
    RefreshTokenGrant,
    TokenGrant,
)
from salesforce_typed.auth.token import TokenData, TokenStore, token_key
from salesforce_typed.core.errors import (
    UsageError,
)
from salesforce_typed.stores.file import config_home

__all__ = [
    "AliasRecord",
    "AliasRefreshTokenGrant",
    "aliases_path",
    "check_alias_name",
    "get_alias",
    "grant_from_alias",
    "jwt_audience",
    "load_aliases",
    "login_store_key",
    "mask_url",
    "open_store",
    "remove_alias",
    "save_alias",
    "store_login_token",
]

import re

from salesforce_typed.auth.login import login_base

_ALIAS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

# -- stores and keys ------------------------------------------------------------------------


def login_store_key(login_url: str, client_id: str, org_id: str, user_id: str) -> str:
    """Login host + client id + org + user: stable across refresh-token rotations."""
    return token_key(login_url, client_id, f"user:{org_id[:15]}/{user_id[:15]}")


def open_store(url: str) -> TokenStore:
    """`file` or `file:///dir` (one machine), `redis://`, `rediss://`, `postgresql://` URLs."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else url.lower()
    if scheme == "file":
        return _file_store(url)
    if scheme in ("redis", "rediss", "unix"):
        from salesforce_typed.stores.redis import RedisTokenStore

        return RedisTokenStore(url)
    if scheme in ("postgresql", "postgres"):
        from salesforce_typed.stores.postgres import PostgresTokenStore

        return PostgresTokenStore(url)
    raise UsageError("--store takes file, redis://..., rediss://... or postgresql://...")


def _file_store(url: str) -> TokenStore:
    """`file`: the default folder (`config_home()/tokens`); `file:///abs/dir`: that folder."""
    from salesforce_typed.stores.file import FileTokenStore

    if "://" not in url:
        return FileTokenStore()
    path = urlsplit(url).path
    if not path.startswith("/"):
        raise UsageError("--store file:///absolute/folder (or just file for the default one)")
    return FileTokenStore(path)


def store_login_token(store: TokenStore, key: str, token: TokenData) -> TokenData:
    """Write a fresh login's token over whatever `key` holds (compare-and-set, retried)."""
    for _ in range(5):
        current = store.get_token_data(key)
        version = current.version + 1 if current is not None else 1
        written = attrs.evolve(token, version=version)
        expected = current.version if current is not None else None
        if store.set_token_data(key, written, expected_version=expected):
            return written
    raise UsageError("the token store kept changing under the login's write; try again")


def mask_url(url: str) -> str:
    """A store URL fit to print: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


# -- the alias registry ---------------------------------------------------------------------


def aliases_path() -> Path:
    """`aliases.json` beside the file store's `tokens/`: `$SALESFORCE_TYPED_HOME`, else the
    platform config dir (`~/.config/salesforce-typed` on Linux)."""
    return config_home() / "aliases.json"


@attrs.frozen(kw_only=True, slots=True)
class AliasRecord:
    """One logged-in org, by name. `client_secret` is kept only for refreshing."""

    name: str
    login_url: str
    client_id: str
    username: str | None
    instance_url: str
    org_id: str
    user_id: str
    store_url: str = attrs.field(repr=mask_url)
    store_key: str
    logged_in_at: float
    client_secret: str | None = attrs.field(default=None, repr=False)
    # "web_server" (salesforce-typed login: refresh tokens), "jwt_bearer", "client_credentials"
    grant_type: str = "web_server"
    key_file: str | None = None  # jwt_bearer: the PEM private key's path (never its content)

    @property
    def token_url(self) -> str:
        return f"{login_base(self.login_url)}/services/oauth2/token"

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AliasRecord:
        fields = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def check_alias_name(name: str) -> str:
    if not _ALIAS_NAME.fullmatch(name):
        raise UsageError(
            "an alias is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def load_aliases(path: Path | None = None) -> dict[str, AliasRecord]:
    path = path or aliases_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the alias file {path} ({type(exc).__name__})") from None
    entries = raw.get("aliases", {}) if isinstance(raw, dict) else {}
    try:
        return {name: AliasRecord.from_dict(entry) for name, entry in entries.items()}
    except (TypeError, AttributeError):
        raise UsageError(f"the alias file {path} is not in the expected shape") from None


def get_alias(name: str, path: Path | None = None) -> AliasRecord:
    found = load_aliases(path).get(name)
    if found is None:
        raise UsageError(f"no alias {name!r}: run salesforce-typed login --alias {name}")
    return found


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside the file (POSIX), so two logins don't drop each other."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: last writer wins
        yield
        return
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_aliases(path: Path, records: Mapping[str, AliasRecord]) -> None:
    text = json.dumps(
        {"version": 1, "aliases": {n: r.to_dict() for n, r in sorted(records.items())}}, indent=2
    )
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save_alias(record: AliasRecord, path: Path | None = None) -> None:
    path = path or aliases_path()
    check_alias_name(record.name)
    with _locked(path):
        records = load_aliases(path)
        records[record.name] = record
        _write_aliases(path, records)


def remove_alias(name: str, path: Path | None = None) -> bool:
    path = path or aliases_path()
    with _locked(path):
        records = load_aliases(path)
        if records.pop(name, None) is None:
            return False
        _write_aliases(path, records)
    return True


# -- the Python entry point -----------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class AliasRefreshTokenGrant(RefreshTokenGrant):
    """A `RefreshTokenGrant` whose store key is the alias's (org and user), not the seed's.

    `refresh_token` is the newest one in the store when the grant was made; the auth flow
    reads the store first and uses it only if the store has lost its token.
    """

    key: str = attrs.field(default="")

    def store_key(self) -> str:
        return self.key or RefreshTokenGrant.store_key(self)


def grant_from_alias(
    name: str, *, path: Path | None = None, store: TokenStore | None = None
) -> tuple[TokenGrant, TokenStore]:
    """The grant and the store of an alias, for `SalesforceAuth(grant, store=store)`.

    `store` overrides opening the alias's recorded store URL. Raises `UsageError` for an
    unknown alias, a key file that is gone, or a login alias whose store holds no token.
    """
    record = get_alias(name, path)
    store = store if store is not None else open_store(record.store_url)
    if record.grant_type != "web_server":
        return _server_grant(record), store
    current = store.get_token_data(record.store_key)
    if current is None or not current.refresh_token:
        raise UsageError(
            f"the store has no token for alias {name!r}: "
            f"run salesforce-typed login --alias {name} again"
        )
    grant = AliasRefreshTokenGrant(
        client_id=record.client_id,
        refresh_token=current.refresh_token,
        client_secret=record.client_secret,
        token_url=record.token_url,
        key=record.store_key,
    )
    return grant, store


def _server_grant(record: AliasRecord) -> TokenGrant:
    """The grant of a server-to-server alias: it needs no stored refresh token."""
    if record.grant_type == "client_credentials":
        if not record.client_secret:
            raise UsageError(f"alias {record.name!r} has no client secret")
        return ClientCredentialsGrant(
            client_id=record.client_id,
            client_secret=record.client_secret,
            token_url=record.token_url,
        )
    if record.grant_type == "jwt_bearer" and record.key_file and record.username:
        try:
            pem = Path(record.key_file).read_bytes()
        except OSError as exc:
            raise UsageError(
                f"alias {record.name!r}: cannot read its key file {record.key_file} "
                f"({type(exc).__name__})"
            ) from None
        return JwtBearerGrant(
            client_id=record.client_id,
            username=record.username,
            private_key_pem=pem,
            audience=jwt_audience(record.login_url),
            token_url=record.token_url,
        )
    raise UsageError(f"alias {record.name!r} has an unknown grant type {record.grant_type!r}")


def jwt_audience(login_url: str) -> str:
    """`aud` of a JWT bearer assertion: test.salesforce.com for sandboxes, else login."""
    host = urlsplit(login_base(login_url)).hostname or ""
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return "https://test.salesforce.com"
    return "https://login.salesforce.com"
