"""The first refresh token: the OAuth 2.0 web-server flow with PKCE, and the alias registry.

`salesforce-typed login` drives this module; Python code reaches a logged-in org with
`grant_from_alias("prod")`, which returns the grant and the store the login wrote to.

The steps, pure where they can be:
- `new_pkce_pair()`, `new_state()`, `authorize_url(...)`: what the browser opens.
- `CallbackServer`: a one-shot HTTP server on `localhost:<port>` (default 1717, path
  `/OauthRedirect`, the Salesforce CLI's callback) that checks `state` and answers a small
  "you can close this tab" page; `code_from_redirect(...)` reads a pasted redirect URL.
- `build_code_request(...)` / `parse_code_response(...)`: the code exchange, and
  `exchange_code(...)`, which sends it (and reads the identity URL) through httpx.
- `AliasRecord`, `save_alias`, `load_aliases`, `remove_alias`: `aliases.json` in the file
  store's `config_home()` (`$SALESFORCE_TYPED_HOME`, else the platform config dir).

What must stay true:
- Secrets (verifier, code, tokens, client secret) never enter a message, a log line or a
  repr; the callback server's request log is silenced, since its request line holds the code.
- A callback whose `state` differs from ours ends the login (`OAuthError("invalid_state")`):
  it may be a forged request. An `error=` callback ends it with that OAuth error.
- The token is stored under a key that survives rotation: login host, client id, org id and
  user id (`login_store_key`), not a fingerprint of the first refresh token.
- `aliases.json` is written atomically (temp file, fsync, rename), mode 0600, in a 0700
  folder; it names the store URL and may hold the client secret, never a token.
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.server
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
import httpx

from salesforce_typed.auth.grants import (
    DEFAULT_SESSION_TIMEOUT_S,
    TOKEN_TIMEOUT,
    parse_token_body,
)
from salesforce_typed.auth.token import TokenData
from salesforce_typed.core.errors import (
    APIStatusError,
    OAuthError,
    OutcomeUnknownError,
    RequestNotSentError,
    UsageError,
)
from salesforce_typed.core.transport import certificate_error

__all__ = [
    "DEFAULT_CALLBACK_PATH",
    "DEFAULT_LOGIN_URL",
    "DEFAULT_PORT",
    "CallbackServer",
    "Identity",
    "LoginResult",
    "PkcePair",
    "authorize_url",
    "build_code_request",
    "code_from_redirect",
    "exchange_code",
    "identity_from_id_url",
    "login_base",
    "new_pkce_pair",
    "new_state",
    "parse_code_response",
    "revoke_token",
    "s256_challenge",
]

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_PORT = 1717
DEFAULT_CALLBACK_PATH = "/OauthRedirect"
_ID_PATH = re.compile(
    r"/id/([A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)/([A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)"
)


# -- PKCE, state and the authorize URL ------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class PkcePair:
    """RFC 7636 S256: the verifier stays here, the challenge goes in the authorize URL."""

    verifier: str = attrs.field(repr=False)
    challenge: str


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce_pair() -> PkcePair:
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]: within 43..128
    return PkcePair(verifier=verifier, challenge=s256_challenge(verifier))


def new_state() -> str:
    return secrets.token_urlsafe(24)


def login_base(login_url: str) -> str:
    parts = urlsplit(login_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(
            "the login URL must be an https:// URL such as https://login.salesforce.com"
        )
    return f"{parts.scheme}://{parts.netloc}"


def authorize_url(
    login_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    scope: str | None = None,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if scope:
        params["scope"] = scope
    return f"{login_base(login_url)}/services/oauth2/authorize?{urlencode(params)}"


def code_from_redirect(text: str, expected_state: str) -> str:
    """The code from a pasted redirect URL (state checked) or a pasted bare code."""
    text = text.strip()
    if not text:
        raise UsageError("nothing pasted: paste the whole redirect URL, or its code")
    if "?" not in text and "code=" not in text and "://" not in text:
        return text  # a bare code: PKCE still binds it to this login
    query = text.split("?", 1)[1] if "?" in text else text
    return _code_from_query(
        parse_qs(query.split("#", 1)[0], keep_blank_values=True), expected_state
    )


def _code_from_query(query: Mapping[str, list[str]], expected_state: str) -> str:
    def one(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    error = one("error")
    if error is not None:
        raise OAuthError(error, one("error_description") or "")
    state = one("state") or ""
    if not secrets.compare_digest(state.encode(), expected_state.encode()):
        raise OAuthError("invalid_state", "the callback's state is not this login's; start again")
    code = one("code")
    if not code:
        raise OAuthError("invalid_request", "the callback carries no code")
    return code


# -- the one-shot callback server -----------------------------------------------------------

_DONE_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body><h1 id="result">{title}</h1><p>{text}</p></body></html>'
)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _CallbackHTTPServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != self.server.callback_path:
            self._answer(404, "Not found", "This is the salesforce-typed login callback.")
            return
        try:
            code = _code_from_query(parse_qs(parts.query), self.server.expected_state)
        except OAuthError as exc:
            self._answer(400, "Login failed", f"{exc.error}: {exc.description}")
            self.server.finish(exc)
            return
        self._answer(200, "Logged in", "You can close this tab and return to the terminal.")
        self.server.finish(code)

    def _answer(self, status: int, title: str, text: str) -> None:
        body = _DONE_PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the request line carries the authorization code."""


