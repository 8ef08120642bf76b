"""Section 2: `salesforce-typed login` through the web-server flow with PKCE, driven by httpx.

The CLI runs as a user would start it (`--no-browser`: it prints the authorize URL and still
listens on its localhost callback). httpx then plays the browser: it opens the URL, submits
the fake org's login form and its consent form, and follows the redirect to the CLI's
`CallbackServer`, which hands the code to `exchange_code`. The token lands in a
`FileTokenStore` and the alias in `aliases.json`, both under the demo's private
`SALESFORCE_TYPED_HOME`; `Salesforce.from_alias` then connects from them.

What must stay true: no token, code or password is printed (fingerprints only), and each
step is checked, so a broken login stops the demo.
"""

from __future__ import annotations

import os
import re
import ssl
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from rich.console import Console

from salesforce_typed.demo.output import check, say

ALIAS = "demo"
_TIMEOUT_S = 30.0


def log_in(console: Console, creds: dict[str, str], verify: ssl.SSLContext, home: Path) -> None:
    """Run `salesforce-typed login --alias demo` against the org; httpx is its browser."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env |= {"SALESFORCE_TYPED_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "salesforce_typed", "login", "--alias", ALIAS]
    cmd += ["--login-url", creds["instance_url"], "--client-id", creds["client_id"]]
    cmd += ["--client-secret", creds["client_secret"], "--ca-file", creds["ca_file"]]
    cmd += ["--port", "0", "--no-browser", "--timeout", str(_TIMEOUT_S)]
    say(console, f"$ salesforce-typed login --alias {ALIAS} --login-url <org> --no-browser ...")
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        check(url.startswith(creds["instance_url"]), f"login printed no authorize URL: {url!r}")
        _browse(console, url, creds, verify)
        _, err = proc.communicate(timeout=_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check(proc.returncode == 0, f"login exited {proc.returncode}: {err.strip()}")
    logged = [line for line in err.splitlines() if line.startswith("Logged in as")]
    check(bool(logged), f"login did not say it logged in: {err.strip()}")
    say(console, f"login → {logged[0]}")
    _show_store(console, home)


def _browse(console: Console, url: str, creds: dict[str, str], verify: ssl.SSLContext) -> None:
    """What a person does in the browser: log in, allow access, land on the callback."""
    query = parse_qs(urlsplit(url).query)
    redirect_uri = query["redirect_uri"][0]
    say(
        console,
        f"authorize URL: code_challenge_method={query['code_challenge_method'][0]}, "
        f"state sent, redirect_uri={redirect_uri}",
    )
    location = consent_redirect(
        url, username=creds["username"], password=creds["password"], verify=verify
    )
    check(location.startswith(redirect_uri + "?"), "the redirect goes to the callback")
    landed = httpx.get(location, timeout=_TIMEOUT_S)  # the CLI's CallbackServer on localhost
    params = parse_qs(urlsplit(location).query)
    check(landed.status_code == 200 and "code" in params, "the callback took the code")
    title = re.search(r'<h1 id="result">([^<]*)</h1>', landed.text)
    say(
        console,
        f"browser (httpx): login form as {creds['username']} → consent 'Allow' → 302 to "
        f"{redirect_uri}?code=…&state=… → callback page {title.group(1) if title else '?'!r}",
    )


def consent_redirect(url: str, *, username: str, password: str, verify: ssl.SSLContext) -> str:
    """A browser on the fake org's pages: open the authorize `url`, submit the login form and
    "Allow" on the consent form; the address the org redirects to (not followed)."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    with httpx.Client(verify=verify, timeout=_TIMEOUT_S) as browser:
        page = browser.get(url)
        check(page.status_code == 200 and 'id="login_form"' in page.text, "the login page")
        login = {"username": username, "pw": password}
        consent = browser.post(
            f"{base}/services/oauth2/authorize/login",
            data={"request_id": _hidden(page.text, "request_id")} | login,
        )
        check("Allow Access?" in consent.text, "the consent page after a correct login")
        decided = browser.post(
            f"{base}/services/oauth2/authorize/consent",
            data={"request_id": _hidden(consent.text, "request_id"), "decision": "allow"},
        )
    check(decided.status_code == 302, f"consent answered {decided.status_code}, not a redirect")
    return decided.headers["location"]


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    check(found is not None, f"no hidden {name} in the page")
    assert found is not None
    return found.group(1)


def _show_store(console: Console, home: Path) -> None:
    """The alias and the stored token as `auth show` would print them: masked."""
    from salesforce_typed.auth.aliases import get_alias, open_store
    from salesforce_typed.auth.token import fingerprint

    record = get_alias(ALIAS)
    token = open_store(record.store_url).get_token_data(record.store_key)
    check(token is not None and bool(token.refresh_token), "the file store holds the token")
    assert token is not None
    files = sorted((home / "tokens").glob("*.json"))
    modes = {oct(stat.S_IMODE(f.stat().st_mode)) for f in files}
    say(
        console,
        f"alias {ALIAS!r}: org {record.org_id}, user {record.username}, store "
        f"{record.store_url!r} → {len(files)} token file in $SALESFORCE_TYPED_HOME/tokens "
        f"(mode {', '.join(sorted(modes))}), refresh token {fingerprint(token.refresh_token)} "
        f"version {token.version}",
    )
    check(modes == {"0o600"} and len(files) == 1, "one token file, mode 0600")
