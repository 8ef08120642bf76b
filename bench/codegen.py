"""Codegen benchmark: generator speed against openapi-python-client, the import cost of one
model from the full v59 package, and records/s decoding real REST fixtures.

A script, not a test (STYLE 3.16): it prints figures, targets and ratios, then one JSON line,
and never fails on a figure; it stops only if our own generator or package cannot run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# `python bench/codegen.py` puts bench/ first on sys.path, where this file shadows the
# `codegen` package: move it last, so `codegen` is ours and `_peer_env` still resolves.
_BENCH = str(Path(__file__).resolve().parent)
sys.path.sort(key=lambda entry: str(Path(entry or ".").resolve()) == _BENCH)

import _peer_env  # noqa: E402

import codegen  # noqa: E402
import salesforce_typed_std as std  # noqa: E402
from codegen.pipeline import build, load_inputs  # noqa: E402
from salesforce_typed import Record, SObject  # noqa: E402
from salesforce_typed.core.fields import FieldInfo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "realdata"
SPEC = SHARED / "openapi" / "sobjects-oas3-v59.0.json"
FIXTURES = SHARED / "fixtures" / "rest"
PY = sys.executable
NPROC = len(os.sched_getaffinity(0))
IMPORT_RUNS = 21
DECODE_SECONDS = 2.0

# Targets from the brief, printed beside each figure.
TARGET_RATIO = 0.1
TARGET_IMPORT_MS = 50.0
TARGET_RECORDS_S = 50_000.0  # real fixtures, of every shape
TARGET_ACCOUNT_S = 150_000.0  # a populated 68-field Account (issue 12)


def _row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<48} {value:>14}  {note}".rstrip())


def _verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


# -- 1. generator wall time -------------------------------------------------------------------


def time_ours(runs: int = 3) -> tuple[list[float], int, Path]:
    """load_inputs + build in this process, `runs` times; keeps the last output for step 2."""
    times: list[float] = []
    keep = Path(tempfile.mkdtemp(prefix="bench-ours-"))
    written: list[str] = []
    for i in range(runs):
        out = keep if i == runs - 1 else Path(tempfile.mkdtemp(prefix="bench-ours-"))
        start = time.perf_counter()
        written = build(load_inputs(spec=SPEC), out=out, package="sf59")
        times.append(time.perf_counter() - start)
        if out != keep:
            shutil.rmtree(out)
    return times, len(written), keep


def section_generator() -> tuple[dict[str, Any], Path]:
    print(f"\n1. Generator wall time, {SPEC.name} ({SPEC.stat().st_size / 1e6:.1f} MB)")
    times, files, out = time_ours()
    best = min(times)
    runs = ", ".join(f"{t:.2f}" for t in times)
    _row("ours: load_inputs+build, in-process, best of 3", f"{best:.2f} s", f"runs {runs} s")
    _row("  files written", f"{files}")
    result: dict[str, Any] = {"ours_s": round(best, 3), "ours_runs_s": times, "ours_files": files}
    for hooks in (False, True):
        run = _peer_env.generate(SPEC, post_hooks=hooks)
        label = "peer + its ruff post-hooks" if hooks else "peer, generation only"
        key = "peer_hooks" if hooks else "peer"
        print(f"  $ {run.command}")
        if run.outcome == "ok":
            note = f"{run.py_files} .py files, {run.warnings} warnings {run.detail}".rstrip()
            _row(f"{label}, 1 run, subprocess", f"{run.seconds:.2f} s", note)
            ratio = best / run.seconds
            target = f"target <= {TARGET_RATIO:g}: {_verdict(ratio <= TARGET_RATIO)}"
            _row("  ratio ours/peer", f"{ratio:.3f}", f"1/{1 / ratio:.0f}, {target}")
            result[f"{key}_ratio"] = round(ratio, 4)
        else:
            _row(label, run.outcome, f"after {run.seconds:.1f} s: {run.detail}")
            result[f"{key}_ratio"] = None
        result[f"{key}_s"] = round(run.seconds, 3)
        result[f"{key}_outcome"] = run.outcome
        result[f"{key}_detail"] = run.detail
        result[f"{key}_command"] = run.command
    return result, out


# -- 2. import time of one model --------------------------------------------------------------


def _child_env(path: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(path), PYTHONDONTWRITEBYTECODE="1")


def _wall(code: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([PY, "-c", code], cwd=cwd, env=_child_env(cwd), check=True)
    return time.perf_counter() - start


def _importtime(code: str, cwd: Path, runs: int = 5) -> list[tuple[str, float]]:
    """Median self-time per module from `-X importtime`, largest first (ms)."""
    per_module: dict[str, list[float]] = {}
    for _ in range(runs):
        proc = subprocess.run(
            [PY, "-X", "importtime", "-c", code],
            cwd=cwd,
            env=_child_env(cwd),
            capture_output=True,
            text=True,
            check=True,
        )
        for line in proc.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[0].strip().isdigit():
                per_module.setdefault(parts[2].strip(), []).append(int(parts[0]) / 1000)
    medians = [(name, statistics.median(v)) for name, v in per_module.items()]
    return sorted(medians, key=lambda item: -item[1])


def section_import(generated: Path) -> dict[str, Any]:
    print(f"\n2. Import time of one model, fresh `{Path(PY).name} -c`, median of {IMPORT_RUNS}")
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        shutil.copytree(generated / "sf59", work / "sf59")
        shutil.copytree(
            ROOT / "salesforce_typed",
            work / "salesforce_typed",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        # Installed packages carry .pyc; PYTHONDONTWRITEBYTECODE is set here, so compile now.
        subprocess.run([PY, "-m", "compileall", "-q", str(work)], check=True)
        where = "import sf59, salesforce_typed; print(sf59.__file__, salesforce_typed.__file__)"
        found = subprocess.run(
            [PY, "-c", where], cwd=work, env=_child_env(work), capture_output=True, text=True
        ).stdout.split()
        if not all(p.startswith(str(work)) for p in found) or len(found) != 2:
            print(f"  WARNING: imports did not resolve to {work}: {found}")
        snippets = {
            "baseline": "pass",
            "model": "from sf59 import Account",
            "attrs": "import attrs",
        }
        samples: dict[str, list[float]] = {k: [] for k in snippets}
        for _ in range(IMPORT_RUNS):  # interleaved, so drift hits all three alike
            for key, code in snippets.items():
                samples[key].append(_wall(code, work))
        med = {k: statistics.median(v) * 1000 for k, v in samples.items()}
        model_ms = med["model"] - med["baseline"]
        attrs_ms = med["attrs"] - med["baseline"]
        modules = len(list((work / "sf59").glob("*.py")))
        _row("python -c pass (baseline)", f"{med['baseline']:.1f} ms")
        target = f"target <= {TARGET_IMPORT_MS:g} ms: {_verdict(model_ms <= TARGET_IMPORT_MS)}"
        _row(f"from sf59 import Account (of {modules} modules)", f"{model_ms:.1f} ms", target)
        _row("import attrs (for context)", f"{attrs_ms:.1f} ms")
        top = _importtime("from sf59 import Account", work)
        print("  top self-times, -X importtime (median of 5):")
        for name, ms in top[:8]:
            _row(f"    {name}", f"{ms:.2f} ms")
        return {
            "baseline_ms": round(med["baseline"], 2),
            "import_account_ms": round(model_ms, 2),
            "import_attrs_ms": round(attrs_ms, 2),
            "import_top_self_ms": {n: round(ms, 2) for n, ms in top[:8]},
        }
    finally:
        shutil.rmtree(work)


# -- 3. records/s -----------------------------------------------------------------------------


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for child in value.values():
            yield from _walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child)


def fixture_records() -> list[dict[str, Any]]:
    """Every record (a dict whose `attributes` has a `type`) in the JSON fixtures, nested too."""
    found: list[dict[str, Any]] = []
    for path in sorted(FIXTURES.rglob("*.json")):
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            continue
        for value in _walk(json.loads(text)):
            attributes = value.get("attributes") if isinstance(value, dict) else None
            if isinstance(attributes, dict) and "type" in attributes:
                found.append(value)
    return found


def model_for(record: dict[str, Any]) -> type[SObject]:
    found = getattr(std, str(record["attributes"]["type"]), None)
    return found if isinstance(found, type) and issubclass(found, SObject) else Record


_TEXT = {"id", "reference", "string", "textarea", "phone", "url", "email", "combobox"}


def _value(info: FieldInfo, i: int) -> Any:
    if info.type in ("id", "reference"):
        return f"001Dn00000{i:05d}AAA"[:18] if info.name == "Id" else "005Dn000001AbcdIAC"
    if info.type in _TEXT:
        return f"{info.label or info.name} {i}"[: info.length or 80]
    return {
        "boolean": i % 2 == 0,
        "datetime": "2024-01-01T00:00:00.000+0000",
        "date": "2024-01-01",
        "double": 37.7749295,
        "currency": 1250000.0,
        "int": 250 + i,
        "picklist": info.picklist_values[i % len(info.picklist_values)]
        if info.picklist_values
        else "Other",
        "address": {
            "street": "1 Market St",
            "city": "San Francisco",
            "state": "CA",
            "postalCode": "94105",
            "country": "USA",
            "latitude": 37.7749295,
            "longitude": -122.4194155,
            "geocodeAccuracy": "Address",
        },
    }.get(info.type, f"value {i}")


def account_fields() -> tuple[list[FieldInfo], list[FieldInfo]]:
    """Account_describe.json's 68 fields: those std.Account declares, then the rest (extras)."""
    typed = list(std.Account.__sf_fields__)
    known = {info.name for info in typed}
    describe = json.loads((FIXTURES / "cumulusci/describe/Account_describe.json").read_bytes())
    extra = [
        FieldInfo(
            name=f["name"],
            type=f["type"],
            label=f["label"],
            length=f.get("length") or 0,
            picklist_values=tuple(v["value"] for v in f.get("picklistValues") or ()),
        )
        for f in describe["fields"]
        if f["name"] not in known
    ]
    return typed, extra


