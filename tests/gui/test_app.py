"""Launch paths: the real entry point in a subprocess, first launch, settings, persistence."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path


from lfp_desktop.config import Settings, load_settings
from lfp_desktop.gui import window_state
from lfp_desktop.gui.jobs import ModelSpec
from lfp_desktop.gui.settings_dialog import SettingsDialog
from lfp_desktop.resources import resource
from tests.gui.helpers import start_window

def _demo_built() -> bool:
    try:
        return resource("demo", "generator.pt").is_file()
    except FileNotFoundError:
        return False


def test_entry_point_starts_and_quits(tmp_path):
    env = dict(os.environ, LFP_QUIT_AFTER_MS="1500", QT_QPA_PLATFORM="offscreen", LFP_HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, "-m", "lfp_desktop"], env=env, capture_output=True, text=True,
                          timeout=180, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "home" / "config" / "desktop.ini").is_file()  # the window saved its layout


def test_first_launch_opens_the_demo_or_says_why(qtbot, fast_settings):
    from lfp_desktop.config import save_settings
    from lfp_desktop.gui.app import create_window

    save_settings(fast_settings)
    window = create_window()
    qtbot.addWidget(window)
    window.show()
    window.commands.start()
    qtbot.waitUntil(lambda: window.inv.case is not None and window.hint.isVisible()
                    and "Preparing" not in window.hint.label.text(), timeout=120_000)
    if _demo_built():
        qtbot.waitUntil(lambda: len(window.inv.models) == 1, timeout=60_000)
        assert "Demo workspace open" in window.hint.label.text()
        assert window.commands.demo.evidence_dir.is_dir()
        assert window.inv.case.title == "Demo investigation"
    else:
        assert "could not be opened" in window.hint.label.text() and not window.inv.models
        assert window.hint.action.text() == "Open registry…"


def test_settings_dialog_refuses_invalid_values_inline(qtbot, tmp_path):
    dlg = SettingsDialog(Settings(), cuda_devices=0)
    qtbot.addWidget(dlg)
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    dlg.fpr.setText("two")
    assert not ok.isEnabled() and "not a number" in dlg.error.text()
    dlg.fpr.setText("1.5")
    assert not ok.isEnabled() and "between 0 and 1" in dlg.error.text()
    dlg.fpr.setText("1e-4")
    dlg.loss.setCurrentIndex(1)  # LPIPS needs its backbone file
    assert not ok.isEnabled() and "backbone" in dlg.error.text()
    backbone = tmp_path / "vgg.pth"
    backbone.write_bytes(b"weights")
    dlg.backbone.setText(str(backbone))
    dlg.device.setCurrentText("gpu0")
    assert not ok.isEnabled() and "device" in dlg.error.text()
    dlg.device.setCurrentText("cpu")
    dlg.starts.setValue(7)
    dlg.steps.setValue(345)
    assert dlg.jpeg.isChecked() and not dlg.jpeg.isEnabled()  # on by default; not with an LPIPS loss
    dlg.loss.setCurrentIndex(0)
    assert dlg.jpeg.isEnabled()
    dlg.jpeg.setChecked(False)
    dlg.loss.setCurrentIndex(1)
    dlg.early.setChecked(False)
    assert not dlg.jpeg.isEnabled()  # the reference procedure compares pixels
    assert dlg.blur.text() == "off"  # the default: no blur model
    dlg.blur.setValue(3)
    assert dlg.statistic.currentData() == "hamming"  # the default: the paper's Hamming distance
    dlg.statistic.setCurrentIndex(dlg.statistic.findData("weighted"))
    dlg.workers.setValue(2)
    dlg.per_job.setValue(3)
    assert ok.isEnabled() and dlg.error.text() == ""
    s = dlg.result_settings()
    assert (s.device, s.starts, s.steps, s.early_stopping, s.loss, s.target_fpr, s.workers, s.images_per_job) == (
        "cpu", 7, 345, False, "lpips-vgg", 1e-4, 2, 3)
    assert s.lpips_backbone == str(backbone) and s.blur_radius == 3 and s.statistic == "weighted"
    assert s.jpeg_model is False


def test_settings_layout_and_recent_files_survive_a_restart(qtbot, tiny_ws, fast_settings):
    spec = ModelSpec(tiny_ws.registry_path, tiny_ws.checkpoint_path)
    window = start_window(qtbot, fast_settings, [spec])
    window.commands.apply_settings(dataclasses.replace(window.settings, starts=3, target_fpr=1e-3))
    window.commands.add_paths([str(tiny_ws.evidence_dir / "plain_1.png")])
    window.resize(780, 600)  # within the offscreen screen (800×800)
    qtbot.waitUntil(lambda: window.size().width() == 780)
    window.findChild(type(window.findChildren(type(window.log.parent()))[0]), "logDock").hide()
    case_id = window.inv.case.case_id
    window.close()
    saved = load_settings()
    assert (saved.starts, saved.target_fpr) == (3, 1e-3)
    assert saved.recent_files[0].endswith("plain_1.png")
    assert window_state.saved_models() == [spec]
    again = start_window(qtbot, saved)
    assert (again.width(), again.height()) == (780, 600)
    assert not again.findChild(type(again.log.parent()), "logDock").isVisible()
    assert again.inv.case.case_id == case_id  # the last case is reopened
    assert [a.text() for a in again.recent_menu.actions()][0].endswith("plain_1.png")
    qtbot.waitUntil(lambda: len(again.inv.records) == 1, timeout=20_000)
