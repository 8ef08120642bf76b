"""`salesforce-typed login`, `logout`, `auth list` and `auth show`: orgs by alias.

`login` runs the OAuth 2.0 web-server flow with PKCE (`salesforce_typed.auth.login`): it
opens the browser on the authorize URL (or, with `--no-browser`, prints it on stdout and
reads the pasted redirect URL or code from stdin while still listening for the callback),
exchanges the code, writes the token to the store and records the alias.

Exit codes: 0 done, 1 refused by Salesforce or unreachable, 2 a usage error. Diagnostics go
to stderr; tokens and the client secret are never printed (`auth show` prints fingerprints).
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import ssl
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from salesforce_typed.cli.app import app

if TYPE_CHECKING:
    from salesforce_typed.auth.aliases import AliasRecord
    from salesforce_typed.auth.login import CallbackServer

auth_app = typer.Typer(no_args_is_help=True, help="Logged-in orgs (aliases).")
app.add_typer(auth_app, name="auth")

_DEFAULT_STORE = "file"


def _fail(exc: Exception) -> NoReturn:
    from salesforce_typed.core.errors import UsageError

    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2 if isinstance(exc, UsageError) else 1)


def _verify(ca_file: str | None) -> ssl.SSLContext | bool:
    if not ca_file:
        return True
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError):
        typer.echo(f"error: --ca-file: cannot load a CA bundle from {ca_file}", err=True)
        raise typer.Exit(2) from None


def _read_pasted(lines: queue.Queue[str]) -> None:
    """Daemon thread: stdin lines into the queue (EOF: nothing more, keep waiting)."""
    for line in sys.stdin:
        if line.strip():
            lines.put(line)


def _wait_for_code(
    server: CallbackServer, state: str, *, read_stdin: bool, timeout_s: float
) -> str:
    from salesforce_typed.auth.login import code_from_redirect
    from salesforce_typed.core.errors import OAuthError

    pasted: queue.Queue[str] = queue.Queue()
    if read_stdin:
        threading.Thread(target=_read_pasted, args=(pasted,), daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = server.wait(0.2)
        if code is not None:
            return code
        try:
            return code_from_redirect(pasted.get_nowait(), state)
        except queue.Empty:
            continue
    raise OAuthError("login_timeout", f"no redirect came back within {timeout_s:.0f} s")


@app.command("login")
def login(
    alias: Annotated[str, typer.Option(help="The name to log this org in under.")],
    login_url: Annotated[
        str,
        typer.Option(
            envvar="SF_LOGIN_URL",
            help="https://login.salesforce.com, https://test.salesforce.com or your My Domain.",
        ),
    ] = "https://login.salesforce.com",
    client_id: Annotated[
        str | None,
        typer.Option(envvar="SF_CLIENT_ID", help="The connected app's consumer key."),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SF_CLIENT_SECRET",
            help="The consumer secret, when the app requires it for the web-server flow and "
            "for refresh (kept in the alias file, mode 0600).",
        ),
    ] = None,
    port: Annotated[
        int,
        typer.Option(help="Local callback port; the app's callback URL must name it (0: any)."),
    ] = 1717,
    no_browser: Annotated[
        bool,
        typer.Option(
            "--no-browser",
            help="Print the URL instead of opening a browser; paste the redirect URL (or "
            "its code) back here.",
        ),
    ] = False,
    store: Annotated[
        str,
        typer.Option(help="Where tokens live: file, file:///dir, redis://..., postgresql://..."),
    ] = _DEFAULT_STORE,
    scope: Annotated[
        str | None, typer.Option(help="Scopes to ask for (default: the app's own).")
    ] = None,
    ca_file: Annotated[
        str | None, typer.Option(envvar="SF_CA_FILE", help="Trust this CA bundle (PEM).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the browser.")] = 300.0,
) -> None:
    """Log in through the browser (OAuth web-server flow with PKCE) and remember the org."""
    from salesforce_typed.auth import aliases
    from salesforce_typed.auth import login as flow
    from salesforce_typed.core.errors import SalesforceError, UsageError

    verify = _verify(ca_file)
    try:
        aliases.check_alias_name(alias)
        if not client_id:
            raise UsageError("--client-id (or SF_CLIENT_ID) is required: your connected app's key")
        token_store = aliases.open_store(store)
        pkce, state = flow.new_pkce_pair(), flow.new_state()
        with flow.CallbackServer(state, port=port) as server:
            url = flow.authorize_url(
                login_url,
                client_id=client_id,
                redirect_uri=server.redirect_uri,
                state=state,
                code_challenge=pkce.challenge,
                scope=scope,
            )
            if no_browser:
                typer.echo("Open this URL in a browser and log in:", err=True)
                typer.echo(url)
                typer.echo(
                    "Then paste the address the browser was sent to (or its code) here:",
                    err=True,
                )
            else:
                opened = webbrowser.open(url)
                typer.echo(
                    f"{'Opened' if opened else 'Open'} the login page in your browser: {url}",
                    err=True,
                )
            code = _wait_for_code(server, state, read_stdin=no_browser, timeout_s=timeout)
            redirect_uri = server.redirect_uri
        result = flow.exchange_code(
            login_url,
            code=code,
            redirect_uri=redirect_uri,
            client_id=client_id,
            code_verifier=pkce.verifier,
            client_secret=client_secret,
            verify=verify,
        )
        who = result.identity
        key = aliases.login_store_key(login_url, client_id, who.org_id, who.user_id)
        aliases.store_login_token(token_store, key, result.token)
        aliases.save_alias(
            aliases.AliasRecord(
                name=alias,
                login_url=login_url.rstrip("/"),
                client_id=client_id,
                username=who.username,
                instance_url=result.token.instance_url,
                org_id=who.org_id,
                user_id=who.user_id,
                store_url=store,
                store_key=key,
                logged_in_at=time.time(),
                client_secret=client_secret or None,
            )
        )
    except (SalesforceError, ValueError) as exc:
        _fail(exc)
    typer.echo(
        f"Logged in as {who.username or who.user_id} (org {who.org_id}) at "
        f"{result.token.instance_url}; alias {alias!r}, store {aliases.mask_url(store)}",
        err=True,
    )


@app.command("logout")
def logout(
    alias: Annotated[str, typer.Option(help="The alias to log out.")],
    ca_file: Annotated[
        str | None, typer.Option(envvar="SF_CA_FILE", help="Trust this CA bundle (PEM).")
    ] = None,
    keep_token: Annotated[
        bool,
        typer.Option(
            "--local-only",
            help="Forget the alias and its stored token without revoking at Salesforce.",
        ),
    ] = False,
) -> None:
    """Revoke the alias's refresh token at Salesforce, then clear the store and the alias."""
    from salesforce_typed.auth import aliases
    from salesforce_typed.auth import login as flow
    from salesforce_typed.core.errors import SalesforceError

    verify = _verify(ca_file)
    try:
        record = aliases.get_alias(alias)
        token_store = aliases.open_store(record.store_url)
        current = token_store.get_token_data(record.store_key)
        revoked = False
        if current is not None and current.refresh_token and not keep_token:
            revoked = flow.revoke_token(record.login_url, current.refresh_token, verify=verify)
        token_store.clear_token_data(record.store_key)
        aliases.remove_alias(alias)
    except (SalesforceError, ValueError) as exc:
        _fail(exc)
    state = "revoked" if revoked else "not revoked (already gone or --local-only)"
    typer.echo(f"Logged out {alias!r}: refresh token {state}; store and alias cleared", err=True)