def synthetic_accounts(infos: list[FieldInfo], n: int = 200) -> list[dict[str, Any]]:
    """`n` Accounts with every field in `infos` set to a typical REST value."""
    out = []
    for i in range(n):
        record: dict[str, Any] = {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v59.0/sobjects/Account/001Dn00000{i:05d}AAA",
            }
        }
        record.update({info.name: _value(info, i) for info in infos})
        out.append(record)
    return out


def _rate(fn: Callable[[], int]) -> tuple[float, float, float]:
    """Items/s over repeated passes of `fn` (which returns items done) for >= DECODE_SECONDS:
    per wall second, per CPU second of this process (what a shared machine's other work
    does not take away) and in the fastest pass."""
    fn()  # warm: builds the per-class decode plans
    fn()  # a key order's second sighting compiles its decoder
    done, best = 0, 0.0
    start, cpu = time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < DECODE_SECONDS:
        began = time.perf_counter()
        n = fn()
        best = max(best, n / (time.perf_counter() - began))
        done += n
    return done / elapsed, done / (time.process_time() - cpu), best


def _measure(name: str, records: list[dict[str, Any]], goal: float) -> dict[str, Any]:
    pairs = [(model_for(r), r) for r in records]
    failures: Counter[str] = Counter()
    ok: list[tuple[type[SObject], dict[str, Any]]] = []
    mismatches = 0
    for cls, record in pairs:
        try:
            mismatches += cls.from_dict(record).to_dict() != record
            ok.append((cls, record))
        except Exception as exc:
            failures[f"{cls.__name__}: {type(exc).__name__}: {exc}"] += 1
    typed = sum(1 for cls, _ in ok if cls is not Record)
    kinds = Counter(f"{r['attributes']['type']}->{cls.__name__}" for cls, r in pairs)
    _row(f"{name}: records", f"{len(pairs)}", ", ".join(f"{n} {k}" for k, n in kinds.items()))
    for what, count in failures.most_common():
        _row("  FAILED to decode", f"{count}", what[:110])
    result: dict[str, Any] = {"records": len(pairs), "failed": sum(failures.values())}
    result["typed_ok"], result["round_trip_mismatches"] = typed, mismatches
    if mismatches:
        _row("  round trip to_dict(from_dict(r)) != r", f"{mismatches}")
    if not ok:
        result["decode_per_s"] = result["encode_per_s"] = None
        return result
    objects = [cls.from_dict(r) for cls, r in ok]
    wall, decode, best = _rate(lambda: len([cls.from_dict(r) for cls, r in ok]))
    encode_wall, encode, encode_best = _rate(lambda: len([o.to_dict() for o in objects]))
    scope = "" if not failures else f" (only the {len(ok)} that decode)"
    target = f"target >= {goal:,.0f}/s: {_verdict(decode >= goal)}"
    _row(f"  decode from_dict{scope}, per CPU second", f"{decode:,.0f} rec/s", target)
    _row("    per wall second; fastest pass", f"{wall:,.0f} rec/s", f"{best:,.0f} rec/s")
    _row(f"  encode to_dict{scope}, per CPU second", f"{encode:,.0f} rec/s")
    _row(
        "    per wall second; fastest pass",
        f"{encode_wall:,.0f} rec/s",
        f"{encode_best:,.0f} rec/s",
    )
    result["decode_per_s"], result["encode_per_s"] = round(decode), round(encode)
    result["decode_per_wall_s"], result["decode_best_pass_per_s"] = round(wall), round(best)
    result["encode_per_wall_s"], result["encode_best_pass_per_s"] = (
        round(encode_wall),
        round(encode_best),
    )
    return result


