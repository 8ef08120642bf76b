"""`salesforce-typed login` end to end without a browser, and the fake org's web-server flow.

httpx plays the browser: it reads the fake org's login and consent forms, posts them, and
follows the redirect to the callback server of a `login --no-browser` subprocess. The
refusals (wrong verifier, reused or expired code, mismatched redirect_uri, bad state) are
checked against Salesforce's documented and observed error bodies.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from salesforce_typed import Salesforce
from salesforce_typed.auth import aliases as alias_registry
from salesforce_typed.auth import login as flow
from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.core.errors import InvalidGrantError, OAuthError, UsageError
from salesforce_typed.stores.file import FileTokenStore
from salesforce_typed.testing.oauth import web_server
from salesforce_typed.testing.server import FakeOrg

LIMITS = "/services/data/v62.0/limits"
CALLBACK = "http://localhost:1717/OauthRedirect"


# -- a browser made of httpx ---------------------------------------------------------------


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, page
    return found.group(1)


def log_in_and_allow(org: FakeOrg, authorize: str, *, decision: str = "allow") -> httpx.Response:
    """GET the authorize URL, log in, decide; the consent POST's (unfollowed) answer."""
    creds = org.credentials()
    with httpx.Client(timeout=30) as browser:
        page = browser.get(authorize)
        assert page.status_code == 200, page.text
        assert '<form method="post" action="/services/oauth2/authorize/login"' in page.text
        consent = browser.post(
            f"{org.instance_url}/services/oauth2/authorize/login",
            data={
                "request_id": hidden(page.text, "request_id"),
                "username": creds["username"],
                "pw": creds["password"],
            },
        )
        assert consent.status_code == 200 and "Allow Access?" in consent.text, consent.text
        return browser.post(
            f"{org.instance_url}/services/oauth2/authorize/consent",
            data={"request_id": hidden(consent.text, "request_id"), "decision": decision},
        )


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(org: FakeOrg, pkce: flow.PkcePair, *, redirect_uri: str = CALLBACK) -> str:
    return flow.authorize_url(
        org.instance_url,
        client_id=org.state.config.client_id,
        redirect_uri=redirect_uri,
        state="s1",
        code_challenge=pkce.challenge,
    )


def get_code(org: FakeOrg, pkce: flow.PkcePair, *, redirect_uri: str = CALLBACK) -> str:
    params = callback_params(log_in_and_allow(org, authorize(org, pkce, redirect_uri=redirect_uri)))
    assert params["state"] == "s1"
    return params["code"]


def exchange(org: FakeOrg, code: str, verifier: str, **over: str) -> httpx.Response:
    creds = org.credentials()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "code_verifier": verifier,
    } | over
    return httpx.post(org.token_url, data=data, timeout=30)


def oauth_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    return body


# -- the fake org's pages and token endpoint ------------------------------------------------


def test_code_exchange_issues_a_rotating_family(fake_org: FakeOrg) -> None:
    pkce = flow.new_pkce_pair()
    code = get_code(fake_org, pkce)
    assert code.startswith("aPrx") and code.endswith("==")  # decoded from the redirect
    r = exchange(fake_org, code, pkce.verifier)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"access_token", "refresh_token", "id", "instance_url", "issued_at"}
    assert {"signature", "scope", "token_type"} <= set(body)
    assert body["scope"] == "api refresh_token" and len(body["issued_at"]) == 13
    org_id, user_id = flow.identity_from_id_url(body["id"])
    assert (org_id, user_id) == (fake_org.state.config.org_id, fake_org.state.config.user_id)
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(fake_org.instance_url + LIMITS, headers=auth).status_code == 200
    creds = fake_org.credentials()
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    rotated = httpx.post(fake_org.token_url, data=refresh).json()["refresh_token"]
    assert rotated != body["refresh_token"]
    reuse = httpx.post(fake_org.token_url, data=refresh)  # the spent one: family revoked
    assert oauth_error(reuse)["error_description"] == "expired access/refresh token"


