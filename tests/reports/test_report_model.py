"""Report data: validation of bad input and the JSON manifest."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum

import numpy as np
import pytest

from lfp_desktop.errors import ReportError
from lfp_desktop.reports.model import ResultInfo, bit_string
from lfp_desktop.reports.signing import manifest_bytes

from .conftest import build_batch, build_report


def test_manifest_is_json_and_holds_the_numbers(report_data):
    m = json.loads(manifest_bytes(report_data.to_manifest()))
    r = report_data.result
    assert m["format"] == "lfp-report-manifest" and m["kind"] == "item"
    assert m["evidence"]["sha256"] == report_data.evidence.sha256
    assert m["method"]["checkpoint_sha256"] == report_data.method.checkpoint_sha256
    assert m["result"]["verdict"] == "ATTRIBUTED"
    assert m["result"]["decoded_key"] == bit_string(r.decoded_bits)
    assert m["result"]["hamming_distance"] == r.d1
    assert m["result"]["p_value"] == pytest.approx(r.p_value)
    assert len(m["custody"]) == len(report_data.custody)
    assert m["custody"][-1]["entry_hash"] == report_data.custody[-1].entry_hash
    assert len(m["result"]["images_sha256"]["suspect"]) == 64


def test_manifest_turns_stopped_starts_into_null():
    data = build_report("INCONCLUSIVE")
    assert np.isnan(data.result.loss_curves).any()  # early stops happened in the search
    losses = data.result.final_losses.copy()
    losses[0] = np.nan
    result = dataclasses.replace(data.result, final_losses=losses)
    m = dataclasses.replace(data, result=result).to_manifest()
    assert m["result"]["final_losses"][0] is None
    manifest_bytes(m)  # allow_nan=False would raise on a NaN


def test_manifest_is_deterministic():
    a, b = build_report(), build_report()
    assert manifest_bytes(a.to_manifest()) == manifest_bytes(b.to_manifest())


def test_arrays_are_frozen(report_data):
    with pytest.raises(ValueError):
        report_data.result.decoded_bits[0] = 1


@pytest.mark.parametrize("change, message", [
    ({"verdict": "MAYBE"}, "not one of"),
    ({"decoded_bits": np.full(64, 2)}, "bits of 0/1"),
    ({"bit_confidence": np.full(64, 0.7)}, "must lie in"),
    ({"start_agreement": np.ones(10)}, "must have shape"),
    ({"suspect_image": np.zeros((8, 8), np.uint8)}, "uint8 HxWx3"),
])
def test_bad_result_fields_are_refused(report_data, change, message):
    fields = {f.name: getattr(report_data.result, f.name)
              for f in dataclasses.fields(ResultInfo)}
    with pytest.raises(ReportError, match=message):
        ResultInfo(**{**fields, **change})


def test_naive_times_are_refused(report_data):
    with pytest.raises(ReportError, match="timezone-aware"):
        dataclasses.replace(report_data, created_utc=datetime(2025, 1, 1))


def test_batch_counts_come_from_the_rows():
    batch = build_batch()
    assert batch.counts_per_verdict == {"ATTRIBUTED": 3, "INCONCLUSIVE": 1, "NO MATCH": 1,
                                        "ERROR": 1}
    assert list(batch.counts_per_user.items()) == [("alice", 2), ("bob", 1)]
    m = json.loads(manifest_bytes(batch.to_manifest()))
    assert m["kind"] == "batch" and len(m["items"]) == 6
    assert m["items"][5]["error"].startswith("not an image")


def test_a_str_enum_verdict_is_stored_as_its_text(report_data):
    class Verdict(str, Enum):  # the shape of the engine's verdict type
        ATTRIBUTED = "ATTRIBUTED"

    result = dataclasses.replace(report_data.result, verdict=Verdict.ATTRIBUTED)
    assert type(result.verdict) is str and f"{result.verdict}" == "ATTRIBUTED"