def section_records() -> dict[str, Any]:
    print(f"\n3. Records/s, passes repeated for >= {DECODE_SECONDS:g} s, one core")
    real = _measure("real fixtures", fixture_records(), TARGET_RECORDS_S)
    typed, extra = account_fields()
    label = f"Account, {len(typed) + len(extra)} fields ({len(extra)} extra)"
    synthetic = _measure(label, synthetic_accounts(typed + extra), TARGET_ACCOUNT_S)
    return {"fixtures": real, "synthetic_account": synthetic}


def main() -> int:
    began = time.perf_counter()
    peer_version = _peer_env.ensure_venv()
    print("codegen benchmark (bench/codegen.py)")
    _row("machine", f"nproc {NPROC}", f"{platform.machine()}, {platform.system()}")
    _row("python", platform.python_version(), PY)
    _row("salesforce-typed codegen", codegen.__version__)
    _row("openapi-python-client", peer_version, f"in {_peer_env.VENV.name}/")
    gen, out = section_generator()
    try:
        imp = section_import(out)
    finally:
        shutil.rmtree(out)
    rec = section_records()
    total = time.perf_counter() - began
    print(f"\ntotal bench time {total:.0f} s")
    summary = {
        "bench": "codegen",
        "nproc": NPROC,
        "python": platform.python_version(),
        "codegen": codegen.__version__,
        "openapi_python_client": peer_version,
        "generator": gen,
        "import": imp,
        "records": rec,
        "total_s": round(total, 1),
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