def test_wrong_verifier_is_refused_and_the_code_survives(fake_org: FakeOrg) -> None:
    pkce = flow.new_pkce_pair()
    code = get_code(fake_org, pkce)
    wrong = flow.new_pkce_pair().verifier
    assert oauth_error(exchange(fake_org, code, wrong)) == {
        "error": "invalid_grant",
        "error_description": "invalid code verifier",
    }
    missing = exchange(fake_org, code, "", code_verifier="")
    assert oauth_error(missing)["error_description"] == "invalid code verifier"
    assert exchange(fake_org, code, pkce.verifier).status_code == 200


def test_reused_code_is_refused(fake_org: FakeOrg) -> None:
    pkce = flow.new_pkce_pair()
    code = get_code(fake_org, pkce)
    assert exchange(fake_org, code, pkce.verifier).status_code == 200
    assert oauth_error(exchange(fake_org, code, pkce.verifier)) == {
        "error": "invalid_grant",
        "error_description": "expired authorization code",
    }


def test_expired_code_is_refused(fake_org: FakeOrg) -> None:
    pkce = flow.new_pkce_pair()
    r = httpx.post(fake_org.instance_url + "/_admin/web-server-flow", json={"code_lifetime_s": 0})
    assert r.json()["code_lifetime_s"] == 0
    code = get_code(fake_org, pkce)
    assert oauth_error(exchange(fake_org, code, pkce.verifier)) == {
        "error": "invalid_grant",
        "error_description": "expired authorization code",
    }
    assert web_server.DEFAULT_CODE_LIFETIME_S == 15 * 60


def test_mismatched_redirect_uri_is_refused(fake_org: FakeOrg) -> None:
    pkce = flow.new_pkce_pair()
    code = get_code(fake_org, pkce)
    other = exchange(fake_org, code, pkce.verifier, redirect_uri="http://localhost:1718/x")
    assert oauth_error(other) == {
        "error": "redirect_uri_mismatch",
        "error_description": "redirect_uri must match configuration",
    }


def test_unknown_code_and_client_and_secret(fake_org: FakeOrg) -> None:
    pkce = flow.new_pkce_pair()
    unknown = exchange(fake_org, "aPrxnope==", pkce.verifier)
    assert oauth_error(unknown) == {
        "error": "invalid_grant",
        "error_description": "invalid authorization code",
    }
    code = get_code(fake_org, pkce)
    assert oauth_error(exchange(fake_org, code, pkce.verifier, client_id="3MVGnope"))["error"] == (
        "invalid_client_id"
    )
    no_secret = exchange(fake_org, code, pkce.verifier, client_secret="")
    assert oauth_error(no_secret)["error"] == "invalid_client"
    web_server.web_server_settings(fake_org.state).require_secret = False  # a public client
    assert exchange(fake_org, code, pkce.verifier, client_secret="").status_code == 200


