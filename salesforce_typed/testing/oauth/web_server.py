"""The web-server flow (authorization code + PKCE) of the fake org: the authorize pages and
the `authorization_code` grant's checks.

`GET /services/oauth2/authorize` renders a real HTML login form; a correct login renders the
consent form; "Allow" redirects (302) to `redirect_uri?code=...&state=...`. The token
endpoint (`endpoints.py`) calls `redeem_code` and issues the tokens itself, so this module
never imports it.

What must stay true:

- The client id and the `redirect_uri` are checked first. Either one wrong is an HTML error
  page (400) and never a redirect: redirecting to an unregistered URL would hand the error
  (and a later code) to whoever owns it. Every later error redirects to the callback with
  `error`, `error_description` and `state`, as Salesforce does.
- Registered callbacks are `WebServerSettings.callback_urls` (exact match; default
  `http://localhost:1717/OauthRedirect`, the Salesforce CLI's), plus any
  `http://localhost|127.0.0.1|[::1]:<port>/...` while `allow_loopback_callbacks` is on.
- A code is single-use and lives `code_lifetime_s` (Salesforce: 15 minutes). PKCE is S256
  only; the token request must present the matching `code_verifier`, and the
  `redirect_uri` the code was issued for.
- Error bodies are Salesforce's observed ones: `invalid_grant` / `invalid authorization
  code`, `expired authorization code` (expired or already used), `invalid code verifier`;
  `redirect_uri_mismatch` / `redirect_uri must match configuration`.
- Every page escapes what it echoes; no input makes a handler raise anything but
  `OAuthError`; passwords, codes and verifiers never reach a log line or a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
from typing import Final
from urllib.parse import urlencode, urlsplit

import attrs

from salesforce_typed.testing.org.http import OAuthError, Request, Response, Router
from salesforce_typed.testing.org.state import OrgState

__all__ = [
    "AUTHORIZATION_CODE_GRANT",
    "DEFAULT_CALLBACK_URL",
    "DEFAULT_CODE_LIFETIME_S",
    "RedeemedCode",
    "WebServerSettings",
    "redeem_code",
    "register",
    "web_server_settings",
]

AUTHORIZATION_CODE_GRANT = "authorization_code"
DEFAULT_CALLBACK_URL = "http://localhost:1717/OauthRedirect"
DEFAULT_CODE_LIFETIME_S = 900.0  # Salesforce: an authorization code is good for 15 minutes
DEFAULT_SCOPE = ("api", "refresh_token")  # what the fake connected app grants when asked none
# Scopes a connected app can be given (Salesforce's OAuth scope list, short names).
KNOWN_SCOPES = frozenset(
    {
        "address", "api", "cdp_api", "chatter_api", "custom_permissions", "email", "full",
        "id", "lightning", "offline_access", "openid", "phone", "profile", "refresh_token",
        "visualforce", "wave_api", "web",
    }
)  # fmt: skip
_PENDING_LIFETIME_S = 1800.0  # a login page left open this long must be reloaded
_EXTENSION_KEY = "oauth.web_server"
# RFC 7636 §4.1: 43-128 unreserved characters; an S256 challenge is 43 base64url characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_PAGE_HEADERS: Final = [
    ("cache-control", "no-cache,must-revalidate,max-age=0,no-store,private"),
    ("x-frame-options", "DENY"),
    # No form-action: Chrome applies it to the redirect after the consent POST.
    ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'"),
]


@attrs.define(kw_only=True, slots=True)
class _Pending:
    """One authorize request between the login page and the consent decision."""

    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str | None
    scope: tuple[str, ...]
    created_at: float
    user_id: str | None = None  # set by a correct login
    username: str | None = None


@attrs.define(kw_only=True, slots=True)
class _Code:
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    scope: tuple[str, ...]
    user_id: str
    username: str
    issued_at: float
    used: bool = False


@attrs.frozen(kw_only=True, slots=True)
class RedeemedCode:
    """What a redeemed code authorizes: the token endpoint issues tokens for it."""

    user_id: str
    username: str
    scope: tuple[str, ...]

    @property
    def offline(self) -> bool:
        """A refresh token is issued only for `refresh_token` / `offline_access`."""
        return "refresh_token" in self.scope or "offline_access" in self.scope


@attrs.define(kw_only=True, slots=True)
class WebServerSettings:
    """The connected app's web-server-flow settings, and the flow's in-flight state.

    Settable at run time through `POST /_admin/web-server-flow` (tests of a separately
    started `fake-org serve`) or directly on `web_server_settings(org.state)`.
    """

    callback_urls: tuple[str, ...] = (DEFAULT_CALLBACK_URL,)
    allow_loopback_callbacks: bool = True
    code_lifetime_s: float = DEFAULT_CODE_LIFETIME_S
    # "Require Proof Key for Code Exchange (PKCE)" and "Require Secret for Web Server Flow".
    require_pkce: bool = True
    require_secret: bool = True
    pending: dict[str, _Pending] = attrs.field(factory=dict, repr=False)
    codes: dict[str, _Code] = attrs.field(factory=dict, repr=False)

    def callback_allowed(self, uri: str) -> bool:
        if uri in self.callback_urls:
            return True
        if not self.allow_loopback_callbacks:
            return False
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            return False
        return (
            parts.scheme == "http"
            and (parts.hostname or "") in _LOOPBACK_HOSTS
            and port is not None
            and not parts.fragment
            and not parts.username
            and not parts.password
        )


def web_server_settings(state: OrgState) -> WebServerSettings:
    with state.lock:
        found = state.extensions.get(_EXTENSION_KEY)
        if not isinstance(found, WebServerSettings):
            found = WebServerSettings()
            state.extensions[_EXTENSION_KEY] = found
        return found


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# -- pages ----------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:sans-serif;background:#f3f3f3;margin:0}"
    "main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:4px}"
    "label,input,button{display:block;width:100%;margin:.4rem 0;box-sizing:border-box}"
    "input,button{padding:.6rem;font-size:1rem}.error{color:#c23934}"
)


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} | Fake Salesforce</title><style>{_STYLE}</style>"
        f"</head><body><main>{body}</main></body></html>\n"
    )
    response = Response.text(text, status=status, content_type="text/html;charset=UTF-8")
    response.headers.extend(_PAGE_HEADERS)
    return response


def _error_page(error: str, description: str) -> Response:
    """Salesforce shows these on its own page: the client or callback can't be trusted."""
    query = html.escape(urlencode({"error": error, "error_description": description}))
    return _page(
        "Error",
        '<h1>Remote Access Error</h1><p class="error" id="error">'
        f"{html.escape(error)}: {html.escape(description)}</p><p><code>{query}</code></p>",
        status=400,
    )


