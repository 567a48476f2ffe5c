"""Rendering: deterministic bytes, paper sizes, embedded fonts, a page that is not blank."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from lfp_desktop.errors import ReportError
from lfp_desktop.reports.render import render_report
from lfp_desktop.reports.render_batch import render_batch_report

from .conftest import FINGERPRINT, build_batch, build_report, rendered

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="poppler's pdftotext is not installed")


def _media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    def leaves(node):
        if node["/Type"] == "/Pages":
            for kid in node["/Kids"]:
                yield from leaves(kid.get_object())
        else:
            yield node

    reader = PdfFileReader(io.BytesIO(pdf))
    boxes = [page["/MediaBox"] for page in leaves(reader.root["/Pages"])]
    return [(float(box[2]), float(box[3])) for box in boxes]


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    return out


def test_same_input_gives_same_bytes():
    # A ReportData built afresh from the same inputs renders to the very same bytes.
    again = render_report(build_report(), cert_fingerprint=FINGERPRINT)
    assert again == rendered()
    assert rendered("NO MATCH") != rendered()


def test_creation_date_comes_from_the_data():
    assert b"D:20250314113000+00'00'" in rendered()


@pytest.mark.parametrize("paper, size", [("a4", (595.28, 841.89)), ("letter", (612.0, 792.0))])
def test_paper_sizes(paper, size):
    boxes = _media_boxes(rendered(paper=paper))
    assert len(boxes) >= 3
    for box in boxes:
        assert box == pytest.approx(size, abs=0.01)


def test_unknown_paper_is_refused(report_data):
    with pytest.raises(ReportError, match="a4"):
        render_report(report_data, cert_fingerprint=FINGERPRINT, paper="a3")


def test_every_font_is_embedded():
    pdf = rendered()
    fonts = re.findall(rb"/BaseFont /([\w+-]+)", pdf)
    assert fonts, "no fonts found"
    # Embedded subsets carry a six-letter tag; a bare standard font would not be embedded.
    assert all(re.match(rb"[A-Z]{6}\+", f) for f in fonts), fonts
    assert pdf.count(b"/FontFile2") == len(set(fonts))


@pytest.mark.parametrize("verdict", ["INCONCLUSIVE", "NO MATCH"])
def test_other_verdicts_render(verdict):
    assert len(_media_boxes(rendered(verdict))) >= 3


def test_batch_report_renders_on_letter():
    pdf = render_batch_report(build_batch(), cert_fingerprint=FINGERPRINT, paper="letter")
    assert _media_boxes(pdf)[0] == pytest.approx((612.0, 792.0))


@needs_pdftotext
def test_lay_verdict_comes_first_and_facts_are_printed(report_data, tmp_path):
    text = _text(rendered(), tmp_path)
    flat = " ".join(text.split())
    first_page = " ".join(text.split("\f")[0].split())
    assert "The image was most likely produced by the generator copy issued to user" in first_page
    assert first_page.index("most likely produced") < first_page.index("Evidence examined")
    assert f"\u201c{report_data.result.user_name}\u201d" in first_page
    assert "AB:AB:AB:AB" in flat  # signing certificate fingerprint
    assert report_data.evidence.sha256 in flat
    for entry in report_data.custody:
        assert entry.entry_hash[:16] in flat


@needs_pdftotext
def test_no_match_and_inconclusive_wording(tmp_path):
    no_match = " ".join(_text(rendered("NO MATCH"), tmp_path).split())
    assert "does not carry the fingerprint of any registered user" in no_match
    inconclusive = " ".join(_text(rendered("INCONCLUSIVE"), tmp_path).split())
    assert "could not link the image to a registered user" in inconclusive
    assert "the starts disagree on many bits" in inconclusive


@needs_pdftotext
def test_batch_summary_counts(tmp_path):
    text = " ".join(_text(render_batch_report(build_batch(), cert_fingerprint=FINGERPRINT),
                          tmp_path).split())
    assert "Of 6 images examined, 3 attributed to 2 registered users" in text
    assert "not an image" in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is not installed")
def test_first_page_is_not_blank(tmp_path):
    path = tmp_path / "r.pdf"
    path.write_bytes(rendered())
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "p")], check=True)
    page = np.asarray(Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")).astype(int)
    ink = np.abs(page - 255).sum(-1) > 60
    assert 0.03 < ink.mean() < 0.6  # text, tables and pictures, not an empty sheet
    tint = (np.abs(page - [231, 243, 234]).sum(-1) < 12).mean()
    assert tint > 0.01  # the green verdict box of an ATTRIBUTED result


@needs_pdftotext
def test_a_blur_model_is_stated_in_the_method(report_data, tmp_path):
    plain = " ".join(_text(render_report(report_data, cert_fingerprint=FINGERPRINT), tmp_path).split())
    assert "early stopping on" in plain and "blur model" not in plain
    blurred = replace(report_data, method=replace(report_data.method, blur_radius=3))
    text = " ".join(_text(render_report(blurred, cert_fingerprint=FINGERPRINT), tmp_path).split())
    assert "blur model up to 3 px" in text


@needs_pdftotext
def test_jpeg_evidence_compared_through_its_grid_is_stated(report_data, tmp_path):
    plain = " ".join(_text(render_report(report_data, cert_fingerprint=FINGERPRINT), tmp_path).split())
    assert "quantisation intervals" not in plain
    jpeg = replace(report_data, method=replace(report_data.method, loss="pixel+jpeg"))
    text = " ".join(_text(render_report(jpeg, cert_fingerprint=FINGERPRINT), tmp_path).split())
    assert "pixel, with JPEG evidence compared inside its file's quantisation intervals" in text


@needs_pdftotext
def test_the_key_comparison_is_stated_and_a_weighted_match_explained(report_data, tmp_path):
    plain = " ".join(_text(render_report(report_data, cert_fingerprint=FINGERPRINT), tmp_path).split())
    assert "Key comparison Hamming distance: each differing bit counts 1" in plain
    assert "weighted" not in plain
    assert "statistic" not in report_data.method.to_manifest()
    assert "weighted_distance" not in report_data.result.to_manifest()
    result = replace(report_data.result, weighted_distance=7, runner_up_weighted_distance=190,
                     weight_total=412, margin_bits=21.3)
    weighted = replace(report_data, method=replace(report_data.method, statistic="weighted"), result=result)
    text = " ".join(_text(render_report(weighted, cert_fingerprint=FINGERPRINT), tmp_path).split())
    assert "confidence-weighted distance: each differing bit counts 1 to 16" in text
    assert "weighted distance 7 of 412" in text
    assert "21.3 bits (weighted)" in text
    assert "within a confidence-weighted distance of 7 (of 412;" in text
    assert weighted.method.to_manifest()["statistic"] == "weighted"
    manifest = weighted.result.to_manifest()
    assert (manifest["weighted_distance"], manifest["weight_total"], manifest["margin_bits"]) == (7, 412, 21.3)
    with pytest.raises(ReportError, match="key comparison 'cosine'"):
        replace(report_data.method, statistic="cosine")
