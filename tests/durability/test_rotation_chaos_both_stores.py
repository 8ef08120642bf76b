"""Rotation chaos on Redis and on PostgreSQL, in every `make test` run (issue 10, "Tests").

N replica processes share one refresh token under a session timeout of 0.3 s, so they refresh
all the time; rationed self-SIGKILLs hit right after a replica takes the refresh lock and right
after it stores a rotated token (the two points where a dead process leaves the lock held),
and the parent starts a replacement on the dead replica's journal. Until the store has seen M
rotations: no `invalid_grant`, no revoked family, exactly one token call per stored rotation
(a second call for one rotation would be a refresh with a rotated-out token), and the store
ends on the family's current refresh token.

(A kill between the token response and the store write is scenario (e) of
test_family_survives_faults.py: it needs the restarted replica's journal, not chaos.)

Sizes are bounded for CI; raise them for a soak run: SFT_DURABILITY_ROTATIONS (30),
SFT_DURABILITY_REPLICAS (4), SFT_DURABILITY_KILLS (2).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from durability_harness import Run, report, wait_for

ROTATIONS = int(os.environ.get("SFT_DURABILITY_ROTATIONS", "30"))
REPLICAS = int(os.environ.get("SFT_DURABILITY_REPLICAS", "4"))
KILLS = int(os.environ.get("SFT_DURABILITY_KILLS", "2"))
SESSION_S = 0.3


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_rotation_chaos_one_token_call_per_rotation(kind: str, tmp_path: Path) -> None:
    run = Run(kind, tmp_path)
    try:
        run.org.state.config.session_timeout = SESSION_S
        cfg: dict[str, Any] = {
            "session_timeout_s": SESSION_S,
            "lock_ttl_s": 2.0,
            "chaos": True,
            "max_kills": KILLS,
            "kill_rate": 0.1,
        }
        slots = {f"r{n}": f"r{n}" for n in range(REPLICAS)}  # owner -> journal (its slot)
        for owner in list(slots):
            run.spawn(owner, **cfg)
        replaced: set[str] = set()

        def progressed() -> bool:
            for owner, proc in list(run.procs.items()):
                if proc.exitcode == -signal.SIGKILL and owner not in replaced:
                    replaced.add(owner)  # a pod restarted on the same volume
                    successor = f"{owner}+"
                    slots[successor] = slots[owner]
                    run.spawn(successor, journal=slots[owner], **cfg)
            assert not run.invalid_grants(), run.invalid_grants()
            assert run.revocations() == 0, "the token family was revoked"
            stored = run.stored()
            return stored is not None and stored.version >= ROTATIONS

        wait_for(progressed, f"{ROTATIONS} rotations", 120.0)
        live = [o for o, p in run.procs.items() if p.is_alive()]
        figures = run.finish(live)
        kills = sorted(p.read_text() for p in tmp_path.glob("kill-*"))
        # One token call per rotation: every call produced exactly one stored version.
        assert figures["token_calls"] == figures["store_version"], (figures, kills)
        figures["kills"] = ",".join(kills) or "none"
        figures["replicas_started"] = len(run.procs)
        report("rotation-chaos", kind, figures)
    finally:
        run.close()
        run.drop_namespace()