def _login_page(request_id: str, username: str = "", error: str | None = None) -> Response:
    message = f'<p class="error" id="error">{html.escape(error)}</p>' if error else ""
    return _page(
        "Login",
        "<h1>Log in to Fake Salesforce</h1>"
        f"{message}"
        '<form method="post" action="/services/oauth2/authorize/login" id="login_form">'
        f'<input type="hidden" name="request_id" value="{html.escape(request_id)}">'
        '<label for="username">Username</label>'
        '<input id="username" name="username" type="text" autocomplete="username" '
        f'value="{html.escape(username)}" required>'
        '<label for="password">Password</label>'
        '<input id="password" name="pw" type="password" autocomplete="current-password" '
        "required>"
        '<button id="Login" type="submit">Log In</button></form>',
        status=200 if error is None else 401,
    )


def _consent_page(request_id: str, pending: _Pending) -> Response:
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in pending.scope)
    return _page(
        "Allow Access?",
        "<h1>Allow Access?</h1>"
        f"<p>The app <code>{html.escape(pending.client_id)}</code> is asking to:</p>"
        f'<ul id="scopes">{scopes}</ul>'
        '<form method="post" action="/services/oauth2/authorize/consent" id="consent_form">'
        f'<input type="hidden" name="request_id" value="{html.escape(request_id)}">'
        '<button id="oaapprove" name="decision" value="allow" type="submit">Allow</button>'
        '<button id="oadeny" name="decision" value="deny" type="submit">Deny</button>'
        "</form>",
    )


def _redirect(uri: str, params: dict[str, str]) -> Response:
    location = uri + ("&" if "?" in uri else "?") + urlencode(params)
    response = Response(status=302, headers=[("location", location)])
    response.headers.extend(_PAGE_HEADERS[:1])
    return response


def _error_redirect(uri: str, state: str | None, error: str, description: str) -> Response:
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return _redirect(uri, params)


# -- handlers -------------------------------------------------------------------------------


