"""Check a signed report: intact, validly signed, trusted, unchanged since signing.

Two independent checks run: pyHanko's PAdES validation, and a direct recomputation of the
signed digest from the raw bytes, which still works when tampering has broken the PDF
structure so badly that it can no longer be parsed.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lfp_desktop.errors import ReportError
from lfp_desktop.reports.rawsig import RawSignature, find_raw_signature
from lfp_desktop.reports.signing import MANIFEST_NAME, cert_sha256, format_fingerprint


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of :func:`verify_report`.

    ``intact``: the signed bytes are unchanged; ``valid``: the signature value verifies with
    the signer's certificate; ``whole_file``: nothing was added after signing; ``trusted``:
    the certificate chains to the given trust root (always False when ``trust_checked`` is
    False). ``manifest`` is the embedded JSON of the signed revision, None unless intact.
    """

    path: Path
    intact: bool
    valid: bool
    whole_file: bool
    trusted: bool
    trust_checked: bool
    signer_subject: str
    signing_time: datetime | None
    cert_sha256: str
    manifest: dict[str, Any] | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing failed (trust only counts when it was checked)."""
        return (self.intact and self.valid and self.whole_file and not self.problems
                and (self.trusted or not self.trust_checked))

    @property
    def summary(self) -> str:
        """One line a person can act on."""
        if not self.intact:
            return "NOT INTACT: the report was altered after it was signed"
        if not self.valid:
            return "INVALID: the signature does not verify"
        if not self.whole_file:
            return "CHANGED: content was added to the report after it was signed"
        if self.trust_checked and not self.trusted:
            return "intact, valid signature, but not trusted"
        if self.problems:
            return "FAILED: " + self.problems[0]
        if not self.trust_checked:
            return "intact, valid signature; trust not checked (give --trust CERT)"
        return "intact, valid signature, trusted"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for ``lfp report verify --json``)."""
        return {"path": str(self.path), "ok": self.ok, "summary": self.summary,
                "intact": self.intact, "valid": self.valid, "whole_file": self.whole_file,
                "trusted": self.trusted, "trust_checked": self.trust_checked,
                "signer_subject": self.signer_subject,
                "signing_time": self.signing_time.isoformat() if self.signing_time else None,
                "cert_sha256": self.cert_sha256, "problems": list(self.problems),
                "manifest": self.manifest}


def verify_report(path: Path, trust: Path | None = None) -> VerificationResult:
    """Verify the signature of the report at ``path``; ``trust`` is a PEM/DER certificate.

    Raises ReportError when the file cannot be read, is not a PDF or carries no signature;
    every other failure is reported in the result.
    """
    data = _read(path)
    roots = _load_trust(trust) if trust is not None else []
    raw = find_raw_signature(data)
    problems: list[str] = list(raw.problems)
    status, parse_problem = _pyhanko_status(data, roots)
    if status is None and not raw.found and not parse_problem:
        raise ReportError(f"{path} carries no digital signature; it is not a signed LFP "
                          "report, or its signature was removed")
    if parse_problem:
        problems.append(parse_problem)
    return _result(path, data, raw, status, problems, trust is not None)


def _read(path: Path) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ReportError(f"the report {path} could not be read ({exc})") from exc
    # A damaged header on a signed file is tampering to report, not a reason to stop.
    if not data.startswith(b"%PDF-") and b"/ByteRange" not in data:
        raise ReportError(f"{path} is not a PDF file")
    return data


def _load_trust(trust: Path) -> list[Any]:
    from pyhanko.keys import load_certs_from_pemder

    try:
        certs = list(load_certs_from_pemder([str(trust)]))
    except (OSError, ValueError) as exc:
        raise ReportError(f"the trusted certificate {trust} could not be read ({exc}); give a "
                          "PEM or DER X.509 certificate such as the lab's lab_cert.pem") from exc
    if not certs:
        raise ReportError(f"{trust} holds no certificate")
    return certs


@contextlib.contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    # pyHanko logs every untrusted chain with a traceback; the result says it plainly instead.
    logger = logging.getLogger("pyhanko")
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(old)


def _pyhanko_status(data: bytes, roots: list[Any]) -> tuple[Any | None, str]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    with _quiet_pyhanko():
        try:
            reader = PdfFileReader(io.BytesIO(data), strict=False)
            signatures = reader.embedded_signatures
        except Exception as exc:  # any parse failure means the structure was damaged
            return None, ("the PDF structure is damaged and cannot be read "
                          f"({type(exc).__name__}: {exc}); the file was altered or corrupted")
        if not signatures:
            return None, ""
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        try:
            return validate_pdf_signature(signatures[0], context), ""
        except Exception as exc:  # a malformed signature is a failure to report, not a crash
            return None, f"the signature could not be validated ({type(exc).__name__}: {exc})"