def test_authorize_refusals(fake_org: FakeOrg) -> None:
    cfg = fake_org.state.config
    base = f"{fake_org.instance_url}/services/oauth2/authorize?"
    good = {
        "response_type": "code",
        "client_id": cfg.client_id,
        "redirect_uri": CALLBACK,
        "state": "st",
        "code_challenge": flow.new_pkce_pair().challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client(timeout=30) as browser:

        def get(**over: str) -> httpx.Response:
            return browser.get(base + urlencode(good | over))

        # Client and callback are checked first, and never redirected to.
        page = get(client_id="nope")
        assert page.status_code == 400 and "invalid_client_id" in page.text
        for uri in ("https://evil.example/cb", "http://localhost/no-port", "not a url"):
            page = get(redirect_uri=uri)
            assert page.status_code == 400 and "redirect_uri_mismatch" in page.text
        assert get(redirect_uri="http://127.0.0.1:5555/cb").status_code == 200  # loopback
        # The rest go back to the callback with error, description and state.
        for over, error in (
            ({"response_type": "token"}, "unsupported_response_type"),
            ({"code_challenge": ""}, "invalid_request"),
            ({"code_challenge": "short"}, "invalid_request"),
            ({"code_challenge_method": "plain"}, "invalid_request"),
            ({"scope": "api nonsense"}, "invalid_scope"),
        ):
            params = callback_params(get(**over))
            assert params["error"] == error and params["state"] == "st", over
    denied = log_in_and_allow(fake_org, base + urlencode(good), decision="deny")
    assert callback_params(denied) == {
        "error": "access_denied",
        "error_description": "end-user denied authorization",
        "state": "st",
    }


def test_wrong_password_shows_the_form_again(fake_org: FakeOrg) -> None:
    with httpx.Client(timeout=30) as browser:
        page = browser.get(authorize(fake_org, flow.new_pkce_pair()))
        rid = hidden(page.text, "request_id")
        again = browser.post(
            f"{fake_org.instance_url}/services/oauth2/authorize/login",
            data={"request_id": rid, "username": "<b>x</b>", "pw": "wrong"},
        )
        assert again.status_code == 401 and "check your username and password" in again.text
        assert "<b>x</b>" not in again.text and "&lt;b&gt;x&lt;/b&gt;" in again.text
        # Consent without a login is not an approval.
        skip = browser.post(
            f"{fake_org.instance_url}/services/oauth2/authorize/consent",
            data={"request_id": rid, "decision": "allow"},
        )
        assert skip.status_code != 302 and 'id="login_form"' in skip.text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"grant_type=authorization_code",
        b"grant_type=authorization_code&code=%ZZ&redirect_uri=%00",
        b"\xff\xfe\x00garbage",
        b"grant_type=authorization_code&" + b"code=" + b"a" * 100_000,
    ],
)
def test_token_endpoint_never_answers_500(fake_org: FakeOrg, body: bytes) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    r = httpx.post(fake_org.token_url, content=body, headers=headers)
    assert r.status_code == 400 and set(r.json()) == {"error", "error_description"}
    for path in ("/services/oauth2/authorize/login", "/services/oauth2/authorize/consent"):
        page = httpx.post(fake_org.instance_url + path, content=body, headers=headers)
        assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    bad = httpx.get(fake_org.instance_url + "/services/oauth2/authorize?%ZZ=%ff&client_id")
    assert bad.status_code == 400


def test_token_delay_switch(fake_org: FakeOrg) -> None:
    admin = fake_org.instance_url + "/_admin/faults"
    assert httpx.get(admin).json()["token_delay_s"] == 0
    for bad in ({"token_delay_s": "slow"}, {"token_delay_s": -1}, {"seed": "x"}):
        assert httpx.post(admin, json=bad).status_code == 400
    assert httpx.post(admin, json={"token_delay_s": 0.3}).json()["token_delay_s"] == 0.3
    pkce = flow.new_pkce_pair()
    code = get_code(fake_org, pkce)
    started = time.monotonic()
    assert exchange(fake_org, code, pkce.verifier).status_code == 200
    assert time.monotonic() - started >= 0.3  # a lower bound only: the delay was applied


# -- the client side ------------------------------------------------------------------------


def test_pkce_state_and_redirect_parsing() -> None:
    pkce = flow.new_pkce_pair()
    assert 43 <= len(pkce.verifier) <= 128 and pkce.verifier not in repr(pkce)
    assert pkce.challenge == web_server.s256(pkce.verifier)
    assert flow.code_from_redirect("aPrxabc==", "st") == "aPrxabc=="
    url = f"{CALLBACK}?code=aPrx%3D%3D&state=st"
    assert flow.code_from_redirect(url, "st") == "aPrx=="
    with pytest.raises(OAuthError) as bad_state:
        flow.code_from_redirect(url, "other")
    assert bad_state.value.error == "invalid_state"
    with pytest.raises(OAuthError) as denied:
        flow.code_from_redirect(f"{CALLBACK}?error=access_denied&state=st", "st")
    assert denied.value.error == "access_denied"
    with pytest.raises(UsageError):
        flow.code_from_redirect("  ", "st")


