"""Make the sample signed report of a demo investigation that ships in resources/.

In a fresh, temporary LFP home the script builds the demo workspace, opens a case, takes in
one clean fingerprinted demo image, attributes it against the demo registry with the default
settings (as the desktop application does, and stores the result with the same fields and
attachments), creates a self-signed lab certificate and exports the signed report with
``lfp report export``. It then checks the report (signature valid and trusted, verdict
ATTRIBUTED to the user the demo manifest names) and only then writes:

- ``resources/sample-report.pdf``: the signed report;
- ``resources/sample-report-lab-cert.pem``: the lab certificate (public part only), for
  ``lfp report verify resources/sample-report.pdf --trust resources/sample-report-lab-cert.pem``;
- ``resources/screenshots/sample-report-page1.png``: page 1 rendered by poppler's pdftoppm.

The private key lives only in the temporary home, which is deleted at the end. Attribution
takes about a minute on a CPU. Run from the repository root:

    nice -n 10 env OMP_NUM_THREADS=1 python packaging/make_sample_report.py

Needs poppler's pdftoppm on the PATH for the PNG.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PDF_NAME = "sample-report.pdf"
CERT_NAME = "sample-report-lab-cert.pem"
PNG_NAME = "sample-report-page1.png"
PNG_DPI = 110
SIGNER = "LFP Desktop sample lab (self-signed, demo only)"
ANALYST = "Demo Analyst"
CASE_TITLE = "Demo investigation: a face posted online"
CASE_NOTES = ("Sample case made from the bundled demo workspace; the evidence image and the "
              "registry of 1,000 users are synthetic.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "resources",
                   help="folder for the PDF and certificate; the PNG goes to OUT/screenshots "
                        "(default: resources/)")
    p.add_argument("--image", default="",
                   help="demo evidence file to analyse (default: the first clean fingerprinted one)")
    args = p.parse_args(argv)
    if shutil.which("pdftoppm") is None:
        raise SystemExit("poppler's pdftoppm is not on the PATH; install poppler-utils first")
    home = Path(tempfile.mkdtemp(prefix="lfp-sample-"))
    os.environ["LFP_HOME"] = str(home)  # before lfp_desktop reads its folders
    sys.path.insert(0, str(REPO))
    try:
        made = make_report(home / "out", args.image)
        publish(made, args.out)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


def make_report(work: Path, image_name: str) -> dict[str, Any]:
    """Run the whole investigation in the current LFP home; returns the files and the check."""
    from lfp_desktop.demo.workspace import build_demo_workspace
    from lfp_desktop.reports.signing import ensure_lab_identity, lab_certificate_path

    work.mkdir(parents=True)
    ws = build_demo_workspace()
    entry = pick_evidence(ws.manifest(), image_name)
    print(f"evidence: {entry['file']} (made for {entry['user_name']})")
    ensure_lab_identity(common_name=SIGNER)
    case_id, item_id = open_case(ws.evidence_dir / entry["file"])
    record = attribute_item(case_id, item_id, ws.registry_path, ws.checkpoint_path)
    print(f"verdict {record['verdict']}: {record.get('user_name')} "
          f"({record.get('hamming_distance')} of {record.get('key_len')} bits differ, "
          f"p = {record.get('p_value'):.3g}, {record.get('seconds', 0):.0f} s)")
    pdf = work / PDF_NAME
    _cli(["report", "export", "--case", case_id, "--item", str(item_id), "--out", str(pdf),
          "--actor", ANALYST])
    cert = work / CERT_NAME
    shutil.copyfile(lab_certificate_path(), cert)
    check_report(pdf, cert, entry["user_name"])
    png = work / PNG_NAME
    render_page1(pdf, png)
    return {"pdf": pdf, "cert": cert, "png": png}


def pick_evidence(manifest: list[dict], name: str) -> dict:
    """The manifest entry of ``name``, or of the first fingerprinted image with no
    post-processing; it must name the user the image was made for."""
    for e in manifest:
        wanted = e["file"] == name if name else (e["kind"] == "fingerprinted"
                                                 and e["postprocess"] == "none")
        if wanted:
            if not e.get("user_name"):
                raise SystemExit(f"{e['file']} was not made for a registered user; pick a "
                                 "fingerprinted demo image")
            return e
    raise SystemExit(f"no demo evidence file {name!r}" if name else
                     "the demo manifest has no clean fingerprinted image")


def open_case(image: Path) -> tuple[str, int]:
    """A new case holding ``image`` as its one evidence item: (case id, item id)."""
    from lfp_desktop.casework import CaseStore

    with CaseStore().new_case(CASE_TITLE, ANALYST, CASE_NOTES) as case:
        item = case.add_evidence(image, ANALYST)
        return case.id, item.id


def attribute_item(case_id: str, item_id: int, registry: Path, checkpoint: Path) -> dict:
    """Attribute the item with the default settings and store the result in the case, with
    the record and attachments the desktop application stores; returns the record."""
    from lfp_desktop.analysis import analyse
    from lfp_desktop.casework import CaseStore, fit_to_resolution
    from lfp_desktop.config import Settings

    settings = Settings()
    ctx = load_model(registry, checkpoint, settings.device)
    options, policy = run_options(settings)
    with CaseStore().open_case(case_id) as case:
        item = case.item(item_id)
        image, fit_note = fit_to_resolution(case.load_image(item_id).rgb,
                                            int(ctx.generator.config.size))
        analysis = analyse(ctx, [image], settings=options, policy=policy)[0]
        record, attachments = stored_record(ctx, analysis, image, item.sha256, fit_note)
        case.store_result(item_id, record, ANALYST, attachments=attachments)
    return record


def load_model(registry: Path, checkpoint: Path, device: str) -> Any:
    """ModelContext of the demo: the scheme as the registry holds it, its keys and digest."""
    from lfp_desktop.analysis import ModelContext
    from lfp_desktop.engine.checkpoint import load_generator
    from lfp_desktop.engine.scheme import scheme_from_bytes
    from lfp_desktop.registry import Registry

    with Registry.open(registry, readonly=True) as reg:
        scheme_bytes, keys, name = reg.scheme_bytes(), reg.load_keys(), reg.scheme_name
    generator = load_generator(checkpoint, device=device)
    scheme = scheme_from_bytes(scheme_bytes, origin=f"the scheme of registry {registry.name}",
                               checkpoint_sha256=generator.sha256)
    ctx = ModelContext(generator=generator, scheme=scheme, keys=keys, name=name,
                       registry_digest=keys.digest)
    ctx.check()
    return ctx


def run_options(settings: Any) -> tuple[Any, Any]:
    """(AttributionSettings, DecisionPolicy) from the user settings, as the application
    and ``lfp attribute`` build them."""
    from lfp_desktop.engine.matching import DecisionPolicy
    from lfp_desktop.engine.settings import AttributionSettings

    kw = {"starts": settings.starts, "steps": settings.steps, "loss": settings.loss,
          "lpips_backbone": settings.lpips_backbone}
    options = (AttributionSettings(**kw) if settings.early_stopping
               else AttributionSettings.reference(**kw))
    options.validate()
    return options, DecisionPolicy(target_fpr=settings.target_fpr)


def stored_record(ctx: Any, analysis: Any, image: Any, item_sha256: str,
                  fit_note: str) -> tuple[dict, dict[str, bytes]]:
    """The result record (analysis fields, nearest key's bits, evidence hash, fit) and the
    analysed and reconstructed images as PNG, named as the application names them."""
    import numpy as np

    from lfp_desktop.reports.from_case import ANALYSED_PNG, RECONSTRUCTION_PNG
    from lfp_desktop.reports.model import bit_string

    record = analysis.to_dict(arrays=True)
    matched = None
    if analysis.decision is not None and analysis.decision.match.index >= 0:
        packed = ctx.keys.packed[analysis.decision.match.index]
        matched = bit_string(np.unpackbits(packed)[:ctx.keys.key_len])
    record.update({"matched_key": matched, "item_sha256": item_sha256, "fit": fit_note,
                   "model_size": int(image.shape[0])})
    attachments = {ANALYSED_PNG: _png(image),
                   RECONSTRUCTION_PNG: _png(analysis.attribution.reconstruction)}
    return record, attachments


def _png(image: Any) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _cli(argv: list[str]) -> None:
    from lfp_desktop.cli import main as lfp

    if lfp(argv) != 0:
        raise SystemExit(f"'lfp {' '.join(argv)}' failed")


def check_report(pdf: Path, cert: Path, expected_user: str) -> None:
    """Stop unless the report verifies, is trusted by ``cert`` and names ``expected_user``."""
    from lfp_desktop.reports.verify import verify_report

    result = verify_report(pdf, trust=cert)
    if not result.ok:
        raise SystemExit(f"the sample report does not verify: {result.summary}; "
                         + "; ".join(result.problems))
    verdict = result.manifest["result"]
    if verdict.get("verdict") != "ATTRIBUTED" or verdict.get("user_name") != expected_user:
        raise SystemExit(f"the report says {verdict.get('verdict')} {verdict.get('user_name')}, "
                         f"but the demo manifest names {expected_user}; not publishing it")
    print(f"verified: {result.summary}; the report names {expected_user}")


def render_page1(pdf: Path, png: Path) -> None:
    """Page 1 of ``pdf`` as a PNG at ``PNG_DPI`` (poppler's pdftoppm)."""
    subprocess.run(["pdftoppm", "-png", "-r", str(PNG_DPI), "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(png.with_suffix(""))], check=True)


def publish(made: dict[str, Any], out: Path) -> None:
    """Copy the checked files to ``out`` (the PNG to ``out/screenshots``)."""
    targets = {"pdf": out / PDF_NAME, "cert": out / CERT_NAME,
               "png": out / "screenshots" / PNG_NAME}
    for key, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made[key], target)
        print(f"wrote {target} ({target.stat().st_size:,} bytes)")


if __name__ == "__main__":
    raise SystemExit(main())