def _result(path: Path, data: bytes, raw: RawSignature, status: Any | None,
            problems: list[str], trust_checked: bool) -> VerificationResult:
    intact = bool(status is not None and status.intact) and raw.digest_ok is not False
    altered = raw.digest_ok is False or (status is not None and not status.intact)
    if altered:
        problems.insert(0, "the document was altered after it was signed: its bytes no "
                           "longer match the signed digest" + raw.range_text())
    elif not intact:
        problems.insert(0, "the signature could not be checked, so the report cannot be "
                           "shown to be intact")
    valid = intact and bool(status is not None and status.valid)
    if intact and not valid:
        problems.append("the signature value does not verify with the signer's certificate")
    whole = _whole_file(data, raw, status, problems) if status is not None else False
    trusted = bool(status is not None and status.trusted) and trust_checked
    cert_hex = cert_sha256(status.signing_cert.dump()) if status is not None else ""
    if trust_checked and valid and not trusted:
        problems.append(f"the signing certificate ({format_fingerprint(cert_hex)[:23]}\u2026) "
                        "does not chain to the trusted certificate given")
    manifest = _manifest(data, raw, cert_hex, problems) if valid else None
    return VerificationResult(
        path=Path(path), intact=intact, valid=valid, whole_file=whole, trusted=trusted,
        trust_checked=trust_checked,
        signer_subject=status.signing_cert.subject.human_friendly if status is not None else "",
        signing_time=status.signer_reported_dt if status is not None else None,
        cert_sha256=cert_hex, manifest=manifest, problems=tuple(problems))


def _whole_file(data: bytes, raw: RawSignature, status: Any, problems: list[str]) -> bool:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    covered = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if raw.found and raw.signed_end < len(data):
        covered = False
    if not covered:
        extra = len(data) - raw.signed_end if raw.found else 0
        problems.append(f"the file was changed after signing: {extra:,} bytes were added after "
                        "the signed revision, so what a viewer shows may differ from what was "
                        "signed")
    return covered


def _manifest(data: bytes, raw: RawSignature, cert_hex: str,
              problems: list[str]) -> dict[str, Any] | None:
    # Read from the signed revision only, so a later update cannot substitute another manifest.
    from pyhanko.pdf_utils.reader import PdfFileReader

    signed = data[:raw.signed_end] if raw.found else data
    try:
        reader = PdfFileReader(io.BytesIO(signed), strict=False)
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        specs = {str(names[i]): names[i + 1] for i in range(0, len(names), 2)}
        manifest = json.loads(specs[MANIFEST_NAME]["/EF"]["/F"].data.decode("utf-8"))
    except Exception as exc:  # absent or unreadable: report it, the signature still stands
        problems.append(f"the embedded manifest {MANIFEST_NAME} is missing or unreadable ({exc})")
        return None
    named = manifest.get("signature", {}).get("certificate_sha256")
    if named and named != cert_hex:
        problems.append("the manifest names a different signing certificate than the one that "
                        "signed the report")
    return manifest


def manifest_summary(m: dict[str, Any]) -> list[tuple[str, str]]:
    """The manifest's headline fields as (label, text) rows, for the CLI and the GUI."""
    case = m.get("case", {})
    rows = [("Kind", f"{m.get('kind', '?')} report, format {m.get('format_version', '?')}"),
            ("Created (UTC)", str(m.get("created_utc", "-"))),
            ("Case", f"{case.get('case_id', '-')}: {case.get('title', '')}"),
            ("Analyst", str(case.get("analyst", "-")))]
    if m.get("kind") == "item":
        ev, res = m.get("evidence", {}), m.get("result", {})
        rows += [("Evidence", f"{ev.get('file_name', '-')} (SHA-256 {ev.get('sha256', '-')})"),
                 ("Verdict", str(res.get("verdict", "-"))),
                 ("User", f"{res.get('user_name') or '-'} (ID {res.get('user_id') or '-'})"),
                 ("Distance / p-value",
                  f"{res.get('hamming_distance')} of {res.get('key_length')} bits, "
                  f"p = {_number(res.get('p_value'))}")]
    else:
        rows += [("Items", str(len(m.get("items", [])))),
                 ("Verdicts", ", ".join(f"{k} {v}" for k, v in
                                        m.get("counts_per_verdict", {}).items()))]
    return rows


def _number(x: Any) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)