def _prune(settings: WebServerSettings, now: float) -> None:
    """Drop abandoned requests and long-dead codes (caller holds the lock)."""
    for rid in [r for r, p in settings.pending.items() if now - p.created_at > _PENDING_LIFETIME_S]:
        del settings.pending[rid]
    keep_s = max(settings.code_lifetime_s, DEFAULT_CODE_LIFETIME_S) * 2
    for code in [c for c, rec in settings.codes.items() if now - rec.issued_at > keep_s]:
        del settings.codes[code]


def _scope(raw: str | None) -> tuple[str, ...] | None:
    """The requested scopes (space separated), the default ones when absent; None: unknown."""
    if raw is None or not raw.strip():
        return DEFAULT_SCOPE
    scopes = tuple(dict.fromkeys(raw.split()))
    return scopes if all(s in KNOWN_SCOPES for s in scopes) else None


async def _authorize(req: Request) -> Response:
    state = req.org
    settings = web_server_settings(state)
    client_id = req.arg("client_id") or ""
    redirect_uri = req.arg("redirect_uri") or ""
    if not hmac.compare_digest(client_id.encode(), state.config.client_id.encode()):
        return _error_page("invalid_client_id", "client identifier invalid")
    if not redirect_uri or not settings.callback_allowed(redirect_uri):
        return _error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
    given_state = req.arg("state")

    def refuse(error: str, description: str) -> Response:
        return _error_redirect(redirect_uri, given_state, error, description)

    if req.arg("response_type") != "code":
        return refuse("unsupported_response_type", "response type not supported")
    challenge = req.arg("code_challenge") or None
    method = req.arg("code_challenge_method")
    if method not in (None, "S256"):
        return refuse("invalid_request", "invalid code challenge method")
    if challenge is None:
        if settings.require_pkce:
            return refuse("invalid_request", "missing required code challenge")
    elif not _S256_CHALLENGE.fullmatch(challenge):
        return refuse("invalid_request", "invalid code challenge")
    scope = _scope(req.arg("scope"))
    if scope is None:
        return refuse("invalid_scope", "the requested scope is not allowed")
    request_id = secrets.token_urlsafe(24)
    now = state.clock()
    with state.lock:
        _prune(settings, now)
        settings.pending[request_id] = _Pending(
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=given_state,
            code_challenge=challenge,
            scope=scope,
            created_at=now,
        )
    return _login_page(request_id)


def _pending(req: Request, form: dict[str, str]) -> tuple[str, _Pending] | None:
    request_id = form.get("request_id", "")
    settings = web_server_settings(req.org)
    with req.org.lock:
        found = settings.pending.get(request_id) if request_id else None
    if found is None or req.org.clock() - found.created_at > _PENDING_LIFETIME_S:
        return None
    return request_id, found


def _expired_request() -> Response:
    return _error_page("invalid_request", "the login request is unknown or expired; start again")


async def _login(req: Request) -> Response:
    form = req.form()
    found = _pending(req, form)
    if found is None:
        return _expired_request()
    request_id, pending = found
    cfg = req.org.config
    username = form.get("username", "")
    password = form.get("pw", "").encode()
    good_user = username.strip().lower() == cfg.username.lower()
    if not (hmac.compare_digest(password, cfg.password.encode()) and good_user):
        # Salesforce's wording; which of the two was wrong is not revealed.
        return _login_page(
            request_id, username, "Please check your username and password. If you still "
            "can't log in, contact your Salesforce administrator.",
        )  # fmt: skip
    with req.org.lock:
        pending.user_id = cfg.user_id
        pending.username = cfg.username
    return _consent_page(request_id, pending)


async def _consent(req: Request) -> Response:
    form = req.form()
    found = _pending(req, form)
    if found is None:
        return _expired_request()
    request_id, pending = found
    if pending.user_id is None or pending.username is None:
        return _login_page(request_id)  # consent without a login: log in first
    settings = web_server_settings(req.org)
    with req.org.lock:
        settings.pending.pop(request_id, None)  # one decision per request
    if form.get("decision") != "allow":
        return _error_redirect(
            pending.redirect_uri, pending.state, "access_denied", "end-user denied authorization"
        )
    # Salesforce's codes end in "==": clients must URL-decode what they receive.
    code = "aPrx" + secrets.token_urlsafe(40) + "=="
    with req.org.lock:
        settings.codes[code] = _Code(
            client_id=pending.client_id,
            redirect_uri=pending.redirect_uri,
            code_challenge=pending.code_challenge,
            scope=pending.scope,
            user_id=pending.user_id,
            username=pending.username,
            issued_at=req.org.clock(),
        )
    params = {"code": code}
    if pending.state is not None:
        params["state"] = pending.state
    return _redirect(pending.redirect_uri, params)


