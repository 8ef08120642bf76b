"""The fake org's OAuth endpoints over real sockets: every grant, RTR families, revoke,
userinfo, introspect, session timeout and JWT bearer.

JWTs are built here by hand (base64url + cryptography), not with the server's own decoder,
so a shared mistake can't make both sides agree.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from salesforce_typed.testing import oauth
from salesforce_typed.testing.oauth import jwt_bearer
from salesforce_typed.testing.server import FakeOrg

LIMITS = "/services/data/v62.0/limits"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
EXPIRED = {"error": "invalid_grant", "error_description": "expired access/refresh token"}


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
def client(fake_org: FakeOrg) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_org.instance_url, timeout=30) as c:
        yield c


@pytest.fixture
def creds(fake_org: FakeOrg) -> dict[str, str]:
    return fake_org.credentials()


def post_token(client: httpx.Client, **data: str) -> httpx.Response:
    return client.post("/services/oauth2/token", data=data)


def refresh(client: httpx.Client, creds: dict[str, str], rt: str) -> httpx.Response:
    return post_token(
        client,
        grant_type="refresh_token",
        refresh_token=rt,
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
    )


def password_grant(client: httpx.Client, creds: dict[str, str], **over: str) -> httpx.Response:
    data = {
        "grant_type": "password",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "username": creds["username"],
        "password": creds["password"] + creds["security_token"],
    }
    return post_token(client, **(data | over))


def api_status(client: httpx.Client, access_token: str) -> int:
    return client.get(LIMITS, headers={"Authorization": f"Bearer {access_token}"}).status_code


def oauth_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    return body


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jwt(
    claims: dict[str, Any], key: rsa.RSAPrivateKey, header: dict[str, Any] | None = None
) -> str:
    head = b64url(json.dumps(header or {"alg": "RS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    signing_input = f"{head}.{body}".encode()
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(signature)}"


def self_signed_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwt-bearer test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- response shape -------------------------------------------------------------------------


def test_password_grant_response_shape(
    fake_org: FakeOrg, client: httpx.Client, creds: dict[str, str]
) -> None:
    r = password_grant(client, creds)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    assert "expires_in" not in body and "refresh_token" not in body
    assert body["token_type"] == "Bearer" and body["scope"] == "api"
    assert body["instance_url"] == fake_org.instance_url
    assert len(body["issued_at"]) == 13 and body["issued_at"].isdigit()
    cfg = fake_org.state.config
    assert body["id"] == f"{fake_org.instance_url}/id/{cfg.org_id}/{cfg.user_id}"
    expected = hmac.new(
        creds["client_secret"].encode(),
        (body["id"] + body["issued_at"]).encode(),
        hashlib.sha256,
    ).digest()
    assert base64.b64decode(body["signature"]) == expected
    assert "no-store" in r.headers["cache-control"]
    assert api_status(client, body["access_token"]) == 200


def test_password_grant_errors(client: httpx.Client, creds: dict[str, str]) -> None:
    failure = {"error": "invalid_grant", "error_description": "authentication failure"}
    assert oauth_error(password_grant(client, creds, password=creds["password"])) == failure
    assert oauth_error(password_grant(client, creds, username="someone@else.example")) == failure
    assert oauth_error(password_grant(client, creds, client_id="3MVGnope")) == {
        "error": "invalid_client_id",
        "error_description": "client identifier invalid",
    }
    assert oauth_error(password_grant(client, creds, client_secret="nope")) == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }


def test_client_credentials_with_basic_auth(client: httpx.Client, creds: dict[str, str]) -> None:
    basic = httpx.BasicAuth(creds["client_id"], creds["client_secret"])
    r = client.post("/services/oauth2/token", data={"grant_type": "client_credentials"}, auth=basic)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" not in body and body["scope"] == "api"
    assert api_status(client, body["access_token"]) == 200
    missing = post_token(client, grant_type="client_credentials", client_id=creds["client_id"])
    assert oauth_error(missing)["error"] == "invalid_client"
    wrong = httpx.BasicAuth(creds["client_id"], "wrong")
    r = client.post("/services/oauth2/token", data={"grant_type": "client_credentials"}, auth=wrong)
    assert oauth_error(r)["error"] == "invalid_client"


@pytest.mark.parametrize("grant", ["no_such_grant", "implicit", ""])
def test_unsupported_grant(client: httpx.Client, creds: dict[str, str], grant: str) -> None:
    data = {"client_id": creds["client_id"], "client_secret": creds["client_secret"]}
    if grant:
        data["grant_type"] = grant
    assert oauth_error(post_token(client, **data)) == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }


# -- refresh tokens and rotation ------------------------------------------------------------


def test_rotation_returns_new_token_and_reuse_revokes_family(
    client: httpx.Client, creds: dict[str, str]
) -> None:
    rt1 = creds["refresh_token"]
    first = refresh(client, creds, rt1)
    assert first.status_code == 200, first.text
    body = first.json()
    rt2 = body["refresh_token"]
    assert rt2 != rt1 and body["scope"] == "api refresh_token" and "expires_in" not in body
    second = refresh(client, creds, rt2).json()
    rt3, access = second["refresh_token"], second["access_token"]
    assert api_status(client, access) == 200
    assert api_status(client, body["access_token"]) == 200

    unrelated = password_grant(client, creds).json()["access_token"]
    assert oauth_error(refresh(client, creds, rt1)) == EXPIRED  # rotated out: reuse
    assert oauth_error(refresh(client, creds, rt3)) == EXPIRED  # the family died with it
    assert api_status(client, access) == 401
    assert api_status(client, body["access_token"]) == 401
    r = client.get(LIMITS, headers={"Authorization": f"Bearer {access}"})
    assert r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert api_status(client, unrelated) == 200  # other authorizations are untouched


def test_reuse_leaves_other_families_alive(fake_org: FakeOrg, client: httpx.Client) -> None:
    creds = fake_org.credentials()
    other = oauth.issue_refresh_token(fake_org.state)
    rt2 = refresh(client, creds, creds["refresh_token"]).json()["refresh_token"]
    assert refresh(client, creds, creds["refresh_token"]).status_code == 400
    assert refresh(client, creds, rt2).status_code == 400
    assert refresh(client, creds, other).status_code == 200


def test_without_rotation_the_token_stays_valid(
    client: httpx.Client, creds: dict[str, str]
) -> None:
    r = client.post("/_admin/config", json={"refresh_token_rotation": False})
    assert r.status_code == 200 and r.json()["refresh_token_rotation"] is False
    for _ in range(3):
        r = refresh(client, creds, creds["refresh_token"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert "refresh_token" not in body and body["scope"] == "api"
        assert api_status(client, body["access_token"]) == 200


def test_refresh_client_authentication(client: httpx.Client, creds: dict[str, str]) -> None:
    base = {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]}
    r = post_token(client, **base, client_id="3MVGnope", client_secret=creds["client_secret"])
    assert oauth_error(r)["error"] == "invalid_client_id"
    r = post_token(client, **base, client_id=creds["client_id"], client_secret="nope")
    assert oauth_error(r)["error"] == "invalid_client"
    r = post_token(client, **base, client_id=creds["client_id"])
    assert oauth_error(r)["error"] == "invalid_client"  # the app requires the secret
    assert oauth_error(post_token(client, **base))["error"] == "invalid_client_id"
    # None of those consumed the token; HTTP Basic works as well as the body.
    basic = httpx.BasicAuth(creds["client_id"], creds["client_secret"])
    r = client.post("/services/oauth2/token", data=base, auth=basic)
    assert r.status_code == 200, r.text


def test_refresh_without_secret_when_the_app_allows_it(
    fake_org: FakeOrg, client: httpx.Client, creds: dict[str, str]
) -> None:
    oauth.oauth_state(fake_org.state).require_secret_for_refresh = False
    r = post_token(
        client,
        grant_type="refresh_token",
        refresh_token=creds["refresh_token"],
        client_id=creds["client_id"],
    )
    assert r.status_code == 200, r.text
    r = refresh(client, creds | {"client_secret": "wrong"}, r.json()["refresh_token"])
    assert oauth_error(r)["error"] == "invalid_client"  # a secret that is sent is checked


@pytest.mark.parametrize("token", ["", "5Aep861unknown"])
def test_unknown_refresh_token(client: httpx.Client, creds: dict[str, str], token: str) -> None:
    assert oauth_error(refresh(client, creds, token)) == EXPIRED


def test_concurrent_refreshes_of_one_token_kill_the_family(
    fake_org: FakeOrg, creds: dict[str, str]
) -> None:
    """The failure mode our client's single-flight refresh exists to avoid."""
    oauth.reset_token_calls(fake_org.state)
    barrier = threading.Barrier(8)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=fake_org.instance_url, timeout=30) as c:
            barrier.wait()
            r = refresh(c, creds, creds["refresh_token"])
        with lock:
            results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8
    winners = [r for r in results if r.status_code == 200]
    losers = [r for r in results if r.status_code != 200]
    assert len(winners) == 1
    assert all(r.status_code == 400 and r.json() == EXPIRED for r in losers)
    won = winners[0].json()
    with httpx.Client(base_url=fake_org.instance_url, timeout=30) as c:
        assert oauth_error(refresh(c, creds, won["refresh_token"])) == EXPIRED
        assert api_status(c, won["access_token"]) == 401
    assert oauth.token_calls(fake_org.state) == {"refresh_token": 9}


