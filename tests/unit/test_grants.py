"""Grants: token request bodies, parsing of real token responses, JWT signing, secret hygiene."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from salesforce_typed.auth import (
    LOGIN_TOKEN_URL,
    AccessTokenAuth,
    ClientCredentialsGrant,
    JwtBearerGrant,
    PasswordGrant,
    RefreshTokenGrant,
    TokenData,
    TokenGrant,
)
from salesforce_typed.auth.grants import TOKEN_TIMEOUT, encode_jwt_rs256
from salesforce_typed.core.errors import InvalidGrantError, OAuthError, SalesforceError, ServerError

NOW = 1_714_560_000.0
SECRET = "client-secret-Zq9"
REFRESH = "5Aep861-seed-refresh-token"
PASSWORD = "hunter2-pw"
SEC_TOKEN = "SECtok123"
MY_DOMAIN = "https://acme.my.salesforce.com/services/oauth2/token"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def fixtures(realdata: Path) -> Path:
    return realdata / "fixtures" / "rest" / "restforce"


def load(fixtures: Path, name: str) -> Any:
    return json.loads((fixtures / name).read_text())


def form(request: httpx.Request) -> dict[str, str]:
    parsed = parse_qs(request.content.decode(), keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values())
    return {k: v[0] for k, v in parsed.items()}


def answer(status: int, body: Any, url: str = LOGIN_TOKEN_URL) -> httpx.Response:
    request = httpx.Request("POST", url)
    if isinstance(body, str):
        return httpx.Response(status, text=body, request=request)
    return httpx.Response(status, json=body, request=request)


def stored(version: int = 4, refresh: str | None = "rt-stored") -> TokenData:
    return TokenData(
        access_token="at-stored",
        refresh_token=refresh,
        instance_url="https://na1.salesforce.com",
        issued_at=NOW - 100,
        expires_at=NOW,
        last_refreshed_at=NOW - 100,
        version=version,
    )


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# --- request building -------------------------------------------------------------------------


def test_refresh_grant_posts_the_form_with_a_timeout() -> None:
    grant = RefreshTokenGrant(client_id="cid", refresh_token=REFRESH, client_secret=SECRET)
    request = grant.build_token_request(NOW)
    assert request.method == "POST" and str(request.url) == LOGIN_TOKEN_URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert "Authorization" not in request.headers
    assert request.extensions["timeout"] == TOKEN_TIMEOUT.as_dict()
    assert form(request) == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": "cid",
        "client_secret": SECRET,
    }


def test_refresh_grant_uses_the_stored_rotated_token_and_omits_a_missing_secret() -> None:
    grant = RefreshTokenGrant(client_id="cid", refresh_token=REFRESH)
    body = form(grant.build_token_request(NOW, stored()))
    assert body == {"grant_type": "refresh_token", "refresh_token": "rt-stored", "client_id": "cid"}
    # a stored token without a refresh token falls back to the seed
    assert form(grant.build_token_request(NOW, stored(refresh=None)))["refresh_token"] == REFRESH


def test_password_grant_appends_the_security_token() -> None:
    grant = PasswordGrant(
        client_id="cid",
        client_secret=SECRET,
        username="u@example.com",
        password=PASSWORD,
        security_token=SEC_TOKEN,
    )
    assert form(grant.build_token_request(NOW)) == {
        "grant_type": "password",
        "client_id": "cid",
        "client_secret": SECRET,
        "username": "u@example.com",
        "password": PASSWORD + SEC_TOKEN,
    }
    plain = PasswordGrant(client_id="c", client_secret="s", username="u", password=PASSWORD)
    assert form(plain.build_token_request(NOW))["password"] == PASSWORD


def test_client_credentials_grant_goes_to_my_domain() -> None:
    grant = ClientCredentialsGrant(client_id="cid", client_secret=SECRET, token_url=MY_DOMAIN)
    request = grant.build_token_request(NOW)
    assert str(request.url) == MY_DOMAIN
    assert form(request) == {
        "grant_type": "client_credentials",
        "client_id": "cid",
        "client_secret": SECRET,
    }


def test_jwt_bearer_assertion_is_rs256_and_verifies(pem: bytes, rsa_key: rsa.RSAPrivateKey) -> None:
    grant = JwtBearerGrant(
        client_id="3MVG9-cid",
        username="u@example.com",
        private_key_pem=pem.decode(),  # str accepted too
        audience="https://test.salesforce.com",
        token_url="https://test.salesforce.com/services/oauth2/token",
    )
    body = form(grant.build_token_request(NOW + 0.9))
    assert body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert set(body) == {"grant_type", "assertion"}
    header, claims, signature = body["assertion"].split(".")
    assert json.loads(b64url_decode(header)) == {"alg": "RS256"}
    assert json.loads(b64url_decode(claims)) == {
        "iss": "3MVG9-cid",
        "sub": "u@example.com",
        "aud": "https://test.salesforce.com",
        "exp": int(NOW) + 180,
    }
    assert "=" not in body["assertion"]
    public = rsa_key.public_key()
    signed = f"{header}.{claims}".encode()
    public.verify(b64url_decode(signature), signed, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(b64url_decode(signature), signed + b"x", padding.PKCS1v15(), hashes.SHA256())


def test_jwt_with_an_encrypted_key(rsa_key: rsa.RSAPrivateKey) -> None:
    encrypted = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    )
    token = encode_jwt_rs256({"iss": "x"}, encrypted, b"pass")
    assert token.count(".") == 2
    with pytest.raises(ValueError, match="not a readable PEM"):
        encode_jwt_rs256({"iss": "x"}, encrypted, b"wrong")


def test_jwt_refuses_garbage_and_non_rsa_keys_without_echoing_them() -> None:
    garbage = b"-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
    grant = JwtBearerGrant(client_id="c", username="u", private_key_pem=garbage)
    with pytest.raises(ValueError) as info:
        grant.build_token_request(NOW)
    assert "TOPSECRETKEYMATERIAL" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="RSA"):
        JwtBearerGrant(client_id="c", username="u", private_key_pem=ec_pem).assertion(NOW)


# --- response parsing (real recorded responses) -----------------------------------------------


def test_password_grant_parses_the_real_auth_response(fixtures: Path) -> None:
    grant = PasswordGrant(client_id="c", client_secret="s", username="u", password="p")
    token = grant.parse_token_response(
        answer(200, load(fixtures, "auth_success_response.json")), NOW
    )
    assert token.access_token.startswith("00Dx0000000BV7z!AR8AQ")
    assert token.refresh_token is None
    assert token.instance_url == "https://na1.salesforce.com"
    assert token.issued_at == pytest.approx(1278448832.702)  # 13-digit ms on the wire
    assert token.expires_at == NOW + 7200  # no expires_in: our session timeout
    assert token.last_refreshed_at == NOW
    assert token.version == 1


def test_refresh_without_rotation_keeps_the_refresh_token(fixtures: Path) -> None:
    grant = RefreshTokenGrant(client_id="c", refresh_token=REFRESH, session_timeout_s=900)
    body = load(fixtures, "refresh_success_response.json")
    first = grant.parse_token_response(answer(200, body), NOW)
    assert first.access_token == "refreshed_access_token"
    assert first.refresh_token == REFRESH and first.version == 1
    assert first.expires_at == NOW + 900
    later = grant.parse_token_response(answer(200, body), NOW, stored(version=4))
    assert later.refresh_token == "rt-stored" and later.version == 5


def test_refresh_with_rotation_takes_the_new_refresh_token(fixtures: Path) -> None:
    grant = RefreshTokenGrant(client_id="c", refresh_token=REFRESH)
    body = {**load(fixtures, "refresh_success_response.json"), "refresh_token": "rt-rotated"}
    token = grant.parse_token_response(answer(200, body), NOW, stored())
    assert token.refresh_token == "rt-rotated"


@pytest.mark.parametrize(
    ("fixture", "description"),
    [
        ("refresh_error_response.json", "expired access/refresh token"),
        ("auth_error_response.json", "authentication failure - Invalid Password"),
    ],
)
def test_invalid_grant_is_terminal(fixtures: Path, fixture: str, description: str) -> None:
    grant = RefreshTokenGrant(client_id="c", refresh_token=REFRESH, client_secret=SECRET)
    with pytest.raises(InvalidGrantError) as info:
        grant.parse_token_response(answer(400, load(fixtures, fixture)), NOW)
    assert info.value.error == "invalid_grant"
    assert info.value.description == description
    assert info.value.status_code == 400
    assert REFRESH not in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize("error", ["invalid_client_id", "invalid_client", "unsupported_grant_type"])
def test_other_oauth_errors_are_not_invalid_grant(error: str) -> None:
    grant = ClientCredentialsGrant(client_id="c", client_secret=SECRET, token_url=MY_DOMAIN)
    with pytest.raises(OAuthError) as info:
        grant.parse_token_response(answer(400, {"error": error, "error_description": "no"}), NOW)
    assert type(info.value) is OAuthError and info.value.error == error


def test_a_server_error_page_is_a_status_error() -> None:
    grant = ClientCredentialsGrant(client_id="c", client_secret=SECRET, token_url=MY_DOMAIN)
    with pytest.raises(ServerError) as info:
        grant.parse_token_response(answer(503, "<html>down</html>", MY_DOMAIN), NOW)
    assert info.value.status_code == 503
    assert info.value.url == "/services/oauth2/token"


@pytest.mark.parametrize(
    "body", [{"instance_url": "https://x"}, {"access_token": "a"}, ["a"], "not json"]
)
def test_a_success_without_a_token_is_an_oauth_error(body: Any) -> None:
    grant = RefreshTokenGrant(client_id="c", refresh_token=REFRESH)
    with pytest.raises(OAuthError, match="invalid_token_response"):
        grant.parse_token_response(answer(200, body), NOW)


@pytest.mark.parametrize(
    ("issued_at", "expected"),
    [("1714560000123", 1714560000.123), ("1714560000", 1714560000.0), (None, NOW), ("x", NOW)],
)
def test_issued_at_in_ms_or_seconds(issued_at: str | None, expected: float) -> None:
    body: dict[str, Any] = {"access_token": "a", "instance_url": "https://x.my.salesforce.com/"}
    if issued_at is not None:
        body["issued_at"] = issued_at
    grant = RefreshTokenGrant(client_id="c", refresh_token=REFRESH)
    token = grant.parse_token_response(answer(200, body), NOW)
    assert token.issued_at == pytest.approx(expected)
    assert token.instance_url == "https://x.my.salesforce.com"


# --- explicit objects, secret hygiene ----------------------------------------------------------


def test_grants_are_token_grants_and_keys_name_the_user(pem: bytes) -> None:
    grants: list[Any] = [
        RefreshTokenGrant(client_id="c", refresh_token=REFRESH),
        PasswordGrant(client_id="c", client_secret="s", username="u", password="p"),
        ClientCredentialsGrant(client_id="c", client_secret="s", token_url=MY_DOMAIN),
        JwtBearerGrant(client_id="c", username="u", private_key_pem=pem),
    ]
    assert all(isinstance(g, TokenGrant) for g in grants)
    keys = [g.store_key() for g in grants]
    assert len(set(keys[1:])) == 2  # password and JWT for the same user share one key
    assert keys[1] == keys[3]
    assert REFRESH not in keys[0]
    assert RefreshTokenGrant(client_id="c", refresh_token="other").store_key() != keys[0]


def test_secrets_never_appear_in_reprs(pem: bytes) -> None:
    objects: list[Any] = [
        RefreshTokenGrant(client_id="c", refresh_token=REFRESH, client_secret=SECRET),
        PasswordGrant(
            client_id="c",
            client_secret=SECRET,
            username="u",
            password=PASSWORD,
            security_token=SEC_TOKEN,
        ),
        ClientCredentialsGrant(client_id="c", client_secret=SECRET, token_url=MY_DOMAIN),
        JwtBearerGrant(
            client_id="c", username="u", private_key_pem=pem, private_key_password=b"pk-pass"
        ),
        AccessTokenAuth(access_token="00D!rawaccesstoken", instance_url="https://x"),
    ]
    key_body = pem.decode().splitlines()[1]
    for obj in objects:
        text = repr(obj) + str(obj)
        for secret in (SECRET, REFRESH, PASSWORD, SEC_TOKEN, key_body, "pk-pass", "rawaccess"):
            assert secret not in text, (type(obj).__name__, secret)


def test_empty_required_values_are_refused_without_echo() -> None:
    with pytest.raises(ValueError, match="refresh_token must not be empty"):
        RefreshTokenGrant(client_id="c", refresh_token="")
    with pytest.raises(ValueError, match="session_timeout_s"):
        RefreshTokenGrant(client_id="c", refresh_token="r", session_timeout_s=0)


def test_access_token_auth_never_expires_by_estimate() -> None:
    auth = AccessTokenAuth(access_token="tok", instance_url="https://x.my.salesforce.com/")
    token = auth.token_data(NOW)
    assert token.access_token == "tok" and token.refresh_token is None
    assert token.instance_url == "https://x.my.salesforce.com"
    assert not token.expires_within(10**9, NOW)


# --- from_env: the SF_* variables the CLI reads -----------------------------------------------


def test_refresh_grant_from_env_reads_the_cli_variables() -> None:
    env = {
        "SF_CLIENT_ID": "c",
        "SF_CLIENT_SECRET": SECRET,
        "SF_REFRESH_TOKEN": REFRESH,
        "SF_TOKEN_URL": MY_DOMAIN,
    }
    grant = RefreshTokenGrant.from_env(env)
    assert grant == RefreshTokenGrant(
        client_id="c", client_secret=SECRET, refresh_token=REFRESH, token_url=MY_DOMAIN
    )
    bare = RefreshTokenGrant.from_env({"SF_CLIENT_ID": "c", "SF_REFRESH_TOKEN": REFRESH})
    assert bare.client_secret is None
    assert bare.token_url == LOGIN_TOKEN_URL


def test_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_ACCESS_TOKEN", "tok")
    monkeypatch.setenv("SF_INSTANCE_URL", "https://x.my.salesforce.com")
    auth = AccessTokenAuth.from_env()
    assert auth == AccessTokenAuth(access_token="tok", instance_url="https://x.my.salesforce.com")


def test_password_and_client_credentials_grants_from_env() -> None:
    env = {
        "SF_CLIENT_ID": "c",
        "SF_CLIENT_SECRET": SECRET,
        "SF_USERNAME": "u",
        "SF_PASSWORD": PASSWORD,
        "SF_SECURITY_TOKEN": SEC_TOKEN,
        "SF_TOKEN_URL": MY_DOMAIN,
    }
    assert PasswordGrant.from_env(env) == PasswordGrant(
        client_id="c",
        client_secret=SECRET,
        username="u",
        password=PASSWORD,
        security_token=SEC_TOKEN,
        token_url=MY_DOMAIN,
    )
    assert ClientCredentialsGrant.from_env(env) == ClientCredentialsGrant(
        client_id="c", client_secret=SECRET, token_url=MY_DOMAIN
    )


@pytest.mark.parametrize(
    ("cls", "missing"),
    [
        (RefreshTokenGrant, "SF_REFRESH_TOKEN"),
        (PasswordGrant, "SF_USERNAME, SF_PASSWORD"),
        (ClientCredentialsGrant, "SF_TOKEN_URL"),
        (AccessTokenAuth, "SF_ACCESS_TOKEN, SF_INSTANCE_URL"),
    ],
)
def test_from_env_names_what_is_missing_without_echoing_secrets(cls: Any, missing: str) -> None:
    from salesforce_typed import UsageError  # appended section: imported here

    env = {"SF_CLIENT_ID": "c", "SF_CLIENT_SECRET": SECRET, "SF_REFRESH_TOKEN": ""}
    with pytest.raises(UsageError) as caught:
        cls.from_env(env)
    assert f"needs {missing} set" in str(caught.value)
    assert SECRET not in str(caught.value)


# -- token-endpoint answers that must not leak or downgrade -----------------------------------


def _answer(grant: RefreshTokenGrant, status: int, **kwargs: Any) -> httpx.Response:
    request = grant.build_token_request(1_700_000_000.0, None)
    return httpx.Response(status, request=request, **kwargs)


def test_an_error_page_echoing_the_request_loses_the_secrets() -> None:
    grant = RefreshTokenGrant(
        client_id="cid", refresh_token="5Aep861-seed/refresh+tok", client_secret="s3cr3t-value"
    )
    echo = grant.build_token_request(1_700_000_000.0, None).content.decode()
    page = _answer(grant, 502, text=f"<html>Bad gateway for POST body {echo}</html>")
    with pytest.raises(SalesforceError) as err:
        grant.parse_token_response(page, 1_700_000_000.0)
    text = str(err.value) + repr(err.value.__dict__)
    assert "s3cr3t-value" not in text and "5Aep861" not in text and "[redacted]" in text
    oauth = _answer(
        grant,
        400,
        json={"error": "invalid_client", "error_description": "bad secret s3cr3t-value"},
    )
    with pytest.raises(OAuthError) as err2:
        grant.parse_token_response(oauth, 1_700_000_000.0)
    assert "s3cr3t-value" not in str(err2.value)


@pytest.mark.parametrize(
    ("instance_url", "token_url", "refused"),
    [
        (
            "http://acme.my.salesforce.com",
            "https://login.salesforce.com/services/oauth2/token",
            True,
        ),
        (
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com/services/oauth2/token",
            False,
        ),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/services/oauth2/token", False),
        ("http://127.0.0.1:8080", "https://login.salesforce.com/services/oauth2/token", True),
    ],
)
def test_a_clear_text_instance_url_is_refused_unless_local(
    instance_url: str, token_url: str, refused: bool
) -> None:
    grant = RefreshTokenGrant(client_id="cid", refresh_token="rt-seed", token_url=token_url)
    ok = _answer(grant, 200, json={"access_token": "00D!at", "instance_url": instance_url})
    if refused:
        with pytest.raises(OAuthError, match="insecure_instance_url"):
            grant.parse_token_response(ok, 1_700_000_000.0)
    else:
        assert grant.parse_token_response(ok, 1_700_000_000.0).instance_url == instance_url
