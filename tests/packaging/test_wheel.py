"""The built wheel, installed as a user installs it, in fresh virtual environments.

- `pip install salesforce-typed` (no extras) gives the client and the models: they import,
  and nothing of the CLI, the generator or the fake org comes with them; a command whose
  extra is missing exits 2 naming `pip install 'salesforce-typed[<extra>]'`.
- The generator installs as `salesforce_typed_codegen`: a user's own `codegen/` folder in the
  working directory cannot shadow it (`python -m salesforce_typed generate` from there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DESCRIBES = REPO.parent / "shared" / "realdata" / "fixtures" / "rest" / "cumulusci" / "describe"
EXTRA_MODULES = ("typer", "rich", "click", "jinja2", "uvicorn", "httptools")


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(NO_COLOR="1", TERM="dumb", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    ok(run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", REPO, "-w", out))
    (found,) = out.glob("salesforce_typed-*.whl")
    return found


def venv(root: Path) -> Path:
    ok(run(sys.executable, "-m", "venv", root))
    return root / "bin"


@pytest.fixture(scope="module")
def client_only(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """`pip install salesforce-typed`: the wheel and its core dependencies only."""
    bin_dir = venv(tmp_path_factory.mktemp("clientonly") / "venv")
    ok(run(bin_dir / "pip", "install", "-q", wheel))
    return bin_dir


def test_the_wheel_holds_the_generator_under_its_own_name(wheel: Path) -> None:
    import zipfile

    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert "codegen" not in tops
    assert {"salesforce_typed", "salesforce_typed_std", "salesforce_typed_codegen"} <= tops


def test_a_client_only_install_imports_the_client_and_models(client_only: Path) -> None:
    code = (
        "import sys, salesforce_typed\n"
        "from salesforce_typed import Salesforce, AsyncSalesforce, RefreshTokenGrant\n"
        "from salesforce_typed_std import Account\n"
        "assert Account(Name='Acme').to_create_payload() == {'Name': 'Acme'}\n"
        f"print(sorted(m for m in {EXTRA_MODULES!r} if m in sys.modules))\n"
    )
    assert ok(run(client_only / "python", "-c", code)).strip() == "[]"
    listed = ok(run(client_only / "pip", "list", "--format=freeze"))
    installed = {line.split("==")[0].lower() for line in listed.split()}
    assert not installed & set(EXTRA_MODULES), installed


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["bulk", "load", "Account", "x.csv"], "cli"),
        (["fake-org", "serve"], "cli"),
        (["generate", "--out", "o", "--package", "p"], "cli"),
    ],
)
def test_a_command_without_its_extra_names_it(
    client_only: Path, args: list[str], extra: str
) -> None:
    result = run(client_only / "salesforce-typed", *args)
    assert result.returncode == 2
    assert f"pip install 'salesforce-typed[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr
    version = ok(run(client_only / "salesforce-typed", "--version"))
    assert version.startswith("salesforce-typed ")


def test_a_users_codegen_folder_does_not_shadow_the_generator(tmp_path: Path, wheel: Path) -> None:
    # The wheel without dependencies; this test environment's packages supply them.
    bin_dir = venv(tmp_path / "venv")
    ok(run(bin_dir / "pip", "install", "-q", "--no-deps", wheel))
    site = Path(
        ok(
            run(bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
        ).strip()
    )
    (site / "zz_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = tmp_path / "project"
    (work / "codegen").mkdir(parents=True)
    (work / "codegen" / "__init__.py").write_text("raise SystemExit('the user codegen/ ran')\n")
    (work / "desc").mkdir()
    for name in ("Account_describe.json", "describeGlobal.json"):
        (work / "desc" / name).symlink_to(DESCRIBES / name)
    for command in (
        [bin_dir / "python", "-m", "salesforce_typed"],
        [bin_dir / "salesforce-typed"],
    ):
        result = run(
            *command,
            "generate",
            "--from-describe",
            "desc",
            "--out",
            "build",
            "--package",
            "acme_sf",
            cwd=work,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "wrote acme_sf" in result.stderr
    where = ok(
        run(bin_dir / "python", "-c", "import salesforce_typed_codegen as c; print(c.__file__)")
    )
    assert where.startswith(str(site)), where
