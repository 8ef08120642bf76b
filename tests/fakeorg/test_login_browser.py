"""`salesforce-typed login` in a real headless browser: Chromium logs in on the fake org's
page, allows access on its consent page and lands on the CLI's callback.

Chromium and chromedriver are Debian's packages, installed by `make browsers` (which
`make test` runs). The test talks to chromedriver over the W3C WebDriver HTTP API with httpx,
so it needs no extra Python package. It skips, naming the missing binary, only when they
are absent.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from salesforce_typed.stores.file import FileTokenStore
from salesforce_typed.testing.server import FakeOrg

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C WebDriver element key
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian: chromium chromium-driver; "
    "`make browsers` installs them)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class WebDriver:
    """The few W3C WebDriver commands this test needs, over httpx."""

    def __init__(self, base: str, session_id: str, http: httpx.Client) -> None:
        self.base = f"{base}/session/{session_id}"
        self.http = http

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, self.base + path, json=body)
        assert response.status_code == 200, response.text
        return response.json()["value"]

    def go(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def find(self, css: str, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            response = self.http.post(
                self.base + "/element", json={"using": "css selector", "value": css}
            )
            if response.status_code == 200:
                element: str = response.json()["value"][ELEMENT]
                return element
            if time.monotonic() > deadline:
                raise AssertionError(f"no {css} on {self.call('GET', '/url')}")
            time.sleep(0.2)

    def type(self, css: str, text: str) -> None:
        self.call("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self.call("POST", f"/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        value: str = self.call("GET", f"/element/{self.find(css)}/text")
        return value


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    port = free_port()
    log = (tmp_path / "chromedriver.log").open("w")
    driver = subprocess.Popen(
        [CHROMEDRIVER, f"--port={port}"], stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(timeout=120, trust_env=False)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http.get(base + "/status").json()["value"]["ready"]:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "chromedriver did not start"
            time.sleep(0.2)
        options = {
            "binary": CHROMIUM,
            "args": [*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"],
        }
        caps = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        created = http.post(base + "/session", json={"capabilities": caps})
        assert created.status_code == 200, created.text
        session_id = created.json()["value"]["sessionId"]
        try:
            yield WebDriver(base, session_id, http)
        finally:
            http.delete(f"{base}/session/{session_id}")
    finally:
        http.close()
        driver.terminate()
        driver.wait(10)
        log.close()


def test_login_in_headless_chromium(fake_org: FakeOrg, browser: WebDriver, tmp_path: Path) -> None:
    home = tmp_path / "home"
    creds = fake_org.credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    login = subprocess.Popen(
        [
            sys.executable, "-m", "salesforce_typed", "login", "--alias", "browser",
            "--login-url", fake_org.instance_url, "--client-id", creds["client_id"],
            "--client-secret", creds["client_secret"], "--port", str(free_port()),
            "--no-browser", "--store", f"file://{home / 'tokens'}", "--timeout", "120",
        ],
        env=env | {"SALESFORCE_TYPED_HOME": str(home), "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert login.stdout is not None
        url = login.stdout.readline().strip()
        assert url.startswith(fake_org.instance_url + "/services/oauth2/authorize?"), url

        browser.go(url)
        browser.type("#username", creds["username"])
        browser.type("#password", creds["password"])
        browser.click("#Login")
        browser.click("#oaapprove")  # the consent page
        assert browser.text("#result") == "Logged in"  # the CLI's callback page
        assert browser.call("GET", "/url").startswith("http://localhost:")

        _, err = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
            login.wait(10)
    assert login.returncode == 0, err
    record = json.loads((home / "aliases.json").read_text())["aliases"]["browser"]
    assert record["org_id"] == fake_org.state.config.org_id
    assert record["username"] == creds["username"]
    stored = FileTokenStore(home / "tokens").get_token_data(record["store_key"])
    assert stored is not None and stored.refresh_token
    assert stored.instance_url == fake_org.instance_url
