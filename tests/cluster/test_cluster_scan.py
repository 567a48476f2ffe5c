"""Scans on a local Ray instance (2 CPUs): cancelled, resumed with a worker killed mid-scan,
and checked against the demo's ground-truth manifest and against an in-process scan.

Settings are cheap (2 starts × 150 steps); the manifest is checked where they suffice: a
clean fingerprinted image decodes to within a few bits of its user's key and is attributed
to that user, and no image without a fingerprint is attributed to anyone. Cluster and
in-process scans are compared verdict by verdict at equal settings and seeds.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.cluster.conftest import COPY, DAMAGED, FILES, cheap_options

ray = pytest.importorskip("ray")

from lfp_desktop.casework.case import Case  # noqa: E402
from lfp_desktop.scan import open_scan_case, run_scan  # noqa: E402
from lfp_desktop.scan.cluster import RayExecutor  # noqa: E402


def by_file(report) -> dict[str, object]:  # noqa: ANN001
    return {Path(it.shown).name if "zz_copies" not in it.shown else COPY: it for it in report.items}


def stored_results(folder: Path) -> dict[str, list]:
    """Evidence SHA-256 -> the results stored for it."""
    with Case.open(folder, readonly=True) as case:
        assert case.verify() == []
        sha = {it.id: it.sha256 for it in case.items()}
        out: dict[str, list] = {s: [] for s in sha.values()}
        for r in case.results():
            out[sha[r.item_id]].append(r)
        return out


def bits(result) -> np.ndarray:  # noqa: ANN001
    return np.frombuffer(result.result["bits"].encode(), np.uint8) - ord("0")


def test_in_process_scan_matches_the_manifest(local_report, demo):
    rows = by_file(local_report)
    truth = {e["file"]: e for e in demo.manifest()}
    assert rows[DAMAGED].state == "error" and "damaged or truncated" in rows[DAMAGED].error
    assert [rows[f].state for f in FILES] == ["analysed"] * len(FILES)
    assert rows[COPY].state == "skipped" and rows[COPY].sha256 == rows[FILES[1]].sha256  # same bytes, one analysis
    for name in FILES:
        row, entry = rows[name], truth[name]
        if entry["kind"] == "fingerprinted":
            assert (row.verdict, row.user_name) == ("ATTRIBUTED", entry["user_name"])
        else:
            assert row.verdict != "ATTRIBUTED", name
    results = stored_results(local_report.case_folder)
    kofi = results[rows[FILES[0]].sha256][0]
    true_key = np.frombuffer(truth[FILES[0]]["key"].encode(), np.uint8) - ord("0")
    assert np.sum(bits(kofi) != true_key) <= 6  # chance would leave about half of 48 bits wrong
    assert local_report.progress.line().startswith(f"{len(FILES) + 2}/{len(FILES) + 2} files")


def test_cluster_scan_cancels_resumes_survives_a_killed_worker_and_matches(ray_instance, model, evidence,
                                                                            local_report, tmp_path):
    with RayExecutor(model) as ex, open_scan_case(str(tmp_path / "cluster-scan"), analyst="ana") as case:
        assert len(ex.workers()) == 2 and {w.device for w in ex.workers()} == {"cpu"}
        first = cancelled_after_first_result(ex, case, model, evidence)
        second, killed = resumed_with_a_worker_killed(ex, case, model, evidence)
        alive = [w.pid for w in ex.workers()]
    done_before = {it.item_id for it in first.items if it.state == "analysed"}
    assert 1 <= len(done_before) < len(FILES)
    assert not second.cancelled and second.progress.retried >= 1 and killed.pid not in alive
    assert all(it.worker != killed.name for it in second.items)  # its batch was finished elsewhere
    states = {f: it.state for f, it in by_file(second).items()}
    assert states[DAMAGED] == "error"
    for name in FILES:
        expected = "skipped" if by_file(second)[name].item_id in done_before else "analysed"
        assert states[name] == expected, name
    results = stored_results(second.case_folder)
    assert sorted(len(r) for r in results.values()) == [1] * len(FILES)  # nothing analysed twice
    local, remote = by_file(local_report), by_file(second)
    local_results = stored_results(local_report.case_folder)
    for name in FILES + (COPY,):
        a, b = local[name], remote[name]
        assert (a.verdict, a.user_name if a.verdict != "NO MATCH" else None) == \
            (b.verdict, b.user_name if b.verdict != "NO MATCH" else None), name
        # Batches of other sizes round the last float digits differently; the key stays put.
        assert np.sum(bits(local_results[a.sha256][0]) != bits(results[b.sha256][0])) <= 2, name


def cancelled_after_first_result(ex, case, model, evidence):  # noqa: ANN001, ANN201
    cancel = threading.Event()

    def on_item(item) -> None:  # noqa: ANN001
        if item.state == "analysed":
            cancel.set()

    report = run_scan([evidence], case=case, model=model, executor=ex, options=cheap_options(1), actor="ana",
                      cancel=cancel, on_item=on_item)
    assert report.cancelled
    assert case.verify() == []
    custody = [e.action for e in case.custody()]
    assert custody[-1] == "scan_cancelled" and custody.count("result_stored") == Counter(
        it.state for it in report.items)["analysed"]
    return report


def resumed_with_a_worker_killed(ex, case, model, evidence):  # noqa: ANN001, ANN201
    """Kill a worker once two batches are out (each worker then holds one, still running)."""
    queued, killed = [], []

    def on_item(item) -> None:  # noqa: ANN001
        if item.state == "queued":
            queued.append(item)
            if len(queued) == 3 and not killed:
                killed.append(ex.workers()[0])
                os.kill(killed[0].pid, signal.SIGKILL)

    report = run_scan([evidence], case=case, model=model, executor=ex, options=cheap_options(1), actor="ana",
                      on_item=on_item)
    assert killed, "fewer than three files were left to analyse"
    assert [e.action for e in case.custody()][-1] == "scan_finished"
    return report, killed[0]
