"""The investigation window end to end, on a tiny real generator, registry and case store."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from lfp_desktop.cli import main as lfp_main
from lfp_desktop.gui.jobs import ModelSpec
from lfp_desktop.registry import Registry
from tests.gui.helpers import drop_paths, record_by_name, start_window, wait_all_final
from tests.gui.workspace import write_corrupt_png


def points(item) -> int:  # noqa: ANN001 - PlotDataItem
    x = item.getData()[0]
    return 0 if x is None else len(x)


@pytest.fixture
def window(qtbot, tiny_ws, fast_settings):
    return start_window(qtbot, fast_settings, [ModelSpec(tiny_ws.registry_path, tiny_ws.checkpoint_path)])


def test_launch_shows_devices_models_and_case(window):
    info = next(iter(window.inv.models.values()))
    assert (info.size, info.key_len, info.n_users) == (16, 16, 6)
    assert window.inv.pool.devices == ["cpu"]
    assert "tiny.lfpreg" in window.status.registry_label.text()
    assert "tiny.pt" in window.status.checkpoint_label.text()
    assert window.inv.case.case_id in window.status.case_label.text()


def test_drop_corrupt_and_good_files(qtbot, window, tiny_ws, tmp_path):
    broken = write_corrupt_png(tmp_path / "broken.png")
    good = tiny_ws.evidence_dir / "alice.adams_1.png"
    drop_paths(window, [broken, good])
    wait_all_final(qtbot, window, 2)
    bad = record_by_name(window, "broken.png")
    assert bad.overall_status() == "error" and "damaged or truncated" in bad.error
    row = window.evidence.model.row_of(bad.key)
    assert "damaged or truncated" in window.evidence.model.index(row, 3).data()  # the reason, inline on the row
    done = record_by_name(window, "alice.adams_1.png")
    assert done.overall_status() == "done"
    out = done.headline()
    assert out.verdict in ("ATTRIBUTED", "INCONCLUSIVE", "NO MATCH")
    assert out.bits.shape == (16,) and out.reconstruction.shape == (16, 16, 3)
    assert out.record["steps_run"] == 20 and len(out.record["final_losses"]) == 2


def _cli_record(tiny_ws, image, tmp_path, capsys, *extra: str, reference: bool = True) -> dict:  # noqa: ANN001
    """``lfp attribute --json`` on one image with the window's fast settings (see fast_settings);
    ``reference=False`` keeps the engine's evidence models (early stopping on)."""
    scheme_file = tmp_path / "scheme.npz"
    with Registry.open(tiny_ws.registry_path, readonly=True) as reg:
        scheme_file.write_bytes(reg.scheme_bytes())
    capsys.readouterr()
    assert lfp_main(["attribute", str(image), "--checkpoint", str(tiny_ws.checkpoint_path), "--scheme",
                     str(scheme_file), "--registry", str(tiny_ws.registry_path), "--starts", "2", "--steps", "20",
                     *(["--no-early-stopping"] if reference else []), "--fpr", "0.01", "--device", "cpu", *extra,
                     "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_gui_and_cli_give_the_same_verdict(qtbot, window, tiny_ws, tmp_path, capsys):
    image = tiny_ws.evidence_dir / "bruno.berg_1.png"
    drop_paths(window, [image])
    wait_all_final(qtbot, window, 1)
    gui = record_by_name(window, image.name).headline().record
    cli = _cli_record(tiny_ws, image, tmp_path, capsys)
    for field in ("verdict", "user_name", "hamming_distance", "runner_up_name", "margin", "bits"):
        assert gui[field] == cli[field], field
    assert gui["p_value"] == pytest.approx(cli["p_value"])


def test_weighted_key_comparison_matches_the_cli_and_is_shown(qtbot, tiny_ws, fast_settings, tmp_path, capsys):
    settings = dataclasses.replace(fast_settings, statistic="weighted")
    window = start_window(qtbot, settings, [ModelSpec(tiny_ws.registry_path, tiny_ws.checkpoint_path)])
    image = tiny_ws.evidence_dir / "bruno.berg_1.png"
    drop_paths(window, [image])
    wait_all_final(qtbot, window, 1)
    rec = record_by_name(window, image.name)
    gui = rec.headline().record
    cli = _cli_record(tiny_ws, image, tmp_path, capsys, "--statistic", "weighted")
    for field in ("statistic", "verdict", "user_name", "weighted_distance", "weight_total", "margin_bits", "bits"):
        assert gui[field] == cli[field], field
    assert gui["p_value"] == pytest.approx(cli["p_value"])
    window.evidence.select_key(rec.key)
    assert window.result.values["Decision rule"].text().startswith("confidence-weighted distance: p ≤ 0.01")
    assert (f"weighted {gui['weighted_distance']} of {gui['weight_total']}"
            in window.result.values["Hamming distance"].text())


def test_jpeg_evidence_is_compared_through_its_grid_as_on_the_command_line(qtbot, tiny_ws, fast_settings, tmp_path,
                                                                          capsys):
    settings = dataclasses.replace(fast_settings, early_stopping=True)  # 20 steps: under the minimum, so all run
    window = start_window(qtbot, settings, [ModelSpec(tiny_ws.registry_path, tiny_ws.checkpoint_path)])
    image = tmp_path / "bruno.berg_1.jpg"
    Image.open(tiny_ws.evidence_dir / "bruno.berg_1.png").save(image, quality=60)
    drop_paths(window, [image])
    wait_all_final(qtbot, window, 1)
    gui = record_by_name(window, image.name).headline().record
    cli = _cli_record(tiny_ws, image, tmp_path, capsys, reference=False)
    assert gui["loss"] == cli["loss"] == "pixel+jpeg"
    for field in ("verdict", "user_name", "hamming_distance", "bits"):
        assert gui[field] == cli[field], field
    assert gui["final_losses"] == pytest.approx(cli["final_losses"], rel=1e-4)


def test_results_are_stored_in_the_case_and_reshown(qtbot, window, tiny_ws):
    from lfp_desktop.casework import CaseStore

    drop_paths(window, [tiny_ws.evidence_dir / "plain_1.png"])
    wait_all_final(qtbot, window, 1)
    rec = record_by_name(window, "plain_1.png")
    with CaseStore().open_case(window.inv.case.case_id, readonly=True) as case:
        qtbot.waitUntil(lambda: case.latest_result(rec.item_id) is not None, timeout=10_000)
        stored = case.latest_result(rec.item_id)
        actions = [e.action for e in case.custody(rec.item_id)]
    assert stored.verdict == rec.headline().verdict
    assert stored.result["matched_key"] is not None and len(stored.result["bits"]) == 16
    assert {"analysed.png", "reconstruction.png"} <= set(stored.attachments)
    assert actions[0] == "evidence_added" and "result_stored" in actions
    window.inv.open_case(window.inv.case.case_id)  # reopen: rows and verdicts come back from the store
    qtbot.waitUntil(lambda: rec.key in window.inv.records and window.inv.records[rec.key] is not rec, timeout=10_000)
    again = window.inv.records[rec.key].headline()
    assert again.verdict == stored.verdict and np.array_equal(again.bits, rec.headline().bits)
    assert again.loss_curves.shape == (20, 2)


def test_live_curves_follow_the_run_and_stay_with_the_item(qtbot, window, tiny_ws):
    window.commands.apply_settings(dataclasses.replace(window.settings, steps=80))
    drop_paths(window, [tiny_ws.evidence_dir / "alice.adams_2.png", tiny_ws.evidence_dir / "plain_1.png"])
    qtbot.waitUntil(lambda: len(window.inv.records) == 2, timeout=20_000)
    first = record_by_name(window, "alice.adams_2.png")
    window.evidence.select_key(first.key)
    best = window.plots.best_item
    qtbot.waitUntil(lambda: 0 < points(best) < 80, timeout=30_000)  # a curve mid-run
    wait_all_final(qtbot, window, 2)
    window.evidence.select_key(record_by_name(window, "plain_1.png").key)
    window.evidence.select_key(first.key)
    window.plots.redraw()
    xs, ys = best.getData()
    assert len(xs) == 80 and np.isfinite(ys).all()
    assert points(window.plots.starts_item) == 2 * (80 + 1)  # two starts, each ended by a break
    assert window.result.banner.text().startswith(first.headline().verdict)


def test_cancel_a_running_job_then_rerun(qtbot, window, tiny_ws):
    window.commands.apply_settings(dataclasses.replace(window.settings, steps=100_000))
    drop_paths(window, [tiny_ws.evidence_dir / "alice.adams_1.png"])
    qtbot.waitUntil(lambda: any(r.overall_status() == "running" for r in window.inv.records.values()),
                    timeout=20_000)
    rec = next(iter(window.inv.records.values()))
    qtbot.waitUntil(lambda: any(k[0] == rec.key and b.steps > 2 for k, b in window.inv.curves.items()), timeout=20_000)
    window.evidence.select_key(rec.key)
    window.actions_.cancel.trigger()
    qtbot.waitUntil(lambda: rec.overall_status() == "cancelled", timeout=10_000)
    assert not rec.outcomes and not window.inv.pool.running_items()
    window.commands.apply_settings(dataclasses.replace(window.settings, steps=25))
    window.actions_.rerun.trigger()
    qtbot.waitUntil(lambda: rec.overall_status() == "done", timeout=30_000)
    assert rec.headline().record["steps_run"] == 25


def test_mismatched_checkpoint_is_refused_and_nothing_loaded(qtbot, window, tiny_ws):
    window.inv.load_model(ModelSpec(tiny_ws.registry_path, tiny_ws.other_checkpoint_path))
    qtbot.waitUntil(lambda: window.commands.error_box is not None and window.commands.error_box.isVisible(),
                    timeout=20_000)
    text = window.commands.error_box.text()
    assert "do not belong together" in text and "nothing was changed" in text
    assert len(window.inv.models) == 1 and window.inv.loading_count == 0
    window.commands.error_box.button(QMessageBox.StandardButton.Ok).click()


def test_every_fitting_model_judges_the_image(qtbot, tiny_ws, fast_settings, tmp_path):
    from tests.gui.workspace import build_second_model

    cats = build_second_model(tmp_path / "cats")
    specs = [ModelSpec(tiny_ws.registry_path, tiny_ws.checkpoint_path), ModelSpec(cats.registry_path, cats.checkpoint_path)]
    window = start_window(qtbot, fast_settings, specs, wait_models=2)
    drop_paths(window, [tiny_ws.evidence_dir / "plain_1.png", cats.image_32])
    wait_all_final(qtbot, window, 2)
    small, large = record_by_name(window, "plain_1.png"), record_by_name(window, "cat_1.png")
    assert {o.model_name for o in small.outcomes.values()} == {"tiny faces 16 px"}  # 16 px is too small for 32
    assert {o.model_name for o in large.outcomes.values()} == {"tiny faces 16 px", "tiny cats 32 px"}
    verdict_cell = window.evidence.model.index(window.evidence.model.row_of(large.key), 3)
    assert large.headline().model_name in verdict_cell.data(Qt.ItemDataRole.ToolTipRole)  # the verdict names the model
    window.evidence.select_key(large.key)
    assert window.result.model_row.isVisibleTo(window.result) and window.result.model_box.count() == 2
    window.result.model_box.setCurrentIndex(1 - window.result.model_box.currentIndex())
    shown = window.result.values["Model"].text()
    assert shown == window.result.model_box.currentText()
    assert window.images.suspect.canvas._image.width() == (32 if "cats" in shown else 16)


def test_export_and_verify_the_signed_report_of_an_item(qtbot, window, tiny_ws, tmp_path):
    from lfp_desktop.casework import CaseStore
    from lfp_desktop.gui.reporting import export_available, export_signed_report, verification_text
    from lfp_desktop.reports.verify import verify_report

    assert export_available() and window.actions_.export_report.isEnabled()
    drop_paths(window, [tiny_ws.evidence_dir / "alice.adams_2.png"])
    wait_all_final(qtbot, window, 1)
    rec = record_by_name(window, "alice.adams_2.png")
    case_id = window.inv.case.case_id
    with CaseStore().open_case(case_id, readonly=True) as case:
        qtbot.waitUntil(lambda: case.latest_result(rec.item_id) is not None, timeout=10_000)
    out = export_signed_report(case_id, rec.item_id, tmp_path / "report.pdf", "analyst")
    result = verify_report(out)
    assert result.ok and result.manifest["result"]["verdict"] == rec.headline().verdict
    assert result.manifest["result"]["decoded_key"] == "".join(map(str, rec.headline().bits))
    assert "intact" in verification_text(result)
    with CaseStore().open_case(case_id, readonly=True) as case:
        assert case.custody(rec.item_id)[-1].action == "report_signed"
