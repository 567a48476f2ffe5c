"""Sign, then verify: intact, tampered, changed after signing, wrong trust root, pdfsig."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lfp_desktop.errors import ReportError
from lfp_desktop.reports.export import export_report, signed_manifest, signed_report_bytes
from lfp_desktop.reports.rawsig import find_raw_signature
from lfp_desktop.reports.signing import MANIFEST_NAME, manifest_bytes
from lfp_desktop.reports.verify import verify_report

from .conftest import build_batch, rendered


@pytest.fixture(scope="module")
def signed(lab_identity, report_data) -> bytes:
    return signed_report_bytes(report_data, identity=lab_identity)


@pytest.fixture
def lab_cert(lab_identity, tmp_path):
    path = tmp_path / "lab_cert.pem"
    path.write_bytes(lab_identity.certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _write(tmp_path, data: bytes, name: str = "report.pdf"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", pdf)
    return tuple(int(g) for g in m.groups())


def test_signed_report_verifies_and_manifest_round_trips(signed, lab_identity, report_data,
                                                         lab_cert, tmp_path):
    result = verify_report(_write(tmp_path, signed), trust=lab_cert)
    assert result.ok and result.intact and result.valid and result.whole_file
    assert result.trusted and result.summary == "intact, valid signature, trusted"
    assert result.cert_sha256 == lab_identity.fingerprint
    assert "LFP Desktop test lab" in result.signer_subject
    assert abs(result.signing_time - datetime.now(timezone.utc)) < timedelta(minutes=10)
    expected = json.loads(manifest_bytes(signed_manifest(report_data, lab_identity)))
    assert result.manifest == expected
    assert not result.problems


def test_without_trust_root_trust_is_not_checked(signed, tmp_path):
    result = verify_report(_write(tmp_path, signed))
    assert result.ok and not result.trusted and not result.trust_checked
    assert "trust not checked" in result.summary


def test_wrong_trust_root_is_intact_but_not_trusted(signed, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other lab")])
    now = datetime.now(timezone.utc)
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(key.public_key()).serial_number(1)
             .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
             .sign(key, hashes.SHA256()))
    trust = _write(tmp_path, other.public_bytes(serialization.Encoding.PEM), "other.pem")
    result = verify_report(_write(tmp_path, signed), trust=trust)
    assert result.intact and result.valid and result.whole_file
    assert not result.trusted and not result.ok
    assert result.summary == "intact, valid signature, but not trusted"
    assert any("does not chain to the trusted certificate" in p for p in result.problems)


def _flip_positions(pdf: bytes) -> list[int]:
    a, b, c, d = _byte_range(pdf)
    spread = [int(a + i * (b - 1) / 19) for i in range(20)]
    spread += [c + int(i * (d - 1) / 7) for i in range(8)]
    # Also: both edges of the hole for the signature value, the file's last byte, and the
    # objects added with the signature (the manifest stream, its file spec, the signature).
    added = [pdf.index(k) for k in (b"/EmbeddedFile", b"/Filespec", b"/Sig")]
    return sorted(set(spread + [b - 1, c, c + d - 1] + added))


def test_any_flipped_byte_in_the_signed_range_is_detected(signed, tmp_path):
    for pos in _flip_positions(signed):
        tampered = bytearray(signed)
        tampered[pos] ^= 0x01
        result = verify_report(_write(tmp_path, bytes(tampered)))
        assert not result.intact and not result.ok, pos
        assert result.summary.startswith("NOT INTACT"), pos
        assert "altered after it was signed" in result.problems[0], pos
        assert result.manifest is None, pos


def test_raw_digest_check_on_its_own(signed):
    assert find_raw_signature(signed).digest_ok is True
    a, b, c, d = _byte_range(signed)
    tampered = bytearray(signed)
    tampered[b // 2] ^= 0x20
    assert find_raw_signature(bytes(tampered)).digest_ok is False


def test_change_after_signing_is_detected_and_the_signed_manifest_kept(signed, tmp_path):
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    # An incremental update that swaps the attached manifest for one with another verdict.
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    tree = writer.root["/Names"]["/EmbeddedFiles"]
    fake = embed.EmbeddedFileObject.from_file_data(writer, b'{"result": {"verdict": "NO MATCH"}}')
    spec = embed.FileSpec(file_spec_string=MANIFEST_NAME, file_name=MANIFEST_NAME,
                          embedded_data=fake)
    tree["/Names"][1] = writer.add_object(spec.as_pdf_object())
    writer.update_container(tree)
    out = io.BytesIO()
    writer.write(out)
    result = verify_report(_write(tmp_path, out.getvalue()))
    assert result.intact and not result.whole_file and not result.ok
    assert result.summary.startswith("CHANGED")
    assert "changed after signing" in " ".join(result.problems)
    assert result.manifest["result"]["verdict"] == "ATTRIBUTED"


def test_appended_bytes_are_detected(signed, tmp_path):
    result = verify_report(_write(tmp_path, signed + b"\n% appended\n"))
    assert not result.ok and not result.whole_file


def test_unsigned_pdf_is_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="carries no digital signature"):
        verify_report(_write(tmp_path, rendered()))


def test_not_a_pdf_and_missing_file(tmp_path):
    with pytest.raises(ReportError, match="is not a PDF"):
        verify_report(_write(tmp_path, b"hello", "x.pdf"))
    with pytest.raises(ReportError, match="could not be read"):
        verify_report(tmp_path / "missing.pdf")


def test_bad_trust_file_is_a_clear_error(signed, tmp_path):
    with pytest.raises(ReportError, match="trusted certificate"):
        verify_report(_write(tmp_path, signed), trust=_write(tmp_path, b"junk", "t.pem"))


def test_batch_report_signs_and_verifies(lab_identity, lab_cert, tmp_path):
    out = export_report(build_batch(), tmp_path / "batch.pdf", paper="letter",
                        identity=lab_identity)
    result = verify_report(out, trust=lab_cert)
    assert result.ok and result.manifest["kind"] == "batch"
    assert result.manifest["counts_per_verdict"]["ATTRIBUTED"] == 3
    with pytest.raises(ReportError, match="already exists"):
        export_report(build_batch(), out, identity=lab_identity)


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler's pdfsig is not installed")
def test_pdfsig_says_the_signature_is_valid(signed, tmp_path):
    out = subprocess.run(["pdfsig", str(_write(tmp_path, signed))], capture_output=True,
                         text=True).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Total document signed" in out
