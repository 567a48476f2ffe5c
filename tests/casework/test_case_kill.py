"""A process killed with SIGKILL while writing results leaves a case that opens, verifies, and
holds each result whole (row, custody entry, attachments) or not at all."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from lfp_desktop.casework import CaseStore

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import os, sys
from lfp_desktop.casework import CaseStore

case = CaseStore(sys.argv[1]).open_case(sys.argv[2])
n = 0
while True:
    blob = os.urandom(300_000)
    case.store_result(1, {"verdict": "ATTRIBUTED", "user_id": n, "curve": list(range(2000))},
                      "worker", attachments={"loss_curves.npy": blob, "reconstruction.png": blob[:5000]})
    n += 1
    if n == 2:
        print("writing", flush=True)
"""

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def kill_while_writing(root: Path, case_id: str, delay: float) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root), case_id], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("writing"), proc.stderr.read()  # type: ignore[union-attr]
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_results_written_when_killed_are_whole_or_absent(tmp_path: Path) -> None:
    store = CaseStore(tmp_path / "cases")
    evidence = tmp_path / "e.png"
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    evidence.write_bytes(buf.getvalue())
    with store.new_case("kill test", "ana") as case:
        case.add_evidence(evidence, "ana")
        case_id = case.id
    counts = []
    for delay in (0.0, 0.13, 0.37):
        kill_while_writing(store.root, case_id, delay)
        with store.open_case(case_id) as case:
            assert case.verify() == []  # every row has its entry and intact attachments, and vice versa
            results = case.results(1)
            stored = [e for e in case.custody(1) if e.action == "result_stored"]
            assert [r.id for r in results] == [e.details["result_id"] for e in stored]
            assert all(set(r.attachments) == {"loss_curves.npy", "reconstruction.png"} for r in results)
            counts.append(len(results))
    assert counts == sorted(counts) and counts[0] >= 2
