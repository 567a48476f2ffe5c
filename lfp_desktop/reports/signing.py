"""The lab's signing identity and PAdES signing of reports.

On first use a lab key (RSA 3072) and a self-signed X.509 certificate are created in
``data_dir()/signing``:

- ``lab_key.pem``: the private key, PKCS#8 encrypted, file mode 0600;
- ``lab_cert.pem``: the certificate, to hand to anyone who verifies a report
  (``lfp report verify REPORT.pdf --trust lab_cert.pem``);
- ``lab_key.passphrase`` (0600): only when no passphrase was given on first use.

The passphrase comes from ``$LFP_SIGNING_PASSPHRASE``. When it is unset on first use a random
one is generated and kept in ``lab_key.passphrase`` beside the key; the key is then protected
only by the file permissions, so labs that need more set the variable before first use (the
file is not used when the variable is set). A lab with its own certificate points the
``signing_pkcs12`` setting at a PKCS#12 file; its passphrase also comes from
``$LFP_SIGNING_PASSPHRASE``.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import json
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from lfp_desktop import config
from lfp_desktop.errors import ReportError

PASSPHRASE_ENV = "LFP_SIGNING_PASSPHRASE"
KEY_FILE = "lab_key.pem"
CERT_FILE = "lab_cert.pem"
PASSPHRASE_FILE = "lab_key.passphrase"
MANIFEST_NAME = "lfp-manifest.json"
SIGNATURE_FIELD = "LFPReportSignature"
CERT_YEARS = 10


@dataclass(frozen=True)
class SigningIdentity:
    """A private key and its certificate chain (signer first), ready to sign."""

    key: Any  # a cryptography private key
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    source: str = ""

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate (DER), 64 lowercase hex digits."""
        return cert_sha256(self.certificate.public_bytes(serialization.Encoding.DER))

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


def cert_sha256(der: bytes) -> str:
    """SHA-256 of a DER certificate as 64 lowercase hex digits."""
    return hashlib.sha256(der).hexdigest()


def format_fingerprint(hex_digest: str) -> str:
    """``AB:CD:...`` the way ``openssl x509 -fingerprint -sha256`` prints it."""
    h = hex_digest.upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def signing_dir() -> Path:
    """Folder of the lab key and certificate."""
    return config.data_dir() / "signing"


def lab_certificate_path(folder: Path | None = None) -> Path:
    """Where the lab certificate is (or will be) kept."""
    return (folder or signing_dir()) / CERT_FILE


def load_signing_identity(settings: config.Settings | None = None) -> SigningIdentity:
    """The identity reports are signed with: the configured PKCS#12, else the lab key."""
    settings = settings if settings is not None else config.load_settings()
    if settings.signing_pkcs12:
        return load_pkcs12_identity(Path(settings.signing_pkcs12), os.environ.get(PASSPHRASE_ENV))
    return ensure_lab_identity()


def ensure_lab_identity(folder: Path | None = None, *, key_size: int = 3072,
                        common_name: str | None = None) -> SigningIdentity:
    """Load the lab key and certificate from ``folder``, creating both on first use."""
    folder = folder or signing_dir()
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    if key_path.exists() != cert_path.exists():
        missing = cert_path if key_path.exists() else key_path
        raise ReportError(f"the lab signing identity in {folder} is incomplete ({missing.name} "
                          "is missing); restore it from a backup, or move the folder away to "
                          "create a new identity (reports signed before stay verifiable with "
                          "the old certificate)")
    if not key_path.exists():
        _create_lab_identity(folder, key_size, common_name or _default_common_name())
    return _load_lab_identity(folder)


