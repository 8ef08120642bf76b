"""Every fenced code block in README.md runs as written, against a fake org.

- Blocks are read from README.md: ```python and ```sh only (any other fence fails). A block
  right after `<!-- not run: REASON -->` is skipped; the skipped ones are counted, listed and
  kept few (`test_skipped_blocks_are_few_and_say_why`).
- One org serves the module, started as the README's setup block starts its own: the CLI's
  `fake-org serve --tls --no-rotation --env-file` in a subprocess (CDC capture on from
  startup). Its env file, sourced in bash, gives every block its `SF_*` variables (the setup
  block, run from an environment without any, is checked to export the same names). No
  other `SF_*` variable leaks in from outside.
- Blocks run in README order, one at a time, in one shared temporary folder. A python block
  runs in a fresh interpreter; a sh block runs in `bash -euo pipefail` in a session of its
  own, and whatever it leaves running (`fake-org serve &`) is ended by that session's id.
  Each must exit 0 and print what its comments claim (`CLAIMS`). The `listen --replay -2`
  block reads events earlier blocks caused. Blocks share a private `SALESFORCE_TYPED_HOME`
  (file store, aliases).
- A sh block running `salesforce-typed login` (with `--no-browser`) gets a person at the
  browser: a thread opens the URL it prints, logs in to the fake org as `SF_USERNAME`,
  allows access and pastes the redirect address on the block's stdin.
- Every python block, skipped or not, is one file of one `mypy --strict` run: a line ending
  `# mypy: error [code]` must draw exactly that error, and every other line none.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CLI = Path(sys.executable).with_name("salesforce-typed")
TIMEOUT_S = 90
MAX_SKIPPED = 3

# A line of a block -> what that block's output must contain: the values its comments claim.
CLAIMS: dict[str, tuple[str, ...]] = {
    "print(exc.status_code, exc.error_code)": ("404 NOT_FOUND",),
    'sf.apex("GET", "orders/42")': ("{'id': '42', 'status': 'Shipped'}",),
    "print(api, names, pager.total_size)": (
        "REST ['Four 0', 'Four 1', 'Four 2'] 3",
        "SOAP ['Four 0', 'Four 1', 'Four 2'] 3",
        "Bulk 1.0 ['Four 0', 'Four 1', 'Four 2'] None",
        "Bulk 2.0 ['Four 0', 'Four 1', 'Four 2'] None",
        "Name='Four 0') 2 False ",
    ),
    "print(row.input_index, row.error)": ("0 REQUIRED_FIELD_MISSING",),
    "print(result.success, result.account_id, result.contact_id)": ("True 001",),
    "def created(event: ChangeDataEvent)": ("CREATE ['001",),
    "salesforce-typed listen": ('"changeType": "CREATE"',),
    "bulk load Contact contacts.csv": ("2 successful, 0 failed, 0 unprocessed",),
    "print(done.rows, pq.read_schema": ("3 decimal128(18, 0)",),
    "print(written.records > 0, written.path.name)": ("50.0", "True accounts-fast.csv"),
    "from acme_sf import Account; print(Account)": ("<class 'acme_sf.account.Account'>",),
    "salesforce-typed auth show dev": (
        "Logged in as admin@",
        "alias 'dev', store file",
        "dev\tadmin@",
        "token.refresh_token: sha256:",
    ),
    'Salesforce.from_alias("dev"': ("{'Max': ",),
    "token_store=store": ("{'Max': ",),
    "print(name.upper(), revenue)": ("QB BIG 2000000.0",),
    "print(exc.sobject, exc.field, exc.reason)": ("Contact Email not selected",),
    'print("over Pub/Sub:", event.change_type': ("over Pub/Sub: CREATE ['001",),
    'print("handled by the leader, then by the standby:"': (
        "handled by the leader, then by the standby: True",
    ),
    "print(await first_change_of(pubsub, first.id))": ("CREATE\nCREATE",),
    "print(len(results), sum(r.error is None": ("300 300",),
    "salesforce-typed publish /event/Order_Event__e": ('"replayId"',),
    "salesforce-typed logout": (
        "Logged out 'dev': refresh token revoked; store and alias cleared",
    ),
}

FENCE = re.compile(r"^```(?P<lang>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>.+?)\s*-->\s*\Z")
EXPECT_ERROR = re.compile(r"#\s*mypy: error \[(?P<code>[a-z-]+)\]\s*$")
AUTHORIZE_URL = re.compile(r"https://\S+/services/oauth2/authorize\?\S+")
MYPY_LINE = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<sev>error|note): (?P<msg>.*?)"
    r"(?:  \[(?P<code>[a-z-]+)\])?$"
)


@attrs.frozen
class Block:
    lang: str
    body: str
    line: int  # of the opening fence, 1-based
    skip: str | None  # the reason given in `<!-- not run: ... -->`

    @property
    def name(self) -> str:
        return f"{self.lang}-L{self.line}"


def readme_blocks(text: str) -> list[Block]:
    blocks = []
    end = 0
    for m in FENCE.finditer(text):
        before = text[end : m.start()]
        reason = NOT_RUN.search(before)
        line = text.count("\n", 0, m.start()) + 1
        blocks.append(Block(m["lang"].strip(), m["body"], line, reason and reason["reason"]))
        end = m.end()
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
RUN = [b for b in BLOCKS if b.skip is None]
SKIPPED = [b for b in BLOCKS if b.skip is not None]


def _without_sf(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith("SF_")}


def _sf_exported(env_file: Path, env: dict[str, str]) -> dict[str, str]:
    """The SF_* variables a bash that sources `env_file` has, as a user's shell would."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", '. "$1" && env -0', "bash", str(env_file)],
        env=env,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    pairs = (item.partition("=") for item in done.stdout.decode().split("\0") if item)
    return {name: value for name, _, value in pairs if name.startswith("SF_")}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The SF_* variables of the module's org: rotation off, so one refresh token serves
    every block; CDC capture on from startup, so `listen --replay -2` sees earlier writes."""
    folder = tmp_path_factory.mktemp("readme-org")
    env_file = folder / "fake-org.env"
    command = [str(CLI), "fake-org", "serve", "--tls", "--no-rotation", "--env-file", str(env_file)]
    with (folder / "serve.out").open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            command,
            env=_without_sf(dict(os.environ)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (env_file.exists() and env_file.stat().st_size):
            assert proc.poll() is None, (folder / "serve.out").read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "fake-org serve wrote no env file"
            time.sleep(0.05)
        yield _sf_exported(env_file, _without_sf(dict(os.environ)))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readme")


@pytest.fixture(scope="module")
def env(org: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = _without_sf(dict(os.environ)) | org
    # The file store, its journal and aliases.json of these blocks only.
    out["SALESFORCE_TYPED_HOME"] = str(tmp_path_factory.mktemp("readme-home"))
    # The venv's console scripts and python, as for a user whose venv is active.
    out["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{out.get('PATH', '')}"
    out["PYTHONUNBUFFERED"] = "1"
    return out


def _run_python(block: Block, workdir: Path, env: dict[str, str]) -> tuple[int, str]:
    script = workdir / f"readme_{block.name.replace('-', '_')}.py"
    script.write_text(block.body, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, script.name],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def _play_browser(
    out_path: Path, stdin: IO[str], env: dict[str, str], stop: threading.Event
) -> list[BaseException]:
    """The person at a `login --no-browser`: open the URL it printed, log in as SF_USERNAME,
    allow access, paste the address the browser lands on. Starts a thread; errors land in
    the returned list."""
    from salesforce_typed.demo.login import consent_redirect

    errors: list[BaseException] = []

    def play() -> None:
        try:
            while not (found := AUTHORIZE_URL.search(out_path.read_text(encoding="utf-8"))):
                if stop.wait(0.05):
                    return
            location = consent_redirect(
                found.group(0),
                username=env["SF_USERNAME"],
                password=env["SF_PASSWORD"],
                verify=ssl.create_default_context(cafile=env["SF_CA_FILE"]),
            )
            stdin.write(location + "\n")
            stdin.close()
        except BaseException as exc:  # check() raises SystemExit: keep it for the test
            errors.append(exc)

    threading.Thread(target=play, daemon=True).start()
    return errors


def _run_sh(block: Block, workdir: Path, env: dict[str, str]) -> tuple[int, str]:
    # Files, not pipes: a server the block leaves in the background keeps its stderr open.
    out_path = workdir / f"{block.name}.out"
    login = "salesforce-typed login" in block.body
    stop = threading.Event()
    with out_path.open("w+", encoding="utf-8") as out:
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", block.body],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if login else subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        errors = _play_browser(out_path, proc.stdin, env, stop) if proc.stdin else []
        try:
            code = proc.wait(timeout=TIMEOUT_S)
        finally:
            stop.set()
            with contextlib.suppress(ProcessLookupError):  # it may have ended by itself
                os.killpg(proc.pid, signal.SIGTERM)  # the session this block started
            proc.wait(timeout=10)
        out.seek(0)
        output = out.read()
        assert errors == [], f"the browser for README line {block.line}: {errors}\n{output}"
        return code, output


@pytest.mark.parametrize("block", RUN, ids=[b.name for b in RUN])
def test_block_runs(block: Block, workdir: Path, env: dict[str, str]) -> None:
    assert block.lang in ("python", "sh"), f"README line {block.line}: fence {block.lang!r}"
    runner = _run_python if block.lang == "python" else _run_sh
    code, output = runner(block, workdir, env)
    assert code == 0, f"README line {block.line} exited {code}:\n{block.body}\n---\n{output}"
    assert "Traceback" not in output, output
    for line, wanted in CLAIMS.items():
        if line in block.body:
            missing = [w for w in wanted if w not in output]
            assert missing == [], f"README line {block.line} claims {missing}; printed:\n{output}"


def test_every_claim_names_a_block() -> None:
    orphans = [line for line in CLAIMS if not any(line in b.body for b in RUN)]
    assert orphans == []


def test_every_fence_is_python_or_sh() -> None:
    assert BLOCKS, "no code blocks found in README.md"
    assert {b.lang for b in BLOCKS} <= {"python", "sh"}, [(b.name, b.lang) for b in BLOCKS]


def test_skipped_blocks_are_few_and_say_why() -> None:
    listed = "\n".join(f"  {b.name}: {b.skip}" for b in SKIPPED)
    print(
        f"README blocks: {len(BLOCKS)}; run: "
        f"{sum(b.lang == 'python' for b in RUN)} python, {sum(b.lang == 'sh' for b in RUN)} sh; "
        f"not run: {len(SKIPPED)}\n{listed}"
    )
    assert len(SKIPPED) <= MAX_SKIPPED, listed
    assert all(b.lang == "sh" for b in SKIPPED), listed  # python always runs
    assert all(b.skip for b in SKIPPED)


def test_serve_block_exports_the_names_the_blocks_get(
    workdir: Path, env: dict[str, str], org: dict[str, str]
) -> None:
    serve = [b for b in RUN if "fake-org serve" in b.body]
    assert len(serve) == 1, [b.name for b in serve]
    # As written, from a shell without SF_*, then one line listing what it exported.
    names = workdir / "sf-names.txt"
    listing = f"\ncompgen -e -X '!SF_*' | sort > {names}\n"
    block = attrs.evolve(serve[0], body=serve[0].body + listing)
    code, output = _run_sh(block, workdir, _without_sf(env))
    assert code == 0, output
    assert names.read_text(encoding="utf-8").split() == sorted(org)
    credentials = "INSTANCE_URL TOKEN_URL CLIENT_ID CLIENT_SECRET REFRESH_TOKEN USERNAME PASSWORD"
    names_exported = f"{credentials} SECURITY_TOKEN CA_FILE PUBSUB_URL".split()
    assert sorted(org) == sorted(f"SF_{k}" for k in names_exported)


def test_python_blocks_pass_mypy_strict_as_the_readme_claims(workdir: Path) -> None:
    python = [b for b in BLOCKS if b.lang == "python"]
    folder = workdir / "mypy"
    folder.mkdir(exist_ok=True)
    expected: dict[tuple[str, int], str] = {}
    files = []
    for block in python:
        name = f"readme_{block.name.replace('-', '_')}.py"
        (folder / name).write_text(block.body, encoding="utf-8")
        files.append(name)
        for n, text in enumerate(block.body.splitlines(), start=1):
            m = EXPECT_ERROR.search(text)
            if m:
                expected[(name, n)] = m["code"]
    (folder / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    run_env = {k: v for k, v in os.environ.items() if k != "MYPY_CACHE_DIR"}
    run_env["MYPYPATH"] = str(ROOT / "generated")
    # mypy's defaults already show error codes, one line per error, no context, no colour.
    command = ["mypy", "--strict", "--config-file", "mypy.ini", "--no-error-summary"]
    done = subprocess.run(
        [sys.executable, "-m", *command, "--cache-dir", str(folder / ".mypy_cache"), *files],
        cwd=folder,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    raw = done.stdout + done.stderr
    got: dict[tuple[str, int], set[str]] = {}
    for line in done.stdout.splitlines():
        m = MYPY_LINE.match(line)
        assert m is not None, f"unparsed mypy output {line!r}\n{raw}"
        if m["sev"] == "error":
            got.setdefault((m["file"], int(m["line"])), set()).add(m["code"] or "")
    assert done.returncode in (0, 1), raw  # 2: mypy itself could not run
    assert {k: {v} for k, v in expected.items()} == got, raw
