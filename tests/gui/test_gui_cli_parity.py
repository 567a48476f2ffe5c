"""The desktop application and ``lfp attribute`` reach the same verdict on a demo evidence
image with the same settings: the window's real intake, worker pool and device worker on one
side, the command line on the other. Needs the trained demo model in resources/demo; about
15 s on one core."""

from __future__ import annotations

import json

import pytest

from lfp_desktop.cli import main as lfp_main
from lfp_desktop.config import Settings
from lfp_desktop.gui.jobs import ModelSpec
from lfp_desktop.resources import resource
from tests.gui.helpers import drop_paths, record_by_name, start_window, wait_all_final

IMAGE = "kofi.silva-2_1.png"  # a clean fingerprinted demo image (see the demo manifest)
STARTS, STEPS, FPR = 4, 250, 1e-6  # small, yet enough for this image to be attributed


def _demo_built() -> bool:
    try:
        return resource("demo", "generator.pt").is_file() and resource("demo", "scheme.npz").is_file()
    except FileNotFoundError:
        return False


pytestmark = pytest.mark.skipif(not _demo_built(), reason="the demo model (resources/demo) is not built")


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    from lfp_desktop.demo.workspace import ensure_demo_workspace

    return ensure_demo_workspace(tmp_path_factory.mktemp("demo-ws"))


def _through_the_window(qtbot, ws) -> dict:  # noqa: ANN001
    settings = Settings(device="cpu", starts=STARTS, steps=STEPS, early_stopping=False, target_fpr=FPR,
                        images_per_job=1)
    window = start_window(qtbot, settings, [ModelSpec(ws.registry_path, ws.checkpoint_path)])
    drop_paths(window, [ws.evidence_dir / IMAGE])
    wait_all_final(qtbot, window, 1, timeout=120_000)
    rec = record_by_name(window, IMAGE)
    assert rec.overall_status() == "done", rec.error_text()
    out = rec.headline()
    assert "".join(map(str, out.bits.tolist())) == out.record["bits"]  # the arrays shown match the record
    return out.record


def _through_the_cli(ws, capsys) -> dict:  # noqa: ANN001
    capsys.readouterr()
    status = lfp_main(["attribute", str(ws.evidence_dir / IMAGE), "--checkpoint", str(ws.checkpoint_path),
                       "--scheme", str(ws.scheme_path), "--registry", str(ws.registry_path),
                       "--starts", str(STARTS), "--steps", str(STEPS), "--no-early-stopping", "--fpr", str(FPR),
                       "--device", "cpu", "--json"])
    assert status == 0
    return json.loads(capsys.readouterr().out)


def test_window_and_command_line_agree_on_a_demo_image(qtbot, demo_ws, capsys):
    truth = next(e for e in demo_ws.manifest() if e["file"] == IMAGE)
    gui = _through_the_window(qtbot, demo_ws)
    cli = _through_the_cli(demo_ws, capsys)
    assert gui["settings"] == cli["settings"]  # the very same procedure, not only the same verdict
    for field in ("bits", "verdict", "user_id", "user_name", "hamming_distance", "runner_up_name", "margin",
                  "p_value", "winning_start", "steps_run", "registry_digest", "checkpoint_sha256", "scheme_sha256"):
        assert gui[field] == cli[field], field
    assert gui["user_name"] == truth["user_name"]  # the nearest registered key is the true one
    assert gui["verdict"] == "ATTRIBUTED", (gui["hamming_distance"], gui["p_value"])