class _CallbackHTTPServer(http.server.HTTPServer):
    def __init__(self, port: int, callback_path: str, expected_state: str) -> None:
        self.callback_path = callback_path
        self.expected_state = expected_state
        self.outcome: str | OAuthError | None = None
        self.done = threading.Event()
        super().__init__(("127.0.0.1", port), _Handler)

    def finish(self, outcome: str | OAuthError) -> None:
        if not self.done.is_set():
            self.outcome = outcome
            self.done.set()


class CallbackServer:
    """Listens on `127.0.0.1:<port>` for the one redirect of this login; a context manager.

    Port 0 picks a free port (`port` then says which). The redirect URI names `localhost`,
    as the connected app's callback URL does.
    """

    def __init__(
        self, expected_state: str, *, port: int = DEFAULT_PORT, path: str = DEFAULT_CALLBACK_PATH
    ) -> None:
        try:
            self._server = _CallbackHTTPServer(port, path, expected_state)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on localhost:{port} for the login callback ({exc.strerror}); "
                "free the port or pick another with --port (and register its callback URL)"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.port}{self._server.callback_path}"

    def start(self) -> CallbackServer:
        self._thread.start()
        return self

    def wait(self, timeout_s: float | None) -> str | None:
        """The code, None if nothing came within `timeout_s`; raises the callback's error."""
        if not self._server.done.wait(timeout_s):
            return None
        outcome = self._server.outcome
        if isinstance(outcome, OAuthError):
            raise outcome
        return outcome

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> CallbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the code exchange and the identity -----------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class Identity:
    """Who logged in: from the token response's `id` URL (and the identity service)."""

    id_url: str
    org_id: str
    user_id: str
    username: str | None = None


@attrs.frozen(kw_only=True, slots=True)
class LoginResult:
    token: TokenData
    identity: Identity
    scope: str = ""


def identity_from_id_url(id_url: str) -> tuple[str, str]:
    """`https://login.salesforce.com/id/00D.../005...` -> (org id, user id)."""
    found = _ID_PATH.search(urlsplit(id_url).path)
    if found is None:
        raise OAuthError("invalid_token_response", "the token response's id is not an identity URL")
    return found.group(1), found.group(2)


def build_code_request(
    token_url: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    code_verifier: str,
    client_secret: str | None = None,
) -> httpx.Request:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": code_verifier,
    }
    if client_secret:
        form["client_secret"] = client_secret
    return httpx.Request(
        "POST",
        token_url,
        data=form,
        headers={"Accept": "application/json"},
        extensions={"timeout": TOKEN_TIMEOUT.as_dict()},
    )


