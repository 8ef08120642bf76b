"""`salesforce-typed fake-org serve` as a user runs it: a CLI subprocess on a real socket.

What the README's setup block relies on, without jq or curl:
- `--env-file PATH` writes `export SF_<KEY>=...` for every credential the JSON line holds,
  whole or not at all, and `bash` sources it into exactly those variables.
- `--no-rotation`: successive CLI processes start from the same refresh token (with rotation
  on, the second one meets `invalid_grant`).
- CDC capture runs from startup: `listen --replay -2` gets a write made before any listener.
- `generate --from-org` authenticates with the refresh token from the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

import salesforce_typed_std as std
from salesforce_typed import RefreshTokenGrant, Salesforce

CLI = str(Path(sys.executable).with_name("salesforce-typed"))
TIMEOUT_S = 120  # bounds a hung child; nothing asserts on time


def _base_env(**values: str) -> dict[str, str]:
    """This environment without SF_* (and without proxies for loopback), plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "NO_PROXY": "127.0.0.1,localhost"})
    return env | values


@attrs.frozen
class Served:
    proc: subprocess.Popen[bytes]
    env_file: Path
    stdout: Path

    def credentials(self) -> dict[str, str]:
        lines = self.stdout.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1, lines  # ONE JSON line, as before --env-file
        creds: dict[str, str] = json.loads(lines[0])
        return creds

    def sourced(self, **before: str) -> dict[str, str]:
        """The SF_* variables after `. ./ENV_FILE` in bash, from an environment with `before`."""
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", '. "$1" && env -0', "bash", str(self.env_file)],
            env=_base_env(**before),
            capture_output=True,
            timeout=TIMEOUT_S,
            check=True,
        )
        pairs = (item.partition("=") for item in done.stdout.decode().split("\0") if item)
        return {name: value for name, _, value in pairs if name.startswith("SF_")}


Serve = Callable[..., Served]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start `fake-org serve --env-file` with the given flags; stopped with SIGTERM after."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> Served:
        folder = tmp_path / f"org{len(started)}"
        folder.mkdir()
        env_file, stdout = folder / "fake-org.env", folder / "fake-org.json"
        with stdout.open("wb") as out:
            proc = subprocess.Popen(
                [CLI, "fake-org", "serve", "--env-file", str(env_file), *flags],
                stdout=out,
                stderr=subprocess.PIPE,
                env=_base_env(),
            )
        started.append(proc)
        deadline = time.monotonic() + TIMEOUT_S
        while not (env_file.exists() and env_file.stat().st_size):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no env file"
            time.sleep(0.05)
        while not stdout.stat().st_size:  # printed right after the env file is in place
            time.sleep(0.01)
        return Served(proc, env_file, stdout)

    yield start
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        proc.communicate(timeout=30)


def _cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        env=_base_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_env_file_is_complete_sources_in_bash_and_is_removed_at_exit(serve: Serve) -> None:
    served = serve("--tls")
    creds = served.credentials()
    assert set(creds) == {
        "instance_url",
        "token_url",
        "client_id",
        "client_secret",
        "refresh_token",
        "username",
        "password",
        "security_token",
        "ca_file",
        "pubsub_url",
    }
    assert stat.S_IMODE(served.env_file.stat().st_mode) == 0o600  # it holds secrets
    # written to a temp file and renamed: no temp file is left beside it
    assert {p.name for p in served.env_file.parent.iterdir()} == {"fake-org.env", "fake-org.json"}
    # A stale access token would win over the refresh token in every CLI command: unset.
    got = served.sourced(SF_ACCESS_TOKEN="stale", SF_USERNAME="someone-else")
    assert got == {f"SF_{key.upper()}": value for key, value in creds.items()}

    served.proc.terminate()
    assert served.proc.wait(timeout=30) == 0
    assert not served.env_file.exists()  # the next `until [ -s ... ]` waits for a new org


def test_without_tls_the_env_file_unsets_a_stale_ca_file(serve: Serve) -> None:
    served = serve()
    creds = served.credentials()
    assert "ca_file" not in creds
    got = served.sourced(SF_CA_FILE="/nowhere/ca.pem")
    assert got == {f"SF_{key.upper()}": value for key, value in creds.items()}


@pytest.mark.parametrize("rotation", [False, True], ids=["no-rotation", "rotation"])
def test_successive_cli_commands_work_with_and_without_rotation(
    serve: Serve, tmp_path: Path, rotation: bool
) -> None:
    served = serve("--tls", *([] if rotation else ["--no-rotation"]))
    env = served.sourced()
    # First command: generate --from-org, authenticated by the refresh-token grant.
    first = _cli(
        env,
        *("generate", "--from-org", "--objects", "Account", "--out", "gen", "--package", "org_sf"),
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "gen" / "org_sf" / "account.py").exists()
    # Second command, same SF_REFRESH_TOKEN.
    second = _cli(env, "bulk", "extract", "SELECT Id FROM Account", "--out", "a.csv", cwd=tmp_path)
    for secret in (env["SF_REFRESH_TOKEN"], env["SF_CLIENT_SECRET"]):
        assert secret not in first.stdout + first.stderr + second.stdout + second.stderr
    # With rotation the first refresh spent the printed token; the second command still works
    # because the CLI keeps the rotated one in its file token store (SALESFORCE_TYPED_HOME).
    assert second.returncode == 0, second.stdout + second.stderr
    assert (tmp_path / "a.csv").read_text(encoding="utf-8").splitlines()[0] == '"Id"'


def test_a_write_before_any_listener_is_replayed_with_minus_2(serve: Serve) -> None:
    served = serve("--tls", "--no-rotation")
    env = served.sourced()
    grant = RefreshTokenGrant.from_env(env)
    with Salesforce(auth=grant, verify=env["SF_CA_FILE"]) as sf:
        made = sf.create(std.Account(Name="Before any listener"))
    listened = _cli(
        env,
        *("listen", "/data/AccountChangeEvent", "--replay", "-2", "--max-events", "1"),
        cwd=served.env_file.parent,
    )
    assert listened.returncode == 0, listened.stderr
    [event] = [json.loads(line) for line in listened.stdout.splitlines()]
    assert event["changeType"] == "CREATE"
    assert event["recordIds"] == [made.id]


def test_generate_from_org_names_missing_variables_never_values(
    serve: Serve, tmp_path: Path
) -> None:
    served = serve("--tls", "--no-rotation")
    env = served.sourced()
    args = ("generate", "--from-org", "--objects", "Account", "--out", "gen", "--package", "x_sf")
    no_client = {k: v for k, v in env.items() if k != "SF_CLIENT_ID"}
    bad_token = env | {"SF_REFRESH_TOKEN": "5Aep861.not-a-token"}
    nothing = {"SF_INSTANCE_URL": env["SF_INSTANCE_URL"]}
    cases = [
        (no_client, ("SF_CLIENT_ID",)),
        (bad_token, ("invalid_grant", env["SF_TOKEN_URL"])),
        (nothing, ("SF_ACCESS_TOKEN", "SF_REFRESH_TOKEN", "SF_CLIENT_ID")),
    ]
    for case_env, named in cases:
        done = _cli(case_env, *args, cwd=tmp_path)
        message = " ".join(done.stderr.split())
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        for word in named:
            assert word in "".join(done.stderr.split()) or word in message, (word, message)
        for name in ("SF_REFRESH_TOKEN", "SF_CLIENT_SECRET", "SF_PASSWORD"):
            secret = case_env.get(name)
            assert secret is None or secret not in done.stdout + done.stderr
    assert not (tmp_path / "gen").exists()
