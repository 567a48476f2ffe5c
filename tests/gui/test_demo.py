"""The bundled demo through the window: first launch, a dropped demo image names its user, and a
batch scan of the demo evidence agrees with the ground-truth manifest. Needs the trained demo
model in resources/demo; a full scan takes minutes on a CPU, hence ``slow``."""

from __future__ import annotations

from collections import Counter

import pytest

from lfp_desktop.config import Settings, save_settings
from lfp_desktop.resources import resource
from tests.gui.helpers import drop_paths, record_by_name, wait_all_final


def _demo_built() -> bool:
    try:
        return resource("demo", "generator.pt").is_file() and resource("demo", "scheme.npz").is_file()
    except FileNotFoundError:
        return False


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _demo_built(), reason="the demo model (resources/demo) is not built")]


@pytest.fixture
def demo_window(qtbot):
    from lfp_desktop.gui.app import create_window

    save_settings(Settings())  # what a new user gets: 20 starts, up to 2000 steps, early stopping
    window = create_window()
    qtbot.addWidget(window)
    window.show()
    window.commands.start()
    qtbot.waitUntil(lambda: window.inv.case is not None and len(window.inv.models) == 1, timeout=180_000)
    assert "Demo workspace open" in window.hint.label.text()
    return window


def test_dropped_demo_image_names_its_user(qtbot, demo_window):
    ws = demo_window.commands.demo
    entry = next(e for e in ws.manifest() if e["kind"] == "fingerprinted" and e["postprocess"] == "none")
    drop_paths(demo_window, [ws.evidence_dir / entry["file"]])
    wait_all_final(qtbot, demo_window, 1, timeout=600_000)
    best = record_by_name(demo_window, entry["file"]).headline()
    assert (best.verdict, best.user_name) == ("ATTRIBUTED", entry["user_name"])
    assert demo_window.result.banner.text() == f"ATTRIBUTED: {entry['user_name']}"


def test_batch_scan_of_the_demo_evidence_matches_the_manifest(qtbot, demo_window):
    from lfp_desktop.gui.batch_scan_dialog import BatchScanDialog

    ws = demo_window.commands.demo
    manifest = {e["file"]: e for e in ws.manifest()}
    dlg = BatchScanDialog(demo_window.inv, str(ws.evidence_dir), demo_window)
    qtbot.addWidget(dlg)
    dlg.start_scan()
    qtbot.waitUntil(lambda: dlg.session.is_done(), timeout=1_800_000)
    summary = dlg.session.summary()
    assert summary.total == len(manifest) and summary.errors == 0  # manifest.json is filtered out by type
    attributed = Counter()
    for row in dlg.session.rows():
        truth = manifest[row["file"].replace("\\", "/").rsplit("/", 1)[-1]]
        if row["verdict"] == "ATTRIBUTED":
            assert row["user"] == truth["user_name"], row  # never a wrong or invented user
            attributed[row["user"]] += 1
        if truth["kind"] == "fingerprinted" and truth["postprocess"] == "none":
            assert (row["verdict"], row["user"]) == ("ATTRIBUTED", truth["user_name"]), row
    assert summary.per_user == attributed