def load_pkcs12_identity(path: Path, passphrase: str | None) -> SigningIdentity:
    """A user-supplied PKCS#12 (.p12/.pfx) file holding a key and its certificate."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"the signing certificate file {path} could not be read ({exc}); "
                          "fix the 'signing_pkcs12' setting") from exc
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            data, passphrase.encode() if passphrase else None)
    except ValueError as exc:
        raise ReportError(f"{path} could not be opened as PKCS#12 ({exc}); check the file and "
                          f"the passphrase in ${PASSPHRASE_ENV}") from exc
    if key is None or cert is None:
        raise ReportError(f"{path} holds no private key and certificate pair; export the "
                          "signing certificate with its private key")
    return SigningIdentity(key, cert, tuple(extra or ()), source=str(path))


def _default_common_name() -> str:
    try:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
    except (OSError, KeyError):
        who = socket.gethostname()
    return f"LFP Desktop lab signing key ({who})"


def _create_lab_identity(folder: Path, key_size: int, common_name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        passphrase = secrets.token_urlsafe(32)
        _write_private(folder / PASSPHRASE_FILE, passphrase.encode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    cert = _self_signed_certificate(key, common_name)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()))
    _write_private(folder / KEY_FILE, key_pem)
    (folder / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "LFP Desktop forensic lab")])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=False, crl_sign=False, encipher_only=False,
                          decipher_only=False)
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * CERT_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start, so the secret is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _load_lab_identity(folder: Path) -> SigningIdentity:
    passphrase, origin = _lab_passphrase(folder)
    try:
        key = serialization.load_pem_private_key((folder / KEY_FILE).read_bytes(), passphrase)
        cert = x509.load_pem_x509_certificate((folder / CERT_FILE).read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise ReportError(f"the lab signing key in {folder} could not be opened with the "
                          f"passphrase from {origin} ({exc}); set ${PASSPHRASE_ENV} to the "
                          "passphrase the key was created with") from exc
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        raise ReportError(f"{folder / CERT_FILE} does not belong to {folder / KEY_FILE}; "
                          "restore the matching pair from a backup")
    return SigningIdentity(key, cert, (), source=str(folder))


def _lab_passphrase(folder: Path) -> tuple[bytes, str]:
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV].encode(), f"${PASSPHRASE_ENV}"
    stored = folder / PASSPHRASE_FILE
    if stored.exists():
        return stored.read_bytes().strip(), str(stored)
    raise ReportError(f"the lab signing key in {folder} is encrypted and no passphrase is "
                      f"available; set ${PASSPHRASE_ENV}")


def sign_pdf(pdf: bytes, identity: SigningIdentity, manifest: dict[str, Any], *,
             reason: str = "LFP Desktop forensic attribution report",
             location: str = "") -> bytes:
    """Attach ``manifest`` as ``lfp-manifest.json`` and sign the result (PAdES B-B).

    Both go into one incremental update, so the signature covers the manifest. The signature
    certifies the document with "no changes allowed" (DocMDP), so any later change is flagged.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    _embed_manifest(writer, manifest)
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD, md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES, reason=reason, location=location or None,
        certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES)
    out = io.BytesIO()
    try:
        signers.sign_pdf(writer, meta, signer=_pyhanko_signer(identity), output=out)
    except Exception as exc:  # pyhanko raises many types; all mean "not signed"
        raise ReportError(f"the report could not be signed ({exc})") from exc
    return out.getvalue()


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as it is embedded: UTF-8 JSON, sorted keys, no NaN."""
    return json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False,
                      allow_nan=False).encode("utf-8") + b"\n"


def _embed_manifest(writer: Any, manifest: dict[str, Any]) -> None:
    from pyhanko.pdf_utils import embed, generic

    data = manifest_bytes(manifest)
    stream = embed.EmbeddedFileObject.from_file_data(
        writer, data, mime_type="application/json",
        params=embed.EmbeddedFileParams(embed_size=True, embed_checksum=True))
    spec = embed.FileSpec(
        file_spec_string=MANIFEST_NAME, file_name=MANIFEST_NAME, embedded_data=stream,
        description="Machine-readable results of this report (LFP Desktop manifest)",
        af_relationship=generic.NameObject("/Data"))
    embed.embed_file(writer, spec)


def _pyhanko_signer(identity: SigningIdentity) -> Any:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    der_key = identity.key.private_bytes(serialization.Encoding.DER,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())

    def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    certs = [asn1(c) for c in (identity.certificate, *identity.chain)]
    return signers.SimpleSigner(signing_cert=certs[0],
                                signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
                                cert_registry=SimpleCertificateStore.from_certs(certs))
