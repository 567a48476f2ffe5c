"""The batch scan dialog's "Run on" choice: a Ray cluster at a remembered address, or, without
Ray installed, a note saying how to get it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from lfp_desktop.config import Settings
from lfp_desktop.errors import LFPError
from lfp_desktop.gui import window_state
from lfp_desktop.gui.batch_scan_dialog import BatchScanDialog
from lfp_desktop.gui.investigation import Investigation
from lfp_desktop.gui.jobs import ModelSpec
from lfp_desktop.scan.cluster import import_ray
from tests.cluster.conftest import DAMAGED
from tests.gui.helpers import start_window


def test_without_ray_the_cluster_option_says_how_to_get_it(qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    inv = Investigation("ana", Settings(device="cpu"))
    try:
        dlg = BatchScanDialog(inv, "")
        qtbot.addWidget(dlg)
        assert dlg.run_here.isChecked() and not dlg.run_ray.isEnabled() and not dlg.ray_address.isEnabled()
        assert 'pip install "lfp-desktop[cluster]"' in dlg.ray_note.text()
        with pytest.raises(LFPError, match=r'needs Ray.*pip install "lfp-desktop\[cluster\]"'):
            import_ray()
    finally:
        inv.shutdown()


def test_dialog_scans_on_a_ray_cluster_into_the_open_case(qtbot, ray_instance, demo, tmp_path):
    settings = Settings(device="cpu", starts=2, steps=30, early_stopping=False, images_per_job=2)
    window = start_window(qtbot, settings, [ModelSpec(demo.registry_path, demo.checkpoint_path)])
    folder = tmp_path / "uploads"
    folder.mkdir()
    shutil.copy(demo.evidence_dir / "picture_3.png", folder / "picture_3.png")
    (folder / DAMAGED).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3)
    dlg = BatchScanDialog(window.inv, str(folder), window)
    qtbot.addWidget(dlg)
    assert dlg.run_ray.isEnabled()
    dlg.run_ray.setChecked(True)
    dlg.ray_address.setText("local")  # this program is already connected: that Ray is used
    dlg.start_scan()
    qtbot.waitUntil(lambda: dlg.session.is_done(), timeout=180_000)
    s = dlg.session
    assert s.error == "" and s.counts() == {"analysed": 1, "error": 1}
    assert "on Ray cluster (local)" in dlg.progress_label.text() and dlg.table_model.rowCount() == 2
    rows = {Path(str(r["file"])).name: r for r in s.rows()}
    assert rows["picture_3.png"]["verdict"] in ("NO MATCH", "INCONCLUSIVE") and rows[DAMAGED]["state"] == "error"
    assert "Errors 1" in dlg.summary_label.text() and dlg.start_button.text() == "Scan again"
    assert window_state.value("scan/ray_address") == "local"
    # The main window reloads the case and shows the result the cluster stored.
    qtbot.waitUntil(lambda: any(r.file_name == "picture_3.png" and r.outcomes for r in window.inv.records.values()),
                    timeout=30_000)
    rec = next(r for r in window.inv.records.values() if r.file_name == "picture_3.png")
    assert rec.headline().verdict == rows["picture_3.png"]["verdict"]