def test_callback_server_checks_state() -> None:
    with flow.CallbackServer("good", port=0) as server:
        assert server.redirect_uri == f"http://localhost:{server.port}/OauthRedirect"
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(base + "/favicon.ico").status_code == 404
        assert server.wait(0) is None  # a stray request doesn't end the login
        r = httpx.get(base + "/OauthRedirect?code=c1&state=bad")
        assert r.status_code == 400 and "invalid_state" in r.text and "c1" not in r.text
        with pytest.raises(OAuthError) as refused:
            server.wait(5)
        assert refused.value.error == "invalid_state"
    with flow.CallbackServer("good", port=0) as server:
        r = httpx.get(f"http://127.0.0.1:{server.port}/OauthRedirect?code=c2&state=good")
        assert r.status_code == 200 and "close this tab" in r.text
        assert server.wait(5) == "c2"


def test_exchange_code_errors_are_typed(fake_org: FakeOrg) -> None:
    pkce = flow.new_pkce_pair()
    code = get_code(fake_org, pkce)
    creds = fake_org.credentials()
    common: dict[str, Any] = {
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    wrong = flow.new_pkce_pair().verifier
    with pytest.raises(InvalidGrantError) as refused:
        flow.exchange_code(fake_org.instance_url, code_verifier=wrong, **common)
    assert str(refused.value) == "invalid_grant: invalid code verifier"
    assert code not in str(refused.value) and wrong not in str(refused.value)
    result = flow.exchange_code(fake_org.instance_url, code_verifier=pkce.verifier, **common)
    assert result.identity.username == creds["username"]
    assert result.identity.org_id == fake_org.state.config.org_id
    assert result.token.refresh_token and result.token.version == 1


# -- the CLI, as a subprocess ---------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return env | {"SALESFORCE_TYPED_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salesforce_typed", *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def start_login(fake_org: FakeOrg, home: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(alias: str = "dev", *extra: str) -> tuple[subprocess.Popen[str], str]:
        creds = fake_org.credentials()
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "salesforce_typed", "login", "--alias", alias,
                "--login-url", fake_org.instance_url, "--client-id", creds["client_id"],
                "--client-secret", creds["client_secret"], "--port", "0", "--no-browser",
                "--store", f"file://{home / 'tokens'}", "--timeout", "60", *extra,
            ],
            env=cli_env(home),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        procs.append(proc)
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith(fake_org.instance_url + "/services/oauth2/authorize?"), url
        return proc, url

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_cli_login_over_http_then_alias_grant_refreshes(
    fake_org: FakeOrg, home: Path, start_login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, url = start_login()
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and "code_verifier" not in query
    redirect = log_in_and_allow(fake_org, url)
    location = redirect.headers["location"]
    assert location.startswith("http://localhost:")
    landed = httpx.get(location.replace("//localhost:", "//127.0.0.1:", 1))
    assert landed.status_code == 200 and "close this tab" in landed.text
    code, err = finish(proc)
    assert code == 0, err
    assert "Logged in as admin@fake-org.example.com" in err
    creds = fake_org.credentials()
    for secret in (creds["client_secret"], parse_qs(urlsplit(location).query)["code"][0]):
        assert secret not in err

    aliases = home / "aliases.json"
    assert aliases.stat().st_mode & 0o777 == 0o600
    record = json.loads(aliases.read_text())["aliases"]["dev"]
    assert record["org_id"] == fake_org.state.config.org_id
    assert record["instance_url"] == fake_org.instance_url
    assert record["username"] == creds["username"]
    store = FileTokenStore(home / "tokens")
    stored = store.get_token_data(record["store_key"])
    assert stored is not None and stored.refresh_token and stored.version == 1
    assert "refresh_token" not in aliases.read_text()

    # The Python entry point: the alias's grant refreshes through the same store.
    grant, same_store = alias_registry.grant_from_alias("dev", path=aliases, store=store)
    assert grant.store_key() == record["store_key"]
    auth = SalesforceAuth(grant, store=same_store)
    with httpx.Client(base_url=fake_org.instance_url, auth=auth) as client:
        assert client.get(LIMITS).status_code == 200  # the stored access token
        auth.refresh(client, rejected=stored.access_token)  # as after a 401: rotate
    after = store.get_token_data(record["store_key"])
    assert after is not None and after.version == 2 and after.refresh_token != stored.refresh_token

    # The client entry point reads the alias from SALESFORCE_TYPED_HOME and its store.
    monkeypatch.setenv("SALESFORCE_TYPED_HOME", str(home))
    with Salesforce.from_alias("dev") as sf:
        assert sf.limits()
        assert sf.connection.instance_url in (None, fake_org.instance_url)

    shown = run_cli(home, "auth", "show", "dev", "--json")
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["token"]["version"] == 2 and summary["token"]["last_rotation"]
    assert summary["client_secret"] == "stored"
    assert after.refresh_token and after.refresh_token not in shown.stdout
    assert after.access_token not in shown.stdout
    assert creds["client_secret"] not in shown.stdout
    listed = run_cli(home, "auth", "list")
    assert listed.stdout.startswith("dev\tadmin@fake-org.example.com\t")

    out = run_cli(home, "logout", "--alias", "dev")
    assert out.returncode == 0 and "refresh token revoked" in out.stderr, out.stderr
    assert store.get_token_data(record["store_key"]) is None
    assert json.loads(aliases.read_text())["aliases"] == {}
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": after.refresh_token,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    assert oauth_error(httpx.post(fake_org.token_url, data=refresh))["error"] == "invalid_grant"
    with pytest.raises(UsageError):
        alias_registry.grant_from_alias("dev", path=aliases, store=store)


def test_cli_login_with_a_pasted_redirect(fake_org: FakeOrg, home: Path, start_login: Any) -> None:
    proc, url = start_login("pasted")
    location = log_in_and_allow(fake_org, url).headers["location"]
    assert proc.stdin is not None
    proc.stdin.write(location + "\n")  # the browser could not reach this machine's callback
    proc.stdin.flush()
    code, err = finish(proc)
    assert code == 0, err
    assert "pasted" in json.loads((home / "aliases.json").read_text())["aliases"]


def test_cli_login_refuses_a_bad_state(fake_org: FakeOrg, home: Path, start_login: Any) -> None:
    proc, url = start_login()
    location = log_in_and_allow(fake_org, url).headers["location"]
    forged = re.sub(r"state=[^&]+", "state=forged", location)
    httpx.get(forged.replace("//localhost:", "//127.0.0.1:", 1))
    code, err = finish(proc)
    assert code == 1 and "invalid_state" in err, err
    assert not (home / "aliases.json").exists()


def test_cli_usage_errors(home: Path) -> None:
    no_client = run_cli(home, "login", "--alias", "x", "--store", "file", "--no-browser")
    assert no_client.returncode == 2 and "--client-id" in no_client.stderr
    bad_alias = run_cli(home, "login", "--alias", "../x", "--client-id", "c")
    assert bad_alias.returncode == 2 and "alias" in bad_alias.stderr
    bad_store = run_cli(home, "login", "--alias", "x", "--client-id", "c", "--store", "mem")
    assert bad_store.returncode == 2 and "--store" in bad_store.stderr
    unknown = run_cli(home, "auth", "show", "nope")
    assert unknown.returncode == 2 and "no alias 'nope'" in unknown.stderr
