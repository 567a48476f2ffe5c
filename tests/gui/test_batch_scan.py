"""Batch folder scan: counts, summary, CSV, resume by hash, type filter, cancel."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from PIL import Image

from lfp_desktop.gui.batch_scan_dialog import BatchScanDialog, parse_types
from lfp_desktop.gui.jobs import ModelSpec
from tests.gui.helpers import start_window
from tests.gui.workspace import write_corrupt_png


@pytest.fixture
def scan_folder(tiny_ws, tmp_path):
    folder = tmp_path / "seized"
    shutil.copytree(tiny_ws.evidence_dir, folder / "sub")  # only found when recursing
    mirrored = np.asarray(Image.open(tiny_ws.evidence_dir / "plain_1.png"))[:, ::-1]
    Image.fromarray(np.ascontiguousarray(mirrored)).save(folder / "top.png")  # new bytes, new hash
    write_corrupt_png(folder / "sub" / "broken.png")
    (folder / "notes.txt").write_text("not evidence")  # filtered out by type
    return folder


def test_parse_types():
    assert parse_types("*.PNG, jpg;.tif") == (".png", ".jpg", ".tif")
    assert ".png" in parse_types("  ")


def test_scan_counts_summary_csv_and_resume(qtbot, tiny_ws, fast_settings, scan_folder, tmp_path):
    window = start_window(qtbot, fast_settings, [ModelSpec(tiny_ws.registry_path, tiny_ws.checkpoint_path)])
    dlg = BatchScanDialog(window.inv, str(scan_folder), window)
    qtbot.addWidget(dlg)
    dlg.start_scan()
    qtbot.waitUntil(lambda: dlg.session.is_done(), timeout=60_000)
    s = dlg.session
    assert s.counts() == {"analysed": 5, "error": 1}  # 4 + 1 images, the corrupt one refused, notes.txt skipped
    summary = s.summary()
    assert summary.total == 6 and summary.errors == 1
    verdicts = [window.inv.records[k].headline().verdict for k in s.keys if window.inv.records[k].outcomes]
    assert sum(summary.per_user.values()) == verdicts.count("ATTRIBUTED")
    assert summary.inconclusive == verdicts.count("INCONCLUSIVE")
    assert summary.no_match == verdicts.count("NO MATCH")
    assert dlg.table_model.rowCount() == 6 and "1 error" in dlg.progress_label.text()
    out = s.write_csv(tmp_path / "scan.csv")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 6 and {r["state"] for r in rows} == {"analysed", "error"}
    assert all(r["sha256"] for r in rows if r["state"] == "analysed")
    # Scanning again resumes: every analysed file is found by its hash and skipped.
    dlg.start_scan()
    qtbot.waitUntil(lambda: dlg.session.is_done(), timeout=30_000)
    assert dlg.session.counts() == {"skipped": 5, "error": 1}
    assert "5 file(s) had been analysed before" in dlg.summary_label.text()


def test_scan_without_subfolders_and_cancel(qtbot, tiny_ws, fast_settings, scan_folder):
    import dataclasses

    slow = dataclasses.replace(fast_settings, steps=100_000, images_per_job=1)
    window = start_window(qtbot, slow, [ModelSpec(tiny_ws.registry_path, tiny_ws.checkpoint_path)])
    shutil.copy(tiny_ws.evidence_dir / "alice.adams_1.png", scan_folder / "second.png")
    dlg = BatchScanDialog(window.inv, str(scan_folder), window)
    qtbot.addWidget(dlg)
    dlg.recursive.setChecked(False)
    dlg.start_scan()
    qtbot.waitUntil(lambda: dlg.session.intake_finished and dlg.session.counts()["running"] == 1, timeout=30_000)
    assert len(dlg.session.keys) == 2  # top.png and second.png only
    dlg.cancel_scan()
    qtbot.waitUntil(lambda: dlg.session.is_done(), timeout=20_000)
    assert dlg.session.counts() == {"cancelled": 2}
    assert dlg.start_button.text() == "Resume scan"
