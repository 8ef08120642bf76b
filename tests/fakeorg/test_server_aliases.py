"""Server-to-server aliases, one command each: `auth client-credentials` and `auth jwt`,
then `Salesforce.from_alias` on them, against the fake org over real sockets."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from salesforce_typed import Salesforce
from salesforce_typed.testing import oauth
from salesforce_typed.testing.server import FakeOrg

CLI = str(Path(sys.executable).with_name("salesforce-typed"))


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env |= {"SALESFORCE_TYPED_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _key_and_certificate(folder: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server alias test")])
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
    path = folder / "server.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, cert.public_bytes(serialization.Encoding.PEM)


def test_client_credentials_alias_in_one_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOrg() as org:
        c = org.credentials()
        made = _cli(
            tmp_path,
            *("auth", "client-credentials", "--alias", "cc", "--client-id", c["client_id"]),
            *("--client-secret", c["client_secret"], "--login-url", org.instance_url),
        )
        assert made.returncode == 0, made.stderr
        assert c["client_secret"] not in made.stdout + made.stderr
        shown = _cli(tmp_path, "auth", "show", "cc", "--json")
        assert shown.returncode == 0, shown.stderr
        assert c["client_secret"] not in shown.stdout
        monkeypatch.setenv("SALESFORCE_TYPED_HOME", str(tmp_path))
        with Salesforce.from_alias("cc") as sf:
            assert sf.limits()
        org.state.expire_sessions()
        with Salesforce.from_alias("cc") as sf:  # no refresh token: a new client-credentials call
            assert sf.limits()
        bad = _cli(
            tmp_path,
            *("auth", "client-credentials", "--alias", "bad", "--client-id", c["client_id"]),
            *("--client-secret", "wrong-secret", "--login-url", org.instance_url),
        )
        assert bad.returncode == 1 and "invalid_client" in bad.stderr
        assert "wrong-secret" not in bad.stderr


def test_jwt_bearer_alias_in_one_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file, certificate = _key_and_certificate(tmp_path)
    with FakeOrg() as org:
        oauth.register_jwt_certificate(org.state, certificate)
        c = org.credentials()
        made = _cli(
            tmp_path,
            *("auth", "jwt", "--alias", "robot", "--client-id", c["client_id"]),
            *("--username", c["username"], "--key-file", str(key_file)),
            *("--login-url", org.instance_url),
        )
        assert made.returncode == 0, made.stderr
        record = json.loads((tmp_path / "aliases.json").read_text())["aliases"]["robot"]
        assert record["grant_type"] == "jwt_bearer" and record["key_file"] == str(key_file)
        assert "PRIVATE KEY" not in (tmp_path / "aliases.json").read_text()
        monkeypatch.setenv("SALESFORCE_TYPED_HOME", str(tmp_path))
        org.state.expire_sessions()
        with Salesforce.from_alias("robot") as sf:  # a new assertion signed with the key
            assert sf.limits()
