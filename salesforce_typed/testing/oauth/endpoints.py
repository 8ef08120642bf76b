"""Salesforce's OAuth 2.0 endpoints for the fake org: token, revoke, userinfo, introspect.

The authorize pages and the `authorization_code` checks live in `web_server.py`; the token
endpoint here issues the tokens for a redeemed code, as for every other grant.

What must stay true (wire reference §1):

- A refresh token belongs to a *family*, one per authorization (`issue_refresh_token`).
  With `refresh_token_rotation` on, each refresh retires the token it used; presenting a
  retired token revokes the family's current refresh token and all its access tokens and
  answers `invalid_grant`. Concurrent refreshes of one token therefore have exactly one
  winner, and the family dies anyway: the failure clients must avoid by single-flighting.
- Token responses carry no `expires_in`; `issued_at` is 13-digit milliseconds; errors are
  400 `{"error","error_description"}` with Salesforce's observed descriptions.
- Family and token bookkeeping happens under `state.lock`.
- `token_delay_s` (a fault switch, `/_admin/faults`) holds every token response that long,
  without blocking other requests, so tests can make the token endpoint slow.
- No secret (client secret, password, token) reaches a log line, an exception message or a
  repr: log lines name a family id at most, which is not a credential.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hashlib
import hmac
import logging
import secrets
from typing import Any, Final
from urllib.parse import unquote_plus

import attrs

from salesforce_typed.testing.oauth import web_server
from salesforce_typed.testing.oauth.jwt_bearer import (
    JWT_BEARER_GRANT,
    check_assertion,
    register_jwt_certificate,
)
from salesforce_typed.testing.oauth.web_server import AUTHORIZATION_CODE_GRANT
from salesforce_typed.testing.org.http import OAuthError, Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState, Session

__all__ = [
    "AUTHORIZATION_CODE_GRANT",
    "GRANT_CLIENT_CREDENTIALS",
    "GRANT_PASSWORD",
    "GRANT_REFRESH_TOKEN",
    "JWT_BEARER_GRANT",
    "OAuthState",
    "issue_refresh_token",
    "oauth_state",
    "register",
    "register_jwt_certificate",
    "reset_token_calls",
    "token_calls",
]

log = logging.getLogger("salesforce_typed.testing.oauth")

GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_PASSWORD = "password"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
_SUPPORTED_GRANTS = frozenset(
    {
        GRANT_REFRESH_TOKEN,
        GRANT_PASSWORD,
        GRANT_CLIENT_CREDENTIALS,
        JWT_BEARER_GRANT,
        AUTHORIZATION_CODE_GRANT,
    }
)
_EXTENSION_KEY = "oauth"
# Salesforce sends its token responses uncacheable.
_NO_STORE = [("cache-control", "no-cache,must-revalidate,max-age=0,no-store,private")]


@attrs.define(kw_only=True, slots=True)
class _Family:
    """One authorization: its current refresh token, or None once revoked."""

    family_id: str
    client_id: str
    issued_at: float
    current: str | None = attrs.field(repr=False)


@attrs.define(kw_only=True, slots=True)
class OAuthState:
    """The OAuth bookkeeping of one org (in `state.extensions["oauth"]`).

    `refresh_tokens` keeps every token ever issued, rotated-out ones included: reuse
    detection needs to know which family a retired token came from.
    """

    families: dict[str, _Family] = attrs.field(factory=dict, repr=False)
    refresh_tokens: dict[str, str] = attrs.field(factory=dict, repr=False)  # token -> family
    calls: collections.Counter[str] = attrs.field(factory=collections.Counter)
    # The connected app's "Require Secret for Refresh Token Flow" (on by default).
    require_secret_for_refresh: bool = True
    # Fault switch: seconds every token-endpoint answer is held back (0: none).
    token_delay_s: float = 0.0


def oauth_state(state: OrgState) -> OAuthState:
    with state.lock:
        found = state.extensions.get(_EXTENSION_KEY)
        if not isinstance(found, OAuthState):
            found = OAuthState()
            state.extensions[_EXTENSION_KEY] = found
        return found


def token_calls(state: OrgState) -> dict[str, int]:
    """Requests to `/services/oauth2/token` per `grant_type`, failures included.

    Chaos tests assert on it (one token call per rotation); an absent grant counts as "".
    """
    oauth = oauth_state(state)
    with state.lock:
        return dict(oauth.calls)


def reset_token_calls(state: OrgState) -> None:
    oauth = oauth_state(state)
    with state.lock:
        oauth.calls.clear()


def _new_refresh_token() -> str:
    return "5Aep861" + secrets.token_urlsafe(64)


def _new_family(state: OrgState, client_id: str | None) -> tuple[_Family, str]:
    oauth = oauth_state(state)
    token = _new_refresh_token()
    family = _Family(
        family_id=secrets.token_hex(8),
        client_id=client_id or state.config.client_id,
        issued_at=state.clock(),
        current=token,
    )
    with state.lock:
        oauth.families[family.family_id] = family
        oauth.refresh_tokens[token] = family.family_id
    return family, token


def issue_refresh_token(state: OrgState, client_id: str | None = None) -> str:
    """Start a new family (a user authorizing the app) and return its first refresh token."""
    return _new_family(state, client_id)[1]


def _revoke_family(state: OrgState, family: _Family) -> None:
    with state.lock:
        family.current = None
        state.revoke_family(family.family_id)


def _current_family(state: OrgState, token: str) -> _Family | None:
    """The live family whose *current* refresh token is `token`; caller holds the lock."""
    oauth = oauth_state(state)
    family = oauth.families.get(oauth.refresh_tokens.get(token, "")) if token else None
    if family is None or family.current is None:
        return None
    return family if hmac.compare_digest(token.encode(), family.current.encode()) else None


def _live_session(state: OrgState, token: str) -> Session | None:
    try:
        return state.session_for_token(token)
    except SfError:
        return None


# -- client authentication ------------------------------------------------------------------


def _client_auth(req: Request, form: dict[str, str]) -> tuple[str, str]:
    """Client id and secret from the body, else from HTTP Basic (RFC 6749 §2.3.1)."""
    client_id = form.get("client_id", "")
    secret = form.get("client_secret", "")
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and not (client_id and secret):
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "invalid client credentials") from exc
        user, sep, password = decoded.partition(":")
        if sep:
            client_id = client_id or unquote_plus(user)
            secret = secret or unquote_plus(password)
    return client_id, secret


def _check_client(state: OrgState, client_id: str, secret: str, *, secret_required: bool) -> None:
    cfg = state.config
    if not client_id or not hmac.compare_digest(client_id.encode(), cfg.client_id.encode()):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not secret:
        if secret_required:
            raise OAuthError("invalid_client", "invalid client credentials")
        return
    if not hmac.compare_digest(secret.encode(), cfg.client_secret.encode()):
        raise OAuthError("invalid_client", "invalid client credentials")


# -- token responses ------------------------------------------------------------------------


def _identity_url(state: OrgState, user_id: str) -> str:
    return f"{state.instance_url}/id/{state.config.org_id}/{user_id}"


def _token_response(
    state: OrgState, session: Session, refresh_token: str | None, scope: str | None = None
) -> Response:
    identity = _identity_url(state, session.user_id)
    issued_at = str(int(session.issued_at * 1000))
    mac = hmac.new(
        state.config.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
    )
    body: dict[str, Any] = {"access_token": session.access_token}
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    body |= {
        "signature": base64.b64encode(mac.digest()).decode("ascii"),
        "scope": scope or ("api refresh_token" if refresh_token is not None else "api"),
        "instance_url": state.instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }
    return Response.json(body, headers=list(_NO_STORE))


def _expired_grant() -> OAuthError:
    # Revoked, rotated out and unknown tokens all get this one (observed) description.
    return OAuthError("invalid_grant", "expired access/refresh token")


def _refresh(state: OrgState, form: dict[str, str], client_id: str) -> Response:
    token = form.get("refresh_token", "")
    oauth = oauth_state(state)
    with state.lock:
        family_id = oauth.refresh_tokens.get(token) if token else None
        family = oauth.families.get(family_id) if family_id else None
        if family is None or family.current is None:
            raise _expired_grant()
        if not hmac.compare_digest(token.encode(), family.current.encode()):
            # A rotated-out token came back: someone else holds its successor. Salesforce
            # revokes the whole family so that every holder has to re-authorize.
            _revoke_family(state, family)
            log.info("refresh token reuse: family %s revoked", family.family_id)
            raise _expired_grant()
        rotated: str | None = None
        if state.config.refresh_token_rotation:
            rotated = _new_refresh_token()
            oauth.refresh_tokens[rotated] = family.family_id
            family.current = rotated
        session = state.new_session(family=family.family_id, client_id=client_id)
    return _token_response(state, session, rotated)


def _password(state: OrgState, form: dict[str, str], client_id: str) -> Response:
    cfg = state.config
    username = form.get("username", "")
    given = form.get("password", "").encode()
    expected = (cfg.password + cfg.security_token).encode()
    if username.lower() != cfg.username.lower() or not hmac.compare_digest(given, expected):
        raise OAuthError("invalid_grant", "authentication failure")
    return _token_response(state, state.new_session(client_id=client_id), None)


def _authorization_code(state: OrgState, form: dict[str, str], client_id: str) -> Response:
    """A code from the authorize pages: a new family when its scope allows a refresh token."""
    redeemed = web_server.redeem_code(state, form, client_id)
    family_id: str | None = None
    refresh: str | None = None
    if redeemed.offline:
        family, refresh = _new_family(state, client_id)
        family_id = family.family_id
    session = state.new_session(
        user_id=redeemed.user_id, username=redeemed.username, family=family_id, client_id=client_id
    )
    return _token_response(state, session, refresh, " ".join(redeemed.scope))


def _jwt_bearer(state: OrgState, form: dict[str, str]) -> Response:
    claims = check_assertion(state, form.get("assertion", ""))
    session = state.new_session(client_id=str(claims["iss"]))
    return _token_response(state, session, None)


async def _token(req: Request) -> Response:
    state = req.org
    form = req.form()
    grant = form.get("grant_type", "")
    oauth = oauth_state(state)
    with state.lock:
        oauth.calls[grant] += 1
        delay = oauth.token_delay_s
    if delay > 0:
        await asyncio.sleep(delay)
    if grant not in _SUPPORTED_GRANTS:
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    if grant == JWT_BEARER_GRANT:  # the signed assertion is the client authentication
        return _jwt_bearer(state, form)
    client_id, secret = _client_auth(req, form)
    if grant == GRANT_REFRESH_TOKEN:
        secret_required = oauth.require_secret_for_refresh
    elif grant == AUTHORIZATION_CODE_GRANT:
        secret_required = web_server.web_server_settings(state).require_secret
    else:
        secret_required = True
    _check_client(state, client_id, secret, secret_required=secret_required)
    if grant == AUTHORIZATION_CODE_GRANT:
        return _authorization_code(state, form, client_id)
    if grant == GRANT_REFRESH_TOKEN:
        return _refresh(state, form, client_id)
    if grant == GRANT_PASSWORD:
        return _password(state, form, client_id)
    # client_credentials: tokens run as the org's configured run-as user.
    return _token_response(state, state.new_session(client_id=client_id), None)


# -- revoke and introspect --------------------------------------------------------------------


async def _revoke(req: Request) -> Response:
    """Revoke a refresh token (its family and access tokens) or one access token.

    Salesforce answers 200 with an empty body, and 400 `unsupported_token_type` for a token
    it doesn't know (including ones already revoked or rotated out).
    """
    state = req.org
    token = req.form().get("token", "")
    with state.lock:
        family = _current_family(state, token)
        if family is not None:
            _revoke_family(state, family)
            return Response.empty(200)
        if token and _live_session(state, token) is not None:
            state.sessions.pop(token, None)
            return Response.empty(200)
    raise OAuthError("unsupported_token_type", "this token type is not supported")


async def _introspect(req: Request) -> Response:
    state = req.org
    form = req.form()
    client_id, secret = _client_auth(req, form)
    _check_client(state, client_id, secret, secret_required=True)
    token = form.get("token", "")
    with state.lock:
        family = _current_family(state, token)
        session = _live_session(state, token) if token and family is None else None
    username = state.config.username
    if family is not None:
        return Response.json(
            {
                "active": True,
                "scope": "api refresh_token",
                "client_id": family.client_id,
                "username": username,
                "sub": _identity_url(state, state.config.user_id),
                "token_type": "refresh_token",
                "iat": int(family.issued_at),
                "nbf": int(family.issued_at),
            }
        )
    if session is None:
        return Response.json({"active": False})
    return Response.json(
        {
            "active": True,
            "scope": "api refresh_token" if session.family else "api",
            "client_id": session.client_id or state.config.client_id,
            "username": session.username,
            "sub": _identity_url(state, session.user_id),
            "token_type": "access_token",
            "exp": int(session.expires_at),
            "iat": int(session.issued_at),
            "nbf": int(session.issued_at),
        }
    )


# -- userinfo and the identity URL -----------------------------------------------------------


def _bearer_session(req: Request) -> Session | Response:
    """The caller's session, or the identity service's plain-text 403."""
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    token = value.strip() if scheme.lower() in ("bearer", "oauth") else ""
    token = token or req.arg("oauth_token") or ""
    if not token:
        return Response.text("Missing_OAuth_Token", status=403)
    session = _live_session(req.org, token)
    if session is None:
        return Response.text("Bad_OAuth_Token", status=403)
    return session


def _user_urls(state: OrgState, session: Session) -> dict[str, str]:
    base = state.instance_url
    org15 = state.config.org_id[:15]
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org15}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org15}",
        "rest": f"{base}/services/data/v{{version}}/",
        "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
        "search": f"{base}/services/data/v{{version}}/search/",
        "query": f"{base}/services/data/v{{version}}/query/",
        "recent": f"{base}/services/data/v{{version}}/recent/",
        "profile": f"{base}/{session.user_id}",
        "custom_domain": base,
    }


def _userinfo_body(state: OrgState, session: Session) -> dict[str, Any]:
    local = session.username.split("@", 1)[0]
    return {
        "sub": _identity_url(state, session.user_id),
        "user_id": session.user_id,
        "organization_id": state.config.org_id,
        "preferred_username": session.username,
        "nickname": local,
        "name": "Fake Org Admin",
        "email": session.username,
        "email_verified": True,
        "given_name": "Fake Org",
        "family_name": "Admin",
        "zoneinfo": "America/Los_Angeles",
        "profile": f"{state.instance_url}/{session.user_id}",
        "is_salesforce_integration_user": False,
        "urls": _user_urls(state, session),
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": -28800000,
        "updated_at": "2024-01-01T00:00:00Z",
    }


async def _userinfo(req: Request) -> Response:
    found = _bearer_session(req)
    if isinstance(found, Response):
        return found
    return Response.json(_userinfo_body(req.org, found))


async def _identity(req: Request) -> Response:
    """`GET /id/{org}/{user}`, the `id` of every token response (identity service shape)."""
    found = _bearer_session(req)
    if isinstance(found, Response):
        return found
    state = req.org
    if req.params["org_id"][:15] != state.config.org_id[:15]:
        return Response.text("Wrong_Org", status=403)
    if req.params["user_id"][:15] != found.user_id[:15]:
        return Response.text("Bad_Id", status=404)
    info = _userinfo_body(state, found)
    return Response.json(
        {
            "id": info["sub"],
            "asserted_user": True,
            "user_id": found.user_id,
            "organization_id": state.config.org_id,
            "username": found.username,
            "nick_name": info["nickname"],
            "display_name": info["name"],
            "email": found.username,
            "email_verified": True,
            "first_name": info["given_name"],
            "last_name": info["family_name"],
            "timezone": info["zoneinfo"],
            "urls": info["urls"],
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": info["utcOffset"],
            "last_modified_date": "2024-01-01T00:00:00.000+0000",
            "is_app_installed": True,
        }
    )


# -- admin ------------------------------------------------------------------------------------


async def _admin_token_calls(req: Request) -> Response:
    return Response.json(token_calls(req.org))


async def _admin_register_certificate(req: Request) -> Response:
    """Body: a PEM certificate; lets a separately started `fake-org serve` take JWT bearer."""
    try:
        register_jwt_certificate(req.org, req.body)
    except ValueError as exc:
        raise SfError(400, "INVALID_FIELD", "expected a PEM certificate with an RSA key") from exc
    return Response.json({"registered": True}, status=201)


PUBLIC_ROUTES: Final = (
    ("POST", "/services/oauth2/token", _token),
    ("POST", "/services/oauth2/revoke", _revoke),
    ("GET", "/services/oauth2/revoke", _revoke),
    ("POST", "/services/oauth2/introspect", _introspect),
    ("GET", "/services/oauth2/userinfo", _userinfo),
    ("POST", "/services/oauth2/userinfo", _userinfo),
    ("GET", "/id/{org_id}/{user_id}", _identity),
    ("GET", "/_admin/token-calls", _admin_token_calls),
    ("POST", "/_admin/jwt-certificates", _admin_register_certificate),
)


def register(router: Router, state: OrgState) -> None:
    oauth_state(state)
    router.add_all(PUBLIC_ROUTES, auth=False)
    web_server.register(router, state)