def _when(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def _summary(record: AliasRecord, token_info: dict[str, Any] | None) -> dict[str, Any]:
    from salesforce_typed.auth.aliases import mask_url

    return {
        "alias": record.name,
        "username": record.username,
        "org_id": record.org_id,
        "user_id": record.user_id,
        "instance_url": record.instance_url,
        "login_url": record.login_url,
        "client_id": record.client_id,
        "client_secret": "stored" if record.client_secret else None,
        "store": mask_url(record.store_url),
        "logged_in_at": _when(record.logged_in_at),
        "token": token_info,
    }


def _token_info(record: AliasRecord) -> dict[str, Any] | None:
    """The stored token, masked: fingerprints, version and times. None when none is stored."""
    from salesforce_typed.auth.aliases import open_store
    from salesforce_typed.auth.token import fingerprint

    token = open_store(record.store_url).get_token_data(record.store_key)
    if token is None:
        return None
    return {
        "access_token": fingerprint(token.access_token),
        "refresh_token": fingerprint(token.refresh_token),
        "version": token.version,
        "last_rotation": _when(token.last_refreshed_at),
        "expires_at": _when(token.expires_at) if token.expires_at != float("inf") else None,
    }


_JSON = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


@auth_app.command("list")
def auth_list(as_json: _JSON = False) -> None:
    """Every logged-in alias: user, org, instance, store."""
    from salesforce_typed.auth.aliases import load_aliases, mask_url
    from salesforce_typed.core.errors import SalesforceError

    try:
        records = load_aliases()
    except (SalesforceError, ValueError) as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([_summary(r, None) for r in records.values()], indent=2))
        return
    if not records:
        typer.echo("No aliases: log in with salesforce-typed login --alias NAME", err=True)
        return
    for record in records.values():
        typer.echo(
            f"{record.name}\t{record.username or record.user_id}\t{record.org_id}\t"
            f"{record.instance_url}\t{mask_url(record.store_url)}"
        )


@auth_app.command("show")
def auth_show(
    name: Annotated[str, typer.Argument(help="The alias.")], as_json: _JSON = False
) -> None:
    """One alias: org, user, instance, store, last rotation; tokens as fingerprints."""
    from salesforce_typed.auth.aliases import get_alias
    from salesforce_typed.core.errors import SalesforceError

    try:
        record = get_alias(name)
        summary = _summary(record, _token_info(record))
    except (SalesforceError, ValueError) as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    token = summary.pop("token") or {}
    for key, value in {**summary, **{f"token.{k}": v for k, v in token.items()}}.items():
        typer.echo(f"{key}: {'-' if value is None else value}")
    if not token:
        typer.echo("token: none stored (log in again)")


