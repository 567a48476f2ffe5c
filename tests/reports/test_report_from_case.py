"""Reports made from a real case store: item report, batch summary, CLI export, custody."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from lfp_desktop.casework import CaseStore
from lfp_desktop.cli import main
from lfp_desktop.errors import ReportError
from lfp_desktop.reports.from_case import (batch_report_data_from_case, custody_detail,
                                           report_data_from_case)
from lfp_desktop.reports.model import bit_string
from lfp_desktop.reports.verify import verify_report

from .conftest import build_report


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def _stored_record(verdict: str) -> tuple[dict, dict]:
    """A result record as the application stores it (analysis fields plus matched key and
    fit note), with the analysed and reconstructed images as PNG attachments."""
    data = build_report(verdict)
    r, m = data.result, data.method
    record = {
        "bits": bit_string(r.decoded_bits), "confidence": r.bit_confidence.tolist(),
        "bit_probs": (0.5 + r.bit_confidence).tolist(), "agreement": r.start_agreement.tolist(),
        "winning_start": r.winning_start, "final_losses": r.final_losses.tolist(),
        "reconstruction_distance": r.reconstruction_distance, "steps_run": m.steps,
        "seconds": 12.5, "loss": m.loss, "device": m.device, "engine_version": m.engine_version,
        "settings": {"starts": m.starts, "steps": m.steps, "early_stopping": m.early_stopping,
                     "seed": m.seed},
        "loss_curves": [[None if math.isnan(v) else float(v) for v in row]
                        for row in r.loss_curves],
        "model": m.model_name, "checkpoint_sha256": m.checkpoint_sha256,
        "scheme_sha256": m.scheme_sha256, "registry_digest": m.registry_digest,
        "verdict": verdict, "user_id": None if r.user_id is None else int(r.user_id),
        "user_name": r.user_name, "target_fpr": m.target_fpr, "min_margin": 4,
        "hamming_distance": r.d1, "runner_up_distance": r.d2, "runner_up_name": r.runner_up_name,
        "margin": r.margin, "p_value": r.p_value, "registry_size": r.registry_size,
        "key_len": r.key_length, "reasons": list(r.inconclusive_reasons),
        "matched_key": None if r.matched_key_bits is None else bit_string(r.matched_key_bits),
        "fit": "centre crop to 128 x 128", "model_size": 128}
    attachments = {"analysed.png": _png(r.suspect_image),
                   "reconstruction.png": _png(r.reconstruction_image)}
    return record, attachments


@pytest.fixture
def case_id(tmp_path):
    """A case with three evidence files: attributed, no match, and one not attributed yet."""
    store = CaseStore()
    with store.new_case("Marketplace sweep", "j.doe", "listing #8812") as case:
        for i, verdict in enumerate(["ATTRIBUTED", "NO MATCH", None]):
            path = tmp_path / f"img_{i}.png"
            image = build_report(seed=3 + i).result.suspect_image
            path.write_bytes(_png(np.roll(image, i, axis=0)))
            item = case.add_evidence(path, "j.doe")
            if verdict:
                record, attachments = _stored_record(verdict)
                case.store_result(item.id, record, "j.doe", attachments=attachments)
        return case.id


def test_item_report_data_from_the_case(case_id):
    data = report_data_from_case(case_id, 1)
    assert data.result.verdict == "ATTRIBUTED" and data.result.user_name
    assert data.evidence.file_name == "img_0.png" and data.evidence.item_id == "1"
    assert "centre crop to 128 x 128" in data.evidence.conversions
    assert data.result.difference_image.shape == data.result.suspect_image.shape
    assert np.isnan(data.result.loss_curves).sum() == np.isnan(
        build_report().result.loss_curves).sum()
    actions = [c.action for c in data.custody]
    assert actions[:2] == ["evidence added", "result stored"]
    assert data.source["result_id"] == "1" and len(data.source["result_sha256"]) == 64


def test_item_without_result_is_a_clear_error(case_id):
    with pytest.raises(ReportError, match="no stored result"):
        report_data_from_case(case_id, 3)


def test_altered_attachment_is_refused(case_id):
    with CaseStore().open_case(case_id, readonly=True) as case:
        path = case.latest_result(1).attachments["reconstruction.png"]
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ReportError, match="no longer matches its recorded SHA-256"):
        report_data_from_case(case_id, 1)


def test_batch_data_lists_every_item(case_id):
    batch = batch_report_data_from_case(case_id)
    assert [i.verdict for i in batch.items] == ["ATTRIBUTED", "NO MATCH", None]
    assert batch.items[2].error == "not attributed yet"
    assert batch.counts_per_verdict["ERROR"] == 1


def test_cli_export_signs_verifies_and_records_custody(case_id, tmp_path, capsys):
    out = tmp_path / "item1.pdf"
    assert main(["report", "export", "--case", case_id, "--item", "1", "--out", str(out),
                 "--paper", "letter", "--actor", "a.smith"]) == 0
    result = verify_report(out)
    assert result.ok and result.manifest["evidence"]["file_name"] == "img_0.png"
    with CaseStore().open_case(case_id, readonly=True) as case:
        last = case.custody(1)[-1]
    assert last.action == "report_signed" and last.actor == "a.smith"
    assert last.details["certificate_sha256"] == result.cert_sha256
    assert main(["report", "batch", "--case", case_id, "--out", str(tmp_path / "b.pdf")]) == 0
    assert verify_report(tmp_path / "b.pdf").manifest["kind"] == "batch"
    capsys.readouterr()
    assert main(["report", "export", "--case", case_id, "--item", "3", "--out",
                 str(tmp_path / "x.pdf")]) == 1
    assert "no stored result" in capsys.readouterr().err


def test_custody_detail_is_short():
    line = custody_detail({"sha256": "a" * 64, "size_bytes": 10, "nested": {"x": 1}})
    assert line == "sha256: aaaaaaaaaaaa\u2026; size bytes: 10"