def parse_code_response(
    response: httpx.Response, *, now: float, session_timeout_s: float = DEFAULT_SESSION_TIMEOUT_S
) -> LoginResult:
    try:
        token = parse_token_body(
            response, now=now, session_timeout_s=session_timeout_s, current=None
        )
    except OAuthError:
        raise
    except APIStatusError:  # a non-OAuth error page may echo the request: say less
        raise OAuthError(
            "token_endpoint_error",
            f"the token endpoint answered HTTP {response.status_code}",
            status_code=response.status_code,
        ) from None
    body = response.json()
    id_url = body.get("id") if isinstance(body, dict) else None
    if not isinstance(id_url, str):
        raise OAuthError("invalid_token_response", "the token response has no id")
    if token.refresh_token is None:
        raise OAuthError(
            "no_refresh_token",
            "no refresh token was issued: give the connected app the refresh_token "
            "(offline_access) scope, and ask for it",
        )
    org_id, user_id = identity_from_id_url(id_url)
    scope = body.get("scope")
    return LoginResult(
        token=token,
        identity=Identity(id_url=id_url, org_id=org_id, user_id=user_id),
        scope=scope if isinstance(scope, str) else "",
    )


def _send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    try:
        return client.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
        untrusted = certificate_error(exc, request.url.host)  # terminal, never retried
        if untrusted is not None:
            raise untrusted from None
        raise RequestNotSentError(
            f"could not reach {request.url.host} ({type(exc).__name__})"
        ) from None
    except httpx.TransportError as exc:
        raise OutcomeUnknownError(
            f"no complete answer from {request.url.host} ({type(exc).__name__})"
        ) from None


def exchange_code(
    login_url: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    code_verifier: str,
    client_secret: str | None = None,
    verify: Any = True,
    session_timeout_s: float = DEFAULT_SESSION_TIMEOUT_S,
) -> LoginResult:
    """POST the code to `<login_url>/services/oauth2/token`, then read the identity URL."""
    request = build_code_request(
        f"{login_base(login_url)}/services/oauth2/token",
        code=code,
        redirect_uri=redirect_uri,
        client_id=client_id,
        code_verifier=code_verifier,
        client_secret=client_secret,
    )
    with httpx.Client(verify=verify, timeout=TOKEN_TIMEOUT) as client:
        result = parse_code_response(
            _send(client, request), now=time.time(), session_timeout_s=session_timeout_s
        )
        username = _username(client, result)
    return attrs.evolve(result, identity=attrs.evolve(result.identity, username=username))


def _username(client: httpx.Client, result: LoginResult) -> str | None:
    """The identity service's `username`; None when it can't be read (not fatal)."""
    request = client.build_request(
        "GET",
        result.identity.id_url,
        headers={"Authorization": f"Bearer {result.token.access_token}"},
    )
    try:
        response = _send(client, request)
        body = response.json() if response.is_success else None
    except (RequestNotSentError, OutcomeUnknownError, ValueError):
        return None
    name = body.get("username") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


def revoke_token(login_url: str, token: str, *, verify: Any = True) -> bool:
    """POST `/services/oauth2/revoke`: True if revoked now, False if the org no longer knew
    it (`unsupported_token_type`: already revoked or rotated out)."""
    request = httpx.Request(
        "POST",
        f"{login_base(login_url)}/services/oauth2/revoke",
        data={"token": token},
        extensions={"timeout": TOKEN_TIMEOUT.as_dict()},
    )
    with httpx.Client(verify=verify, timeout=TOKEN_TIMEOUT) as client:
        response = _send(client, request)
    if response.is_success:
        return True
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code == 400 and error in ("unsupported_token_type", "invalid_token"):
        return False
    raise OAuthError(
        str(error or "revoke_failed"),
        f"the revoke endpoint answered HTTP {response.status_code}",
        status_code=response.status_code,
    )