# -- server-to-server aliases: one command each ---------------------------------------------


def _setup_alias(
    alias: str,
    grant: Any,
    *,
    grant_type: str,
    login_url: str,
    store: str,
    ca_file: str | None,
    username: str | None = None,
    client_secret: str | None = None,
    key_file: Path | None = None,
) -> None:
    """Fetch one token (which checks the setup end to end), store it, record the alias."""
    import httpx

    from salesforce_typed.auth import aliases
    from salesforce_typed.auth import login as flow
    from salesforce_typed.core.errors import RequestNotSentError, SalesforceError

    try:
        aliases.check_alias_name(alias)
        token_store = aliases.open_store(store)
        now = time.time()
        with httpx.Client(verify=_verify(ca_file)) as http:
            try:
                response = http.send(grant.build_token_request(now))
            except httpx.TransportError as exc:
                raise RequestNotSentError(
                    f"the token endpoint is unreachable ({type(exc).__name__})"
                ) from None
            token = grant.parse_token_response(response, now)
        id_url = response.json().get("id") or ""
        org_id, user_id = flow.identity_from_id_url(id_url) if id_url else ("", "")
        key = grant.store_key()
        aliases.store_login_token(token_store, key, token)
        aliases.save_alias(
            aliases.AliasRecord(
                name=alias,
                login_url=login_url.rstrip("/"),
                client_id=grant.client_id,
                username=username,
                instance_url=token.instance_url,
                org_id=org_id,
                user_id=user_id,
                store_url=store,
                store_key=key,
                logged_in_at=now,
                client_secret=client_secret,
                grant_type=grant_type,
                key_file=str(key_file.resolve()) if key_file is not None else None,
            )
        )
    except (SalesforceError, ValueError) as exc:
        _fail(exc)
    typer.echo(
        f"{grant_type} alias {alias!r}: org {org_id or '?'} at {token.instance_url}, "
        f"store {aliases.mask_url(store)}",
        err=True,
    )


_ALIAS = Annotated[str, typer.Option(help="The name to remember this org under.")]
_CLIENT_ID = Annotated[str, typer.Option(envvar="SF_CLIENT_ID", help="The consumer key.")]
_STORE = Annotated[
    str, typer.Option(help="Where tokens live: file, file:///dir, redis://..., postgresql://...")
]
_CA_FILE = Annotated[
    str | None, typer.Option(envvar="SF_CA_FILE", help="Trust this CA bundle (PEM).")
]


@auth_app.command("jwt")
def auth_jwt(
    alias: _ALIAS,
    client_id: _CLIENT_ID,
    username: Annotated[str, typer.Option(envvar="SF_USERNAME", help="The user to run as.")],
    key_file: Annotated[
        Path, typer.Option(help="The PEM private key whose certificate the app holds.")
    ],
    login_url: Annotated[
        str, typer.Option(envvar="SF_LOGIN_URL", help="login, test or your My Domain URL.")
    ] = "https://login.salesforce.com",
    store: _STORE = _DEFAULT_STORE,
    ca_file: _CA_FILE = None,
) -> None:
    """Remember a JWT bearer (server-to-server) org: the key file's path is kept, not the key."""
    from salesforce_typed.auth.aliases import jwt_audience
    from salesforce_typed.auth.grants import JwtBearerGrant
    from salesforce_typed.auth.login import login_base

    try:
        pem = key_file.read_bytes()
    except OSError as exc:
        _fail(ValueError(f"cannot read --key-file {key_file} ({type(exc).__name__})"))
    grant = JwtBearerGrant(
        client_id=client_id,
        username=username,
        private_key_pem=pem,
        audience=jwt_audience(login_url),
        token_url=f"{login_base(login_url)}/services/oauth2/token",
    )
    _setup_alias(
        alias,
        grant,
        grant_type="jwt_bearer",
        login_url=login_url,
        store=store,
        ca_file=ca_file,
        username=username,
        key_file=key_file,
    )


@auth_app.command("client-credentials")
def auth_client_credentials(
    alias: _ALIAS,
    client_id: _CLIENT_ID,
    client_secret: Annotated[
        str, typer.Option(envvar="SF_CLIENT_SECRET", help="The consumer secret (kept, 0600).")
    ],
    login_url: Annotated[
        str, typer.Option(envvar="SF_LOGIN_URL", help="Your My Domain URL (required).")
    ],
    store: _STORE = _DEFAULT_STORE,
    ca_file: _CA_FILE = None,
) -> None:
    """Remember a client-credentials org (the app's run-as user; My Domain only)."""
    from salesforce_typed.auth.grants import ClientCredentialsGrant
    from salesforce_typed.auth.login import login_base

    grant = ClientCredentialsGrant(
        client_id=client_id,
        client_secret=client_secret,
        token_url=f"{login_base(login_url)}/services/oauth2/token",
    )
    _setup_alias(
        alias,
        grant,
        grant_type="client_credentials",
        login_url=login_url,
        store=store,
        ca_file=ca_file,
        client_secret=client_secret,
    )


__all__ = ["auth_app", "auth_client_credentials", "auth_jwt", "login", "logout"]
