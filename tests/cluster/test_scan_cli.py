"""`lfp scan` in process (no Ray needed): a new case, CSV rows, resuming, and clear refusals."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys

import pytest

from lfp_desktop.casework import CaseStore
from lfp_desktop.cli import main
from lfp_desktop.reports.from_case import report_data_from_case


@pytest.fixture
def scan_args(demo, tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    shutil.copy(demo.evidence_dir / "picture_2.png", folder / "picture_2.png")
    return ["scan", str(folder), "--registry", str(demo.registry_path), "--checkpoint", str(demo.checkpoint_path),
            "--root", str(tmp_path / "cases"), "--starts", "1", "--steps", "20", "--no-early-stopping"]


def test_scan_into_a_new_case_then_resume(scan_args, tmp_path, capsys):
    out_csv = tmp_path / "scan.csv"
    assert main(scan_args + ["--out", "uploads-1", "--csv", str(out_csv)]) == 0
    out, err = capsys.readouterr()
    assert "case uploads-1" in out and "1/1 files: 1 analysed · 1 worker(s)" in err and "images/s" in err
    (row,) = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    data = (tmp_path / "uploads" / "picture_2.png").read_bytes()
    assert row["state"] == "analysed" and row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["verdict"] in ("NO MATCH", "INCONCLUSIVE") and int(row["key_len"]) == 48
    assert main(scan_args + ["--out", "uploads-1"]) == 0  # again: found by hash, not redone
    out, err = capsys.readouterr()
    assert "1 already analysed before, skipped" in out and "1/1 files: 1 skipped" in err
    assert main(["case", "show", "uploads-1", "--root", str(tmp_path / "cases"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [it["latest_result"]["verdict"] for it in shown["items"]] == [row["verdict"]]
    assert [e["action"] for e in shown["custody"]].count("result_stored") == 1


def test_scan_refuses_bad_input(scan_args, tmp_path, capsys, monkeypatch):
    assert main(scan_args + ["--out", "not a case id!"]) == 1
    assert "cannot name a case" in capsys.readouterr().err
    (tmp_path / "cases" / "occupied").mkdir(parents=True)
    (tmp_path / "cases" / "occupied" / "notes.txt").write_text("not a case")
    assert main(scan_args + ["--out", "occupied"]) == 1
    assert "already exists and is not a case" in capsys.readouterr().err
    assert main(scan_args[:1] + [str(tmp_path / "nowhere")] + scan_args[2:] + ["--out", "x"]) == 1
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main(scan_args + ["--out", "x", "--cluster", "local"]) == 1
    assert 'pip install "lfp-desktop[cluster]"' in capsys.readouterr().err


def test_blur_model_setting_reaches_the_engine_the_record_and_the_report(scan_args, tmp_path, capsys):
    root = ["--root", str(tmp_path / "cases")]
    assert main(scan_args + ["--out", "blurred", "--blur-radius", "2"]) == 0
    capsys.readouterr()
    assert main(["case", "show", "blurred", *root, "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)["items"]
    assert item["latest_result"]["verdict"] in ("NO MATCH", "INCONCLUSIVE")
    data = report_data_from_case("blurred", item["id"], root=tmp_path / "cases")
    assert data.method.blur_radius == 2 and data.method.to_manifest()["blur_radius"] == 2
    assert main(scan_args + ["--out", "sharp"]) == 0  # the default: no blur model, none in the manifest
    assert "blur_radius" not in report_data_from_case("sharp", 1, root=tmp_path / "cases").method.to_manifest()
    capsys.readouterr()
    assert main(scan_args + ["--out", "x", "--blur-radius", "13"]) == 1
    assert "blur_radius" in capsys.readouterr().err


def test_weighted_key_comparison_reaches_the_decision_the_record_and_the_report(scan_args, tmp_path, capsys):
    root = ["--root", str(tmp_path / "cases")]
    assert main(scan_args + ["--out", "weighted", "--statistic", "weighted"]) == 0
    capsys.readouterr()
    assert main(["case", "show", "weighted", *root, "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)["items"]
    with CaseStore(tmp_path / "cases").open_case("weighted", readonly=True) as case:
        record = case.latest_result(item["id"]).result
    assert record["statistic"] == "weighted"
    assert 0 <= record["weighted_distance"] <= record["weight_total"] <= 16 * record["key_len"]
    assert record["weight_total"] >= record["key_len"]
    data = report_data_from_case("weighted", item["id"], root=tmp_path / "cases")
    assert data.method.statistic == "weighted" and data.method.to_manifest()["statistic"] == "weighted"
    assert data.result.weighted_distance == record["weighted_distance"]
    with pytest.raises(SystemExit):  # argparse refuses an unknown comparison
        main(scan_args + ["--out", "x", "--statistic", "cosine"])
    assert "invalid choice" in capsys.readouterr().err


def test_jpeg_evidence_is_compared_through_its_grid_in_the_record_and_the_batch_report(demo, scan_args, tmp_path,
                                                                                      capsys):
    from lfp_desktop.reports.from_case import batch_report_data_from_case

    folder = tmp_path / "uploads"
    shutil.copy(demo.evidence_dir / "vera.adams_2.jpg", folder / "vera.adams_2.jpg")
    args = [a for a in scan_args if a != "--no-early-stopping"]  # the reference procedure has no JPEG model
    assert main(args + ["--out", "mixed"]) == 0
    capsys.readouterr()
    with CaseStore(tmp_path / "cases").open_case("mixed", readonly=True) as case:
        losses = {it.original_path.rsplit("/", 1)[-1]: case.latest_result(it.id).result["loss"] for it in case.items()}
    assert losses == {"picture_2.png": "pixel", "vera.adams_2.jpg": "pixel+jpeg"}
    assert batch_report_data_from_case("mixed", root=tmp_path / "cases").method.loss == "pixel / pixel+jpeg"
    assert main(args + ["--out", "pixels", "--no-jpeg-model"]) == 0
    with CaseStore(tmp_path / "cases").open_case("pixels", readonly=True) as case:
        assert {case.latest_result(it.id).result["loss"] for it in case.items()} == {"pixel"}
