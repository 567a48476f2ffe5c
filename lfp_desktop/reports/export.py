"""Render, attach the manifest, sign, write: one call per report for the CLI and the GUI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lfp_desktop.errors import ReportError
from lfp_desktop.reports.model import BatchReportData, ReportData
from lfp_desktop.reports.render import render_report
from lfp_desktop.reports.render_batch import render_batch_report
from lfp_desktop.reports.signing import SigningIdentity, load_signing_identity, sign_pdf


def signed_manifest(data: ReportData | BatchReportData,
                    identity: SigningIdentity) -> dict[str, Any]:
    """The manifest of ``data`` plus the certificate that signs it."""
    return {**data.to_manifest(),
            "signature": {"certificate_sha256": identity.fingerprint,
                          "signer_subject": identity.subject, "format": "PAdES B-B"}}


def signed_report_bytes(data: ReportData | BatchReportData, *, paper: str = "a4",
                        identity: SigningIdentity | None = None) -> bytes:
    """The signed PDF of an item report or a batch summary."""
    identity = identity or load_signing_identity()
    if isinstance(data, ReportData):
        pdf = render_report(data, cert_fingerprint=identity.fingerprint, paper=paper)
    else:
        pdf = render_batch_report(data, cert_fingerprint=identity.fingerprint, paper=paper)
    return sign_pdf(pdf, identity, signed_manifest(data, identity))


def export_report(data: ReportData | BatchReportData, out: Path, *, paper: str = "a4",
                  identity: SigningIdentity | None = None, overwrite: bool = False) -> Path:
    """Write the signed report to ``out`` atomically; refuses to replace a file unless told."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise ReportError(f"{out} already exists; choose another file name or allow "
                          "overwriting")
    if not out.parent.is_dir():
        raise ReportError(f"the folder {out.parent} does not exist; create it first")
    pdf = signed_report_bytes(data, paper=paper, identity=identity)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        tmp.write_bytes(pdf)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"the report could not be written to {out} ({exc})") from exc
    return out
