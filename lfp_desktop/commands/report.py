"""``lfp report``: export signed reports from a case, verify them, show the lab certificate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lfp_desktop.commands._common import print_json
from lfp_desktop.errors import LFPError, ReportError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="export, verify and sign attribution reports")
    rsub = p.add_subparsers(dest="report_command", metavar="ACTION", required=True)

    v = rsub.add_parser("verify", help="check a signed report: intact, valid, trusted")
    v.add_argument("report", type=Path, help="the signed report (PDF)")
    v.add_argument("--trust", type=Path, default=None,
                   help="certificate (PEM/DER) the signer must chain to, e.g. the lab's "
                        "lab_cert.pem; without it trust is not checked")
    v.add_argument("--json", action="store_true", help="print the result and manifest as JSON")
    v.set_defaults(handler=_verify)

    e = rsub.add_parser("export", help="write the signed report of one evidence item")
    _case_args(e)
    e.add_argument("--item", type=int, required=True, help="evidence item ID (a number)")
    e.set_defaults(handler=_export)

    b = rsub.add_parser("batch", help="write the signed summary of a case's batch scan")
    _case_args(b)
    b.set_defaults(handler=_batch)

    c = rsub.add_parser("cert", help="show the signing certificate (created on first use)")
    c.add_argument("--out", type=Path, default=None,
                   help="also copy the certificate (PEM) here, to hand to verifiers")
    c.set_defaults(handler=_cert)


def _case_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--case", required=True, help="case ID")
    p.add_argument("--out", type=Path, required=True, help="PDF file to write")
    p.add_argument("--paper", choices=("a4", "letter"), default="a4", help="paper size (a4)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("--root", type=Path, default=None,
                   help="case folder (default: the LFP data folder)")
    p.add_argument("--actor", default=None,
                   help="who exports, for the custody log (default: the OS user name)")


def _verify(args: argparse.Namespace) -> int:
    from lfp_desktop.reports.verify import verify_report

    result = verify_report(args.report, trust=args.trust)
    if args.json:
        print_json(result.to_dict())
    else:
        _print_verification(result)
    return 0 if result.ok else 1


def _print_verification(r: Any) -> None:
    from lfp_desktop.reports.signing import format_fingerprint
    from lfp_desktop.reports.verify import manifest_summary

    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    trusted = yes(r.trusted) if r.trust_checked else "not checked (give --trust CERT)"
    when = r.signing_time.strftime("%Y-%m-%d %H:%M:%S %Z") if r.signing_time else "-"
    lines = [("Report", str(r.path)), ("Result", r.summary), ("Intact", yes(r.intact)),
             ("Valid signature", yes(r.valid)), ("Unchanged since signing", yes(r.whole_file)),
             ("Trusted", trusted), ("Signer", r.signer_subject or "-"), ("Signing time", when),
             ("Certificate SHA-256", format_fingerprint(r.cert_sha256) if r.cert_sha256 else "-")]
    for label, value in lines:
        print(f"{label + ':':<25}{value}")
    for problem in r.problems:
        print(f"  problem: {problem}")
    if r.manifest:
        print("Manifest (embedded, signed):")
        for label, value in manifest_summary(r.manifest):
            print(f"  {label + ':':<23}{value}")
        print("  (all fields: lfp report verify --json)")


def _export(args: argparse.Namespace) -> int:
    from lfp_desktop.reports.from_case import report_data_from_case

    data = report_data_from_case(args.case, args.item, root=args.root)
    out = _write_signed(args, data, item_id=args.item)
    print(f"wrote signed report {out} (verdict {data.result.verdict})")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from lfp_desktop.reports.from_case import batch_report_data_from_case

    data = batch_report_data_from_case(args.case, root=args.root)
    out = _write_signed(args, data, item_id=None)
    print(f"wrote signed batch summary {out} ({len(data.items)} items)")
    return 0


def _write_signed(args: argparse.Namespace, data: Any, item_id: int | None) -> Path:
    from lfp_desktop.audit import default_actor
    from lfp_desktop.reports.export import export_report
    from lfp_desktop.reports.from_case import record_report
    from lfp_desktop.reports.signing import load_signing_identity

    identity = load_signing_identity()
    out = export_report(data, args.out, paper=args.paper, identity=identity,
                        overwrite=args.overwrite)
    try:
        record_report(args.case, out, identity.fingerprint, args.actor or default_actor(),
                      item_id=item_id, root=args.root)
    except LFPError as exc:
        raise ReportError(f"the report {out} was written, but recording it in the custody "
                          f"log failed ({exc})") from exc
    return out


def _cert(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives import serialization

    from lfp_desktop.reports.signing import format_fingerprint, load_signing_identity

    identity = load_signing_identity()
    print(f"Subject:      {identity.subject}")
    print(f"SHA-256:      {format_fingerprint(identity.fingerprint)}")
    print(f"Valid until:  {identity.certificate.not_valid_after_utc:%Y-%m-%d}")
    print(f"Source:       {identity.source}")
    if args.out is not None:
        if args.out.exists():
            raise ReportError(f"{args.out} already exists; choose another file name")
        args.out.write_bytes(identity.certificate.public_bytes(serialization.Encoding.PEM))
        print(f"wrote {args.out}")
    return 0