# -- the authorization_code grant -----------------------------------------------------------


def _expired_code() -> OAuthError:
    # Salesforce answers a reused code with the same description as an expired one.
    return OAuthError("invalid_grant", "expired authorization code")


def redeem_code(state: OrgState, form: dict[str, str], client_id: str) -> RedeemedCode:
    """Check and spend the code of an `authorization_code` token request.

    The caller has authenticated the client. A failed check leaves the code unspent.
    """
    settings = web_server_settings(state)
    code = form.get("code", "")
    with state.lock:
        record = settings.codes.get(code) if code else None
        if record is None or not hmac.compare_digest(record.client_id.encode(), client_id.encode()):
            raise OAuthError("invalid_grant", "invalid authorization code")
        if record.used or state.clock() >= record.issued_at + settings.code_lifetime_s:
            raise _expired_code()
        if form.get("redirect_uri", "") != record.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
        verifier = form.get("code_verifier")
        if record.code_challenge is not None:
            if (
                not verifier
                or not _VERIFIER.fullmatch(verifier)
                or not hmac.compare_digest(s256(verifier), record.code_challenge)
            ):
                raise OAuthError("invalid_grant", "invalid code verifier")
        elif verifier:
            raise OAuthError("invalid_grant", "unexpected code verifier")
        record.used = True
        return RedeemedCode(user_id=record.user_id, username=record.username, scope=record.scope)


# -- admin ----------------------------------------------------------------------------------

_SETTING_TYPES: Final = {
    "callback_urls": list,
    "allow_loopback_callbacks": bool,
    "code_lifetime_s": float,
    "require_pkce": bool,
    "require_secret": bool,
}


def _settings_body(settings: WebServerSettings) -> dict[str, object]:
    return {
        "callback_urls": list(settings.callback_urls),
        "allow_loopback_callbacks": settings.allow_loopback_callbacks,
        "code_lifetime_s": settings.code_lifetime_s,
        "require_pkce": settings.require_pkce,
        "require_secret": settings.require_secret,
    }


async def _admin_get(req: Request) -> Response:
    return Response.json(_settings_body(web_server_settings(req.org)))


def _admin_error(message: str) -> OAuthError:
    return OAuthError("invalid_request", message)


async def _admin_set(req: Request) -> Response:
    """Body: any of `callback_urls` (list of str), `allow_loopback_callbacks`, `require_pkce`,
    `require_secret` (bool) and `code_lifetime_s` (number >= 0)."""
    try:
        body = req.json()
    except Exception:  # the helper raises SfError; answer in this endpoint's own shape
        raise _admin_error("expected a JSON object") from None
    if not isinstance(body, dict) or set(body) - set(_SETTING_TYPES):
        raise _admin_error(f"settings are {sorted(_SETTING_TYPES)}")
    settings = web_server_settings(req.org)
    updates: dict[str, object] = {}
    for key, value in body.items():
        kind = _SETTING_TYPES[key]
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _admin_error(f"{key} must be a list of URLs")
            updates[key] = tuple(value)
        elif kind is bool:
            if not isinstance(value, bool):
                raise _admin_error(f"{key} must be true or false")
            updates[key] = value
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            if not ok:
                raise _admin_error(f"{key} must be a number >= 0")
            updates[key] = float(value)
    with req.org.lock:
        for key, value in updates.items():
            setattr(settings, key, value)
    return Response.json(_settings_body(settings))


PUBLIC_ROUTES: Final = (
    ("GET", "/services/oauth2/authorize", _authorize),
    ("POST", "/services/oauth2/authorize/login", _login),
    ("POST", "/services/oauth2/authorize/consent", _consent),
    ("GET", "/_admin/web-server-flow", _admin_get),
    ("POST", "/_admin/web-server-flow", _admin_set),
)


def register(router: Router, state: OrgState) -> None:
    web_server_settings(state)
    router.add_all(PUBLIC_ROUTES, auth=False)
