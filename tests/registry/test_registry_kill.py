"""A registry import killed with SIGKILL leaves a registry that opens, verifies, and holds all
of the import or none of it."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lfp_desktop.registry import Registry
from lfp_desktop.registry.keys import issue_keys, key_to_string

REPO = Path(__file__).resolve().parents[2]
USERS = 100_000

IMPORTER = """
import sys, time
from lfp_desktop.registry import Registry

def progress(done, total):
    print("progress", done, total, flush=True)
    if done >= total // 2:
        time.sleep(60)  # hold the transaction open half-way through the rows

reg = Registry.open(sys.argv[1])
pause = sys.argv[3] == "mid"
reg.import_file(sys.argv[2], "importer", progress=progress if pause else None)
print("committed", flush=True)
time.sleep(60)
"""

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys = issue_keys(USERS, np.zeros((0, 8), np.uint8), 64, 8, np.random.default_rng(7))
    path = tmp_path_factory.mktemp("import") / "users.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "key"])
        writer.writerows([f"imported-{i:06d}", key_to_string(k, 64)] for i, k in enumerate(keys))
    return path


def run_and_kill(registry: Path, source: Path, when: str, wait_for: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", IMPORTER, str(registry), str(source), when],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith(wait_for) and (wait_for != "progress" or int(line.split()[1]) >= USERS // 2):
                break
        else:
            pytest.fail(f"the importer ended early: {proc.stderr.read()}")  # type: ignore[union-attr]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def make_registry(path: Path) -> tuple[int, str, tuple[int, str]]:
    with Registry.create(path, scheme_bytes=b"scheme", scheme_name="s", key_len=64, actor="ops") as reg:
        reg.enroll_many(["before-1", "before-2"], actor="ops")
        return reg.count(), reg.digest(), reg.head()


def test_killed_half_way_leaves_none_of_the_import(tmp_path: Path, big_csv: Path) -> None:
    path = tmp_path / "r.lfpreg"
    before = make_registry(path)
    run_and_kill(path, big_csv, "mid", "progress")
    with Registry.open(path) as reg:
        assert reg.verify() == []
        assert (reg.count(), reg.digest(), reg.head()) == before
        assert reg.enroll("after", actor="ops").id == 3  # and it is usable


def test_killed_after_commit_keeps_all_of_the_import(tmp_path: Path, big_csv: Path) -> None:
    path = tmp_path / "r.lfpreg"
    make_registry(path)
    run_and_kill(path, big_csv, "end", "committed")
    with Registry.open(path, readonly=True) as reg:
        assert reg.verify() == []
        assert reg.count() == USERS + 2
        assert reg.audit_log()[-1].action == "imported"
        assert reg.user(USERS + 2).name == f"imported-{USERS - 1:06d}"
