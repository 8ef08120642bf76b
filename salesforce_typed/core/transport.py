"""The httpx pool settings every client opens with: timeouts and TLS verification.

`verify` may be True/False, an `ssl.SSLContext`, or the path of a CA bundle (e.g. the fake
org's `ca_file`, or `SF_CA_FILE`). A path is loaded here, once, so that a missing or broken CA
file is a `RequestNotSentError` naming the file, not a bare `FileNotFoundError` or
`ssl.SSLError` from deep inside httpx.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import httpx

from salesforce_typed.core.errors import CertificateVerifyError, RequestNotSentError, UsageError

__all__ = ["certificate_error", "http_options", "ssl_context"]


def ssl_context(verify: object) -> ssl.SSLContext | bool:
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    if isinstance(verify, str | os.PathLike):
        path = os.fspath(verify)
        try:
            return ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise RequestNotSentError(
                f"the CA file {path!r} cannot be used ({type(exc).__name__}: {exc}); "
                "nothing was sent"
            ) from exc
    raise UsageError(f"verify must be a bool, an ssl.SSLContext or a CA file path, not {verify!r}")


def certificate_error(exc: BaseException, host: str) -> CertificateVerifyError | None:
    """The terminal error for a failure caused by an untrusted server certificate, else None.

    httpx wraps the `ssl.SSLCertVerificationError` in its own ConnectError; the cause chain
    is searched so that every API (and the token call) classifies it the same way."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            reason = current.verify_message or current.reason or "verification failed"
            return CertificateVerifyError(
                f"the TLS certificate of {host} did not verify ({reason}): the client does not "
                "trust it; pass verify= the CA bundle that signed it. Nothing was sent"
            )
        current = current.__cause__ or current.__context__
    return None


def http_options(*, timeout: httpx.Timeout, verify: object) -> dict[str, Any]:
    """Keyword arguments for `httpx.Client`/`httpx.AsyncClient`."""
    return {"timeout": timeout, "verify": ssl_context(verify)}
