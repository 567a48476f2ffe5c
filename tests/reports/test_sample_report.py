"""The committed sample report (resources/sample-report.pdf) verifies, names the true maker of
its demo evidence, matches its page-1 picture, and fails verification after any one-byte change.

When a test here fails because the demo model or the report format changed, make the sample
again: ``nice -n 10 python packaging/make_sample_report.py``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PIL import Image

from lfp_desktop.cli import main
from lfp_desktop.reports.verify import verify_report

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
SAMPLE = RESOURCES / "sample-report.pdf"
CERT = RESOURCES / "sample-report-lab-cert.pem"
PAGE1 = RESOURCES / "screenshots" / "sample-report-page1.png"
REGENERATE = "; make it again with packaging/make_sample_report.py"


@pytest.fixture(scope="module")
def verified():
    return verify_report(SAMPLE, trust=CERT)


def test_sample_report_verifies_and_is_trusted_by_its_certificate(verified):
    assert verified.ok, f"{verified.summary}: {verified.problems}{REGENERATE}"
    assert verified.intact and verified.valid and verified.whole_file and verified.trusted
    cert = x509.load_pem_x509_certificate(CERT.read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    assert verified.cert_sha256 == hashlib.sha256(der).hexdigest()
    assert verified.manifest["signature"]["certificate_sha256"] == verified.cert_sha256


def test_no_private_key_is_committed_with_the_sample():
    for path in RESOURCES.glob("sample-report*"):
        assert b"PRIVATE KEY" not in path.read_bytes(), path


def test_cli_verify_passes_on_the_sample(capsys):
    assert main(["report", "verify", str(SAMPLE), "--trust", str(CERT)]) == 0
    out = capsys.readouterr().out
    assert "intact, valid signature, trusted" in out and "ATTRIBUTED" in out


def test_sample_names_the_user_its_demo_evidence_was_made_for(verified, tmp_path):
    from lfp_desktop.demo.workspace import build_demo_workspace
    from lfp_desktop.registry import Registry

    m = verified.manifest
    ws = build_demo_workspace(tmp_path / "demo")
    entry = next((e for e in ws.manifest() if e["file"] == m["evidence"]["file_name"]), None)
    assert entry is not None, f"the demo has no evidence {m['evidence']['file_name']}{REGENERATE}"
    assert m["result"]["verdict"] == "ATTRIBUTED"
    assert (m["result"]["user_name"], m["result"]["matched_key"]) == (entry["user_name"],
                                                                      entry["key"])
    with Registry.open(ws.registry_path, readonly=True) as reg:
        digest = reg.digest()
    checkpoint = hashlib.sha256(ws.checkpoint_path.read_bytes()).hexdigest()
    assert m["method"]["checkpoint_sha256"] == checkpoint, f"the demo model changed{REGENERATE}"
    assert m["method"]["registry_digest"] == digest, f"the demo registry changed{REGENERATE}"


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler's pdfsig is not installed")
def test_pdfsig_says_the_sample_signature_is_valid():
    out = subprocess.run(["pdfsig", str(SAMPLE)], capture_output=True, text=True,
                         check=False).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Total document signed" in out


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is not installed")
def test_page1_picture_is_a_render_of_the_sample(tmp_path):
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
                    str(SAMPLE), str(tmp_path / "page1")], check=True)
    fresh = np.asarray(Image.open(tmp_path / "page1.png").convert("L"), dtype=np.float64)
    committed = np.asarray(Image.open(PAGE1).convert("L"), dtype=np.float64)
    assert fresh.shape == committed.shape, f"the page-1 picture is stale{REGENERATE}"
    # Other poppler versions smooth glyph edges a little differently; the content must agree.
    assert np.mean(np.abs(fresh - committed)) < 2.0, f"the page-1 picture is stale{REGENERATE}"


def _byte_range() -> tuple[int, int, int, int]:
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", SAMPLE.read_bytes())
    assert m is not None
    return tuple(int(g) for g in m.groups())


def _changed_copy(tmp_path: Path, where: str) -> Path:
    """A copy of the sample with one byte changed at ``where``."""
    start1, len1, start2, len2 = _byte_range()
    data = bytearray(SAMPLE.read_bytes())
    offset = {"first signed range": start1 + len1 // 2,
              "signature value": start1 + len1 + 41,
              "second signed range": start2 + len2 // 2}[where]
    if where == "signature value":  # stay a hex digit, so the PDF still parses
        data[offset] = ord("7") if data[offset] != ord("7") else ord("8")
    else:
        data[offset] ^= 0x01
    path = tmp_path / "changed.pdf"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("where", ["first signed range", "signature value",
                                   "second signed range"])
def test_one_changed_byte_fails_verification(tmp_path, where, capsys):
    changed = _changed_copy(tmp_path, where)
    result = verify_report(changed, trust=CERT)
    assert not result.ok and result.problems
    assert not (result.intact and result.valid)
    assert main(["report", "verify", str(changed), "--trust", str(CERT)]) == 1
    if shutil.which("pdfsig") is not None:
        out = subprocess.run(["pdfsig", str(changed)], capture_output=True, text=True,
                             check=False).stdout
        assert "Signature is Valid." not in out
