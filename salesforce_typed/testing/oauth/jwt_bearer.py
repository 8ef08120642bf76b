"""JWT bearer assertions (`urn:ietf:params:oauth:grant-type:jwt-bearer`) as Salesforce checks them.

Hand-written on `cryptography` rather than PyJWT so the fake org judges a client's JWT by
its own reading of the rules, not by the library the client may also use. What must stay
true:

- Only RS256 (RSASSA-PKCS1-v1_5 with SHA-256) is accepted; `none`, HS256 and anything else
  fail as `invalid assertion`, so alg-confusion tricks can't pass.
- The signature must verify against a certificate registered on the org (the connected
  app's uploaded certificate), registered with `register_jwt_certificate`.
- `iss` is the client id, `sub` the username, `aud` the org's instance URL or
  login/test.salesforce.com, and `exp` lies in the future, at most
  `MAX_ASSERTION_LIFETIME` ahead (Salesforce asks for a short `exp`).
- Failures are `OAuthError`s with Salesforce's descriptions (wire reference §1.3);
  nothing here logs or echoes the assertion.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from salesforce_typed.testing.org.http import OAuthError
from salesforce_typed.testing.org.state import OrgState

__all__ = [
    "JWT_BEARER_GRANT",
    "LOGIN_AUDIENCES",
    "MAX_ASSERTION_LIFETIME",
    "Assertion",
    "b64url_decode",
    "check_assertion",
    "jwt_certificates",
    "parse_assertion",
    "register_jwt_certificate",
    "verify_rs256",
]

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
# Salesforce's docs ask for an `exp` a few minutes out; we allow 5 minutes of it.
MAX_ASSERTION_LIFETIME = 300.0

_EXTENSION_KEY = "oauth.jwt_certificates"
_B64URL_TO_STD = str.maketrans("-_", "+/")


def _invalid_assertion() -> OAuthError:
    return OAuthError("invalid_grant", "invalid assertion")


def b64url_decode(text: str) -> bytes:
    """Strict base64url (RFC 7515 §2): URL alphabet, padding optional, nothing else."""
    if "+" in text or "/" in text:
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    try:
        return base64.b64decode(
            stripped.translate(_B64URL_TO_STD) + "=" * (-len(stripped) % 4), validate=True
        )
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


@attrs.frozen(kw_only=True, slots=True)
class Assertion:
    """A decoded, not yet trusted, compact JWS."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes = attrs.field(repr=False)
    signature: bytes = attrs.field(repr=False)


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _invalid_assertion() from exc
    if not isinstance(value, dict):
        raise _invalid_assertion()
    return value


def parse_assertion(token: str) -> Assertion:
    """Split and decode `header.claims.signature`; malformed input is `invalid assertion`."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise _invalid_assertion()
    header = _json_object(parts[0])
    claims = _json_object(parts[1])
    try:
        signature = b64url_decode(parts[2])
    except ValueError as exc:
        raise _invalid_assertion() from exc
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
    return Assertion(header=header, claims=claims, signing_input=signing_input, signature=signature)


def verify_rs256(assertion: Assertion, keys: Sequence[rsa.RSAPublicKey]) -> bool:
    """True when the header says RS256 and one of `keys` verifies the signature."""
    if assertion.header.get("alg") != "RS256":
        return False
    for key in keys:
        try:
            key.verify(
                assertion.signature, assertion.signing_input, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            continue
        return True
    return False


# -- the org's registered certificates ----------------------------------------------------


def register_jwt_certificate(state: OrgState, pem: bytes) -> None:
    """Register an RSA certificate (PEM), like uploading it to the connected app.

    Raises ValueError for anything but a PEM certificate holding an RSA key, since
    Salesforce only verifies RS256 assertions.
    """
    cert = x509.load_pem_x509_certificate(pem)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("JWT bearer certificates must hold an RSA public key")
    with state.lock:
        state.extensions.setdefault(_EXTENSION_KEY, []).append(key)


def jwt_certificates(state: OrgState) -> list[rsa.RSAPublicKey]:
    """The public keys of every registered certificate (a copy)."""
    with state.lock:
        return list(state.extensions.get(_EXTENSION_KEY, []))


# -- the whole check -----------------------------------------------------------------------


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def check_assertion(state: OrgState, token: str) -> dict[str, Any]:
    """The claims of a valid assertion for this org, or the OAuthError Salesforce would send.

    Order: structure and signature first (nothing unauthenticated is trusted), then the
    issuer, audience, lifetime and user.
    """
    assertion = parse_assertion(token)
    if not verify_rs256(assertion, jwt_certificates(state)):
        raise _invalid_assertion()
    claims = assertion.claims
    cfg = state.config
    if claims.get("iss") != cfg.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    accepted = {a.rstrip("/") for a in (state.instance_url, *LOGIN_AUDIENCES) if a}
    if not any(a.rstrip("/") in accepted for a in _audiences(claims)):
        raise OAuthError("invalid_grant", "Audience validation failed")
    exp = _number(claims.get("exp"))
    now = state.clock()
    # Salesforce answers both a past `exp` and one far off (e.g. ms instead of s) this way.
    if exp is None or exp <= now or exp > now + MAX_ASSERTION_LIFETIME:
        raise OAuthError("invalid_grant", "expired authorization code")
    nbf = _number(claims.get("nbf"))
    if nbf is not None and nbf > now:
        raise _invalid_assertion()
    sub = claims.get("sub")
    if not isinstance(sub, str) or sub.lower() != cfg.username.lower():
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return claims
