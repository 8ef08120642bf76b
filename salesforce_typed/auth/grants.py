"""One class per OAuth grant: what to POST to the token endpoint and how to read the answer.

Each grant is an explicit object (no guessing the flow from whichever kwargs are set), and
each pairs a pure `build_token_request(now, current)` with a pure
`parse_token_response(response, now, current)`, so both are tested without a transport and
the auth flow drives any of them the same way.

What must stay true:
- Secrets (client secret, refresh token, password, security token, private key) are
  `repr=False` and never enter exception text.
- Salesforce sends no `expires_in`: a token is assumed to live `session_timeout_s` (the org's
  session timeout, 2 h by default) from when we received it.
- `invalid_grant` raises `InvalidGrantError` (terminal: re-authorize); any other
  `{"error": ...}` raises `OAuthError`; other failures raise the usual status errors.
- `from_env()` reads the same `SF_*` variables as the CLI; a missing one is a `UsageError`
  naming the variable, never echoing a value.
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Mapping
from typing import Any, Final, Protocol, runtime_checkable
from urllib.parse import parse_qsl, quote_plus

import attrs
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from salesforce_typed.auth.token import TokenData, fingerprint, token_key
from salesforce_typed.core.errors import (
    InvalidGrantError,
    OAuthError,
    UsageError,
    error_from_response,
)

__all__ = [
    "DEFAULT_SESSION_TIMEOUT_S",
    "LOGIN_TOKEN_URL",
    "SANDBOX_TOKEN_URL",
    "TOKEN_TIMEOUT",
    "AccessTokenAuth",
    "ClientCredentialsGrant",
    "JwtBearerGrant",
    "PasswordGrant",
    "RefreshTokenGrant",
    "TokenGrant",
    "encode_jwt_rs256",
    "parse_token_body",
]

LOGIN_TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
SANDBOX_TOKEN_URL = "https://test.salesforce.com/services/oauth2/token"
DEFAULT_SESSION_TIMEOUT_S = 7200.0  # Salesforce's default org session timeout (2 h)
JWT_LIFETIME_S = 180  # Salesforce accepts assertions whose exp is at most 3 minutes away
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The token endpoint answers in well under a second; a short read timeout keeps the refresh
# lock (and every request queued behind it) from waiting on a dead connection.
TOKEN_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=30.0)


def _nonempty(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    # The message names the field only: the value may be a secret.
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


_positive = attrs.validators.gt(0.0)


def _env_values(
    who: str, environ: Mapping[str, str] | None, required: tuple[str, ...]
) -> Mapping[str, str]:
    """The environment to read, after checking `required` are set and non-empty.

    The message names the missing variables only; set values may be secrets.
    """
    env = os.environ if environ is None else environ
    missing = [name for name in required if not env.get(name)]
    if missing:
        raise UsageError(f"{who}.from_env() needs {', '.join(missing)} set in the environment")
    return env


@runtime_checkable
class TokenGrant(Protocol):
    """A grant the auth flow can call again whenever the access token runs out."""

    @property
    def token_url(self) -> str: ...

    @property
    def session_timeout_s(self) -> float: ...

    def store_key(self) -> str:
        """The `TokenStore` key every replica using this grant shares."""
        ...

    def build_token_request(self, now: float, current: TokenData | None = None) -> httpx.Request:
        """The token request; `current` is the latest stored token (its rotated refresh token)."""
        ...

    def parse_token_response(
        self, response: httpx.Response, now: float, current: TokenData | None = None
    ) -> TokenData:
        """The new token (version `current.version + 1`), or raise the OAuth/status error."""
        ...


def _form_request(token_url: str, form: dict[str, str]) -> httpx.Request:
    return httpx.Request(
        "POST",
        token_url,
        data=form,
        headers={"Accept": "application/json"},
        # A bare httpx.Request carries no timeout; the token call must not hang forever.
        extensions={"timeout": TOKEN_TIMEOUT.as_dict()},
    )


def _issued_at(raw: Any, now: float) -> float:
    # Doc conflict: "seconds" in the text, 13-digit milliseconds on the wire.
    text = str(raw) if raw is not None else ""
    if not text.isdigit():
        return now
    value = float(text)
    return value / 1000.0 if value >= 1e12 else value


# Form fields of token requests that are secrets: never echoed back into an error text.
_SECRET_FIELDS: Final = frozenset(
    {
        "refresh_token",
        "client_secret",
        "password",
        "assertion",
        "client_assertion",
        "code",
        "code_verifier",
    }
)
_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _request_secrets(request: httpx.Request) -> list[str]:
    try:
        form = parse_qsl(request.content.decode("utf-8"), keep_blank_values=False)
    except (httpx.RequestNotRead, UnicodeDecodeError):
        return []
    found = {value for name, value in form if name in _SECRET_FIELDS and len(value) >= 4}
    return sorted(found, key=len, reverse=True)  # longest first: no partial leftovers


def _redact(text: str, secrets: list[str]) -> str:
    """An error page that echoes the request (some proxies and WAFs do) loses the secrets."""
    for secret in secrets:
        text = text.replace(secret, "[redacted]").replace(quote_plus(secret), "[redacted]")
    return text


def _redact_all(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return _redact(value, secrets)
    if isinstance(value, dict):
        return {k: _redact_all(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_all(v, secrets) for v in value]
    return value


def _check_instance_url(instance_url: str, token_url: httpx.URL) -> None:
    """The bearer token goes to `instance_url` on every call: never in clear text, unless
    both ends are this machine (the fake org without TLS) or the caller opted in with
    `SALESFORCE_TYPED_ALLOW_HTTP=1`."""
    url = httpx.URL(instance_url)
    if url.scheme == "https" or os.environ.get("SALESFORCE_TYPED_ALLOW_HTTP") == "1":
        return
    if url.host in _LOOPBACK_HOSTS and token_url.host in _LOOPBACK_HOSTS:
        return
    raise OAuthError(
        "insecure_instance_url",
        f"the token endpoint named a non-https instance URL ({url.scheme}://{url.host}); "
        "the access token would travel in clear text (set SALESFORCE_TYPED_ALLOW_HTTP=1 to "
        "allow it)",
    )


def parse_token_body(
    response: httpx.Response,
    *,
    now: float,
    session_timeout_s: float,
    current: TokenData | None,
    fallback_refresh_token: str | None = None,
) -> TokenData:
    """Shared reader of `/services/oauth2/token` answers for every grant.

    Without rotation Salesforce returns no `refresh_token`: the one we used stays valid, so it
    is carried over from `current` (or the grant's own).
    """
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if not response.is_success:
        secrets = _request_secrets(response.request)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            error = _redact(body["error"], secrets)
            description = _redact(str(body.get("error_description") or ""), secrets)
            cls = InvalidGrantError if error == "invalid_grant" else OAuthError
            raise cls(error, description, status_code=response.status_code)
        raise error_from_response(
            response.status_code,
            _redact_all(body if body is not None else response.text, secrets),
            method=response.request.method,
            url=response.request.url.path,
        )
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str) and body[k] for k in ("access_token", "instance_url")
    ):
        raise OAuthError(
            "invalid_token_response",
            "the token endpoint answered without access_token and instance_url",
            status_code=response.status_code,
        )
    _check_instance_url(body["instance_url"], response.request.url)
    refresh = body.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        refresh = current.refresh_token if current is not None else fallback_refresh_token
    return TokenData(
        access_token=body["access_token"],
        refresh_token=refresh,
        instance_url=body["instance_url"].rstrip("/"),
        issued_at=_issued_at(body.get("issued_at"), now),
        expires_at=now + session_timeout_s,
        last_refreshed_at=now,
        version=current.version + 1 if current is not None else 1,
    )


@attrs.frozen(kw_only=True, slots=True)
class RefreshTokenGrant:
    """`grant_type=refresh_token`, with or without Refresh Token Rotation.

    `refresh_token` seeds the store; once a token is stored, the stored (rotated) refresh
    token is the one used. Under rotation the seed is dead after its first use, so replicas
    and restarts must share a persistent store.
    """

    client_id: str = attrs.field(validator=_nonempty)
    refresh_token: str = attrs.field(repr=False, validator=_nonempty)
    client_secret: str | None = attrs.field(default=None, repr=False)
    token_url: str = LOGIN_TOKEN_URL
    session_timeout_s: float = attrs.field(
        default=DEFAULT_SESSION_TIMEOUT_S, converter=float, validator=_positive
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RefreshTokenGrant:
        """From `SF_CLIENT_ID`, `SF_REFRESH_TOKEN`, and optional `SF_CLIENT_SECRET` and
        `SF_TOKEN_URL` (default: login.salesforce.com), as the CLI reads them."""
        env = _env_values(cls.__name__, environ, ("SF_CLIENT_ID", "SF_REFRESH_TOKEN"))
        return cls(
            client_id=env["SF_CLIENT_ID"],
            refresh_token=env["SF_REFRESH_TOKEN"],
            client_secret=env.get("SF_CLIENT_SECRET") or None,
            token_url=env.get("SF_TOKEN_URL") or LOGIN_TOKEN_URL,
        )

    def store_key(self) -> str:
        # The user is unknown before the first call; the seed token names the family.
        return token_key(
            self.token_url, self.client_id, f"refresh:{fingerprint(self.refresh_token)}"
        )

    def build_token_request(self, now: float, current: TokenData | None = None) -> httpx.Request:
        refresh = current.refresh_token if current is not None and current.refresh_token else None
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh or self.refresh_token,
            "client_id": self.client_id,
        }
        if self.client_secret is not None:
            form["client_secret"] = self.client_secret
        return _form_request(self.token_url, form)

    def parse_token_response(
        self, response: httpx.Response, now: float, current: TokenData | None = None
    ) -> TokenData:
        return parse_token_body(
            response,
            now=now,
            session_timeout_s=self.session_timeout_s,
            current=current,
            fallback_refresh_token=self.refresh_token,
        )


@attrs.frozen(kw_only=True, slots=True)
class PasswordGrant:
    """`grant_type=password` (off by default in orgs created since Summer '23)."""

    client_id: str = attrs.field(validator=_nonempty)
    client_secret: str = attrs.field(repr=False)
    username: str = attrs.field(validator=_nonempty)
    password: str = attrs.field(repr=False)
    security_token: str = attrs.field(default="", repr=False)
    token_url: str = LOGIN_TOKEN_URL
    session_timeout_s: float = attrs.field(
        default=DEFAULT_SESSION_TIMEOUT_S, converter=float, validator=_positive
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PasswordGrant:
        """From `SF_CLIENT_ID`, `SF_CLIENT_SECRET`, `SF_USERNAME`, `SF_PASSWORD`, and optional
        `SF_SECURITY_TOKEN` and `SF_TOKEN_URL` (default: login.salesforce.com)."""
        required = ("SF_CLIENT_ID", "SF_CLIENT_SECRET", "SF_USERNAME", "SF_PASSWORD")
        env = _env_values(cls.__name__, environ, required)
        return cls(
            client_id=env["SF_CLIENT_ID"],
            client_secret=env["SF_CLIENT_SECRET"],
            username=env["SF_USERNAME"],
            password=env["SF_PASSWORD"],
            security_token=env.get("SF_SECURITY_TOKEN", ""),
            token_url=env.get("SF_TOKEN_URL") or LOGIN_TOKEN_URL,
        )

    def store_key(self) -> str:
        return token_key(self.token_url, self.client_id, self.username)

    def build_token_request(self, now: float, current: TokenData | None = None) -> httpx.Request:
        return _form_request(
            self.token_url,
            {
                "grant_type": "password",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "username": self.username,
                "password": self.password + self.security_token,
            },
        )

    def parse_token_response(
        self, response: httpx.Response, now: float, current: TokenData | None = None
    ) -> TokenData:
        return parse_token_body(
            response, now=now, session_timeout_s=self.session_timeout_s, current=current
        )


@attrs.frozen(kw_only=True, slots=True)
class ClientCredentialsGrant:
    """`grant_type=client_credentials`: runs as the app's configured user; My Domain URL only."""

    client_id: str = attrs.field(validator=_nonempty)
    client_secret: str = attrs.field(repr=False)
    token_url: str = attrs.field(validator=_nonempty)
    session_timeout_s: float = attrs.field(
        default=DEFAULT_SESSION_TIMEOUT_S, converter=float, validator=_positive
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientCredentialsGrant:
        """From `SF_CLIENT_ID`, `SF_CLIENT_SECRET` and `SF_TOKEN_URL` (your My Domain's
        token URL: this flow has no login.salesforce.com default)."""
        required = ("SF_CLIENT_ID", "SF_CLIENT_SECRET", "SF_TOKEN_URL")
        env = _env_values(cls.__name__, environ, required)
        return cls(
            client_id=env["SF_CLIENT_ID"],
            client_secret=env["SF_CLIENT_SECRET"],
            token_url=env["SF_TOKEN_URL"],
        )

    def store_key(self) -> str:
        return token_key(self.token_url, self.client_id, "client_credentials")

    def build_token_request(self, now: float, current: TokenData | None = None) -> httpx.Request:
        return _form_request(
            self.token_url,
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )

    def parse_token_response(
        self, response: httpx.Response, now: float, current: TokenData | None = None
    ) -> TokenData:
        return parse_token_body(
            response, now=now, session_timeout_s=self.session_timeout_s, current=current
        )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def encode_jwt_rs256(
    claims: dict[str, Any], private_key_pem: bytes, password: bytes | None = None
) -> str:
    """A compact RS256 JWT: base64url(header).base64url(claims).base64url(signature)."""
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=password)
    except (ValueError, TypeError):
        # `from None`: the loader's message must not drag key material into tracebacks.
        raise ValueError("private_key_pem is not a readable PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the JWT bearer flow needs an RSA private key (RS256)")
    header = _b64url(_compact_json({"alg": "RS256"}))
    payload = _b64url(_compact_json(claims))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64url(signature)}"


def _compact_json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _pem_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@attrs.frozen(kw_only=True, slots=True)
class JwtBearerGrant:
    """`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 assertion.

    `audience` is the login URL (`https://login.salesforce.com`, `https://test.salesforce.com`
    or the My Domain URL), not the token URL. The user must be pre-authorized for the app.
    """

    client_id: str = attrs.field(validator=_nonempty)
    username: str = attrs.field(validator=_nonempty)
    private_key_pem: bytes = attrs.field(repr=False, converter=_pem_bytes)
    private_key_password: bytes | None = attrs.field(default=None, repr=False)
    audience: str = "https://login.salesforce.com"
    token_url: str = LOGIN_TOKEN_URL
    session_timeout_s: float = attrs.field(
        default=DEFAULT_SESSION_TIMEOUT_S, converter=float, validator=_positive
    )

    def store_key(self) -> str:
        return token_key(self.token_url, self.client_id, self.username)

    def assertion(self, now: float) -> str:
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": int(now) + JWT_LIFETIME_S,
        }
        return encode_jwt_rs256(claims, self.private_key_pem, self.private_key_password)

    def build_token_request(self, now: float, current: TokenData | None = None) -> httpx.Request:
        return _form_request(
            self.token_url, {"grant_type": _JWT_BEARER, "assertion": self.assertion(now)}
        )

    def parse_token_response(
        self, response: httpx.Response, now: float, current: TokenData | None = None
    ) -> TokenData:
        return parse_token_body(
            response, now=now, session_timeout_s=self.session_timeout_s, current=current
        )


@attrs.frozen(kw_only=True, slots=True)
class AccessTokenAuth:
    """A raw access token (e.g. from the Salesforce CLI): used as is, never refreshed.

    When it expires the next call raises `AuthenticationError`.
    """

    access_token: str = attrs.field(repr=False, validator=_nonempty)
    instance_url: str = attrs.field(validator=_nonempty)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AccessTokenAuth:
        """From `SF_ACCESS_TOKEN` and `SF_INSTANCE_URL`, as `generate --from-org` reads them."""
        env = _env_values(cls.__name__, environ, ("SF_ACCESS_TOKEN", "SF_INSTANCE_URL"))
        return cls(access_token=env["SF_ACCESS_TOKEN"], instance_url=env["SF_INSTANCE_URL"])

    def token_data(self, now: float) -> TokenData:
        return TokenData(
            access_token=self.access_token,
            refresh_token=None,
            instance_url=self.instance_url.rstrip("/"),
            issued_at=now,
            expires_at=math.inf,  # unknown: never refreshed proactively
            last_refreshed_at=now,
        )