def test_token_calls_are_counted_per_grant(
    fake_org: FakeOrg, client: httpx.Client, creds: dict[str, str]
) -> None:
    oauth.reset_token_calls(fake_org.state)
    refresh(client, creds, creds["refresh_token"])
    password_grant(client, creds)
    password_grant(client, creds, password="wrong")
    post_token(client, grant_type="bogus")
    assert client.get("/_admin/token-calls").json() == {
        "refresh_token": 1,
        "password": 2,
        "bogus": 1,
    }
    assert fake_org.state.api_usage == 0  # OAuth calls are not API calls


def test_secrets_stay_out_of_logs_and_reprs(
    fake_org: FakeOrg,
    client: httpx.Client,
    creds: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rt2 = refresh(client, creds, creds["refresh_token"]).json()["refresh_token"]
    refresh(client, creds, creds["refresh_token"])  # reuse: logged
    assert "revoked" in caplog.text
    state_repr = repr(oauth.oauth_state(fake_org.state)) + repr(fake_org.state.config)
    for secret in (creds["refresh_token"], rt2, creds["client_secret"], creds["password"]):
        assert secret not in caplog.text and secret not in state_repr


# -- session lifetime -----------------------------------------------------------------------


def test_session_timeout_on_an_injected_clock() -> None:
    clock = FakeClock()
    with FakeOrg() as org, httpx.Client(base_url=org.instance_url, timeout=30) as c:
        org.state.clock = clock
        assert c.post("/_admin/config", json={"session_timeout": 1}).status_code == 200
        creds = org.credentials()
        body = refresh(c, creds, creds["refresh_token"]).json()
        assert body["issued_at"] == str(int(clock.now * 1000))
        assert api_status(c, body["access_token"]) == 200
        clock.advance(2)
        r = c.get(LIMITS, headers={"Authorization": f"Bearer {body['access_token']}"})
        assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
        # The refresh token outlives the session: that is how clients recover.
        again = refresh(c, creds, body["refresh_token"])
        assert again.status_code == 200 and api_status(c, again.json()["access_token"]) == 200


# -- JWT bearer -------------------------------------------------------------------------------


def claims_for(org: FakeOrg, **over: Any) -> dict[str, Any]:
    cfg = org.state.config
    base = {
        "iss": cfg.client_id,
        "sub": cfg.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    return base | over


def jwt_grant(client: httpx.Client, assertion: str) -> httpx.Response:
    return post_token(client, grant_type=JWT_GRANT, assertion=assertion)


@pytest.mark.parametrize("audience", ["login", "test", "instance", "list"])
def test_jwt_bearer_happy_path(
    fake_org: FakeOrg, client: httpx.Client, rsa_key: rsa.RSAPrivateKey, audience: str
) -> None:
    oauth.register_jwt_certificate(fake_org.state, self_signed_pem(rsa_key))
    aud: Any = {
        "login": "https://login.salesforce.com",
        "test": "https://test.salesforce.com/",
        "instance": fake_org.instance_url,
        "list": ["https://elsewhere.example", fake_org.instance_url],
    }[audience]
    r = jwt_grant(client, sign_jwt(claims_for(fake_org, aud=aud), rsa_key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" not in body and "expires_in" not in body
    assert api_status(client, body["access_token"]) == 200


def test_jwt_certificate_registered_over_admin_http(
    fake_org: FakeOrg, client: httpx.Client, rsa_key: rsa.RSAPrivateKey
) -> None:
    r = client.post("/_admin/jwt-certificates", content=self_signed_pem(rsa_key))
    assert r.status_code == 201
    assert jwt_grant(client, sign_jwt(claims_for(fake_org), rsa_key)).status_code == 200
    r = client.post("/_admin/jwt-certificates", content=b"not a certificate")
    assert r.status_code == 400


def test_jwt_certificate_must_hold_an_rsa_key(fake_org: FakeOrg) -> None:
    with pytest.raises(ValueError):
        oauth.register_jwt_certificate(
            fake_org.state, self_signed_pem(ec.generate_private_key(ec.SECP256R1()))
        )


def _tampered(token: str) -> str:
    head, _, rest = token.partition(".")
    _, _, sig = rest.partition(".")
    forged = b64url(json.dumps({"sub": "admin@fake-org.example.com", "exp": 1}).encode())
    return f"{head}.{forged}.{sig}"


def _hs256(org: FakeOrg) -> str:
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims_for(org)).encode())
    key = org.state.config.client_secret.encode()
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def _alg_none(org: FakeOrg) -> str:
    head = b64url(json.dumps({"alg": "none"}).encode())
    return f"{head}.{b64url(json.dumps(claims_for(org)).encode())}."


JWT_FAILURES = {
    "wrong audience": ("aud", "Audience validation failed"),
    "expired": ("expired", "expired authorization code"),
    "exp in milliseconds": ("exp_ms", "expired authorization code"),
    "unregistered key": ("other_key", "invalid assertion"),
    "tampered claims": ("tampered", "invalid assertion"),
    "HS256": ("hs256", "invalid assertion"),
    "alg none": ("none", "invalid assertion"),
    "RS256 signature under an RS512 header": ("rs512", "invalid assertion"),
    "RS256 header, but not a JWS": ("garbage", "invalid assertion"),
    "wrong user": ("sub", "user hasn't approved this consumer"),
}


@pytest.mark.parametrize("case", sorted(JWT_FAILURES))
def test_jwt_bearer_rejections(
    fake_org: FakeOrg,
    client: httpx.Client,
    rsa_key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
    case: str,
) -> None:
    oauth.register_jwt_certificate(fake_org.state, self_signed_pem(rsa_key))
    kind, description = JWT_FAILURES[case]
    now = int(time.time())
    assertion = {
        "aud": lambda: sign_jwt(claims_for(fake_org, aud="https://evil.example"), rsa_key),
        "expired": lambda: sign_jwt(claims_for(fake_org, exp=now - 5), rsa_key),
        "exp_ms": lambda: sign_jwt(claims_for(fake_org, exp=(now + 180) * 1000), rsa_key),
        "other_key": lambda: sign_jwt(claims_for(fake_org), other_key),
        "tampered": lambda: _tampered(sign_jwt(claims_for(fake_org), rsa_key)),
        "hs256": lambda: _hs256(fake_org),
        "none": lambda: _alg_none(fake_org),
        "rs512": lambda: sign_jwt(claims_for(fake_org), rsa_key, header={"alg": "RS512"}),
        "garbage": lambda: b64url(b'{"alg":"RS256"}') + ".e30.!!!",
        "sub": lambda: sign_jwt(claims_for(fake_org, sub="nobody@example.com"), rsa_key),
    }[kind]()
    assert oauth_error(jwt_grant(client, assertion)) == {
        "error": "invalid_grant",
        "error_description": description,
    }


def test_jwt_bearer_without_any_certificate_or_with_wrong_issuer(
    fake_org: FakeOrg, client: httpx.Client, rsa_key: rsa.RSAPrivateKey
) -> None:
    assertion = sign_jwt(claims_for(fake_org), rsa_key)
    assert oauth_error(jwt_grant(client, assertion))["error_description"] == "invalid assertion"
    assert oauth_error(jwt_grant(client, ""))["error_description"] == "invalid assertion"
    oauth.register_jwt_certificate(fake_org.state, self_signed_pem(rsa_key))
    assert jwt_grant(client, assertion).status_code == 200
    wrong_iss = sign_jwt(claims_for(fake_org, iss="3MVGsomeoneelse"), rsa_key)
    assert oauth_error(jwt_grant(client, wrong_iss))["error"] == "invalid_client_id"


@pytest.mark.parametrize("text", ["ab+c", "ab/c", "a b", "ab$"])
def test_b64url_decoding_is_strict(text: str) -> None:
    with pytest.raises(ValueError):
        jwt_bearer.b64url_decode(text)


def test_b64url_decodes_with_or_without_padding() -> None:
    assert jwt_bearer.b64url_decode("_-8") == b"\xff\xef"
    assert jwt_bearer.b64url_decode("aGk=") == jwt_bearer.b64url_decode("aGk") == b"hi"


# -- revoke, userinfo, introspect -------------------------------------------------------------


def test_revoke_refresh_token_takes_its_access_tokens(
    client: httpx.Client, creds: dict[str, str]
) -> None:
    body = refresh(client, creds, creds["refresh_token"]).json()
    r = client.post("/services/oauth2/revoke", data={"token": body["refresh_token"]})
    assert r.status_code == 200 and r.content == b""
    assert api_status(client, body["access_token"]) == 401
    assert oauth_error(refresh(client, creds, body["refresh_token"])) == EXPIRED
    # Revoked once, unknown afterwards.
    r = client.post("/services/oauth2/revoke", data={"token": body["refresh_token"]})
    assert oauth_error(r) == {
        "error": "unsupported_token_type",
        "error_description": "this token type is not supported",
    }


def test_revoke_access_token_only(client: httpx.Client, creds: dict[str, str]) -> None:
    body = refresh(client, creds, creds["refresh_token"]).json()
    r = client.post("/services/oauth2/revoke", params={"token": body["access_token"]})
    assert r.status_code == 200
    assert api_status(client, body["access_token"]) == 401
    assert refresh(client, creds, body["refresh_token"]).status_code == 200
    r = client.post("/services/oauth2/revoke", data={"token": "nope"})
    assert oauth_error(r)["error"] == "unsupported_token_type"


def test_userinfo_and_identity_url(
    fake_org: FakeOrg, client: httpx.Client, creds: dict[str, str]
) -> None:
    body = password_grant(client, creds).json()
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    info = client.get("/services/oauth2/userinfo", headers=auth).json()
    cfg = fake_org.state.config
    assert info["user_id"] == cfg.user_id and info["organization_id"] == cfg.org_id
    assert info["preferred_username"] == cfg.username and info["email"]
    assert info["sub"] == body["id"]
    identity = client.get(body["id"], headers=auth)
    assert identity.status_code == 200
    assert identity.json()["username"] == cfg.username and identity.json()["id"] == body["id"]
    r = client.get("/services/oauth2/userinfo", headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.text) == (403, "Bad_OAuth_Token")
    r = client.get("/services/oauth2/userinfo")
    assert (r.status_code, r.text) == (403, "Missing_OAuth_Token")
    r = client.get(f"/id/00D000000000000AAA/{cfg.user_id}", headers=auth)
    assert (r.status_code, r.text) == (403, "Wrong_Org")


def test_introspect(fake_org: FakeOrg, client: httpx.Client, creds: dict[str, str]) -> None:
    client_auth = {"client_id": creds["client_id"], "client_secret": creds["client_secret"]}

    def introspect(token: str, **auth: str) -> httpx.Response:
        return client.post("/services/oauth2/introspect", data={"token": token} | auth)

    body = refresh(client, creds, creds["refresh_token"]).json()
    access = introspect(body["access_token"], **client_auth).json()
    assert access["active"] is True and access["token_type"] == "access_token"
    assert access["username"] == creds["username"] and access["exp"] > access["iat"]
    assert access["client_id"] == creds["client_id"]
    rt = introspect(body["refresh_token"], **client_auth).json()
    assert rt["active"] is True and rt["token_type"] == "refresh_token"
    assert introspect(creds["refresh_token"], **client_auth).json() == {"active": False}
    assert introspect("nope", **client_auth).json() == {"active": False}
    bad = introspect(body["access_token"], client_id=creds["client_id"], client_secret="x")
    assert oauth_error(bad)["error"] == "invalid_client"
    client.post("/services/oauth2/revoke", data={"token": body["refresh_token"]})
    assert introspect(body["access_token"], **client_auth).json() == {"active": False}
