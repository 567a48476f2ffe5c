"""``lfp report verify`` and ``lfp report cert`` through the real command line entry point."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lfp_desktop.cli import main
from lfp_desktop.reports.export import signed_report_bytes
from lfp_desktop.reports.signing import format_fingerprint

from .conftest import rendered


@pytest.fixture(scope="module")
def signed(lab_identity, report_data) -> bytes:
    return signed_report_bytes(report_data, identity=lab_identity)


@pytest.fixture
def files(signed, lab_identity, tmp_path):
    report = tmp_path / "report.pdf"
    report.write_bytes(signed)
    cert = tmp_path / "lab_cert.pem"
    cert.write_bytes(lab_identity.certificate.public_bytes(serialization.Encoding.PEM))
    return report, cert


def test_verify_trusted(files, lab_identity, capsys):
    report, cert = files
    assert main(["report", "verify", str(report), "--trust", str(cert)]) == 0
    out = capsys.readouterr().out
    assert "intact, valid signature, trusted" in out
    assert format_fingerprint(lab_identity.fingerprint) in out
    assert "Verdict:               ATTRIBUTED" in out


def test_verify_without_trust_passes_with_a_warning(files, capsys):
    assert main(["report", "verify", str(files[0])]) == 0
    assert "trust not checked" in capsys.readouterr().out


def test_verify_json(files, report_data, capsys):
    report, cert = files
    assert main(["report", "verify", str(report), "--trust", str(cert), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["trusted"]
    assert result["manifest"]["evidence"]["sha256"] == report_data.evidence.sha256


def test_verify_tampered_exits_non_zero(files, capsys):
    report, cert = files
    data = bytearray(report.read_bytes())
    data[len(data) // 3] ^= 0x04
    report.write_bytes(bytes(data))
    assert main(["report", "verify", str(report), "--trust", str(cert)]) == 1
    out = capsys.readouterr().out
    assert "NOT INTACT" in out and "problem: the document was altered" in out


def test_verify_untrusted_exits_non_zero(files, tmp_path, capsys):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Another lab")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
            .sign(key, hashes.SHA256()))
    other = tmp_path / "other.pem"
    other.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    assert main(["report", "verify", str(files[0]), "--trust", str(other)]) == 1
    assert "but not trusted" in capsys.readouterr().out


def test_verify_unsigned_is_an_error(tmp_path, capsys):
    path = tmp_path / "plain.pdf"
    path.write_bytes(rendered())
    assert main(["report", "verify", str(path)]) == 1
    assert "carries no digital signature" in capsys.readouterr().err


def test_cert_shows_and_exports_the_lab_certificate(tmp_path, capsys):
    out = tmp_path / "lab.pem"
    assert main(["report", "cert", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert "SHA-256:" in text
    assert main(["report", "cert", "--out", str(out)]) == 1  # never overwrites
