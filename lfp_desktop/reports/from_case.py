"""Build report data from a case store: the item, its latest stored result, its custody log.

Reads the case read-only; checks each attachment against the SHA-256 recorded with the result
and the evidence copy against its intake hash before anything goes into a report.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from lfp_desktop.errors import ReportError
from lfp_desktop.reports.model import (VERDICTS, BatchItem, BatchReportData, CaseInfo,
                                       CustodyEntry, EvidenceInfo, MethodInfo, ReportData,
                                       ResultInfo)

ANALYSED_PNG = "analysed.png"  # attachment names the application stores results with
RECONSTRUCTION_PNG = "reconstruction.png"
THUMBNAIL_PX = 256
DIFFERENCE_GAIN = 4  # the difference image is |suspect - reconstruction| x 4, clipped


def report_data_from_case(case_id: str, item_id: int, *, root: Path | None = None,
                          now: datetime | None = None) -> ReportData:
    """Report data for evidence item ``item_id`` of case ``case_id`` (its latest result)."""
    from lfp_desktop.casework import CaseStore

    with CaseStore(root).open_case(case_id, readonly=True) as case:
        item = case.item(int(item_id))
        stored = case.latest_result(item.id)
        if stored is None:
            raise ReportError(f"evidence item {item.id} of case {case.id} has no stored result; "
                              "attribute it first")
        r = stored.result
        _check_verdict(r, item.id)
        images = _attachments(stored)
        thumb = _thumbnail(case.load_image(item.id).rgb)
        custody = tuple(_custody_entry(e) for e in case.custody(item.id))
        head_seq, head_hash = case.head()
        evidence = EvidenceInfo(
            file_name=item.original_name, size_bytes=item.size_bytes, sha256=item.sha256,
            format=item.format, width=item.width, height=item.height,
            intake_utc=parse_utc(item.intake_utc), item_id=str(item.id),
            conversions=tuple(item.conversions) + ((str(r["fit"]),) if r.get("fit") else ()),
            thumbnail=thumb)
        return ReportData(
            case=CaseInfo(case.id, case.title, case.analyst, case.notes), evidence=evidence,
            method=method_from_result(r), result=_result_info(r, images),
            created_utc=_now(now), custody=custody,
            source={"result_id": str(stored.id), "result_sha256": stored.result_sha256,
                    "result_stored_utc": stored.created_utc,
                    "custody_head": f"{head_seq}:{head_hash}"})


def batch_report_data_from_case(case_id: str, *, root: Path | None = None,
                                now: datetime | None = None) -> BatchReportData:
    """Summary of every item of a case by its latest result (items without one are listed)."""
    from lfp_desktop.casework import CaseStore

    with CaseStore(root).open_case(case_id, readonly=True) as case:
        items = case.items()
        if not items:
            raise ReportError(f"case {case.id} holds no evidence; nothing to summarise")
        latest = [(it, case.latest_result(it.id)) for it in items]
        with_verdict = [s.result for _, s in latest
                        if s is not None and s.result.get("verdict") in VERDICTS]
        if not with_verdict:
            raise ReportError(f"no item of case {case.id} has a result with a verdict; "
                              "attribute the evidence against a registry first")
        method = method_from_result(with_verdict[-1])
        # JPEG evidence may have been compared through its file's grid, the rest pixel by pixel.
        losses = sorted({str(r.get("loss") or "-") for r in with_verdict})
        method = replace(method, loss=" / ".join(losses))
        rows = tuple(_batch_item(it, s, method) for it, s in latest)
        return BatchReportData(CaseInfo(case.id, case.title, case.analyst, case.notes), method,
                               rows, _now(now))


def method_from_result(r: Mapping[str, Any]) -> MethodInfo:
    """Engine, model and settings recorded with a stored result."""
    settings = r.get("settings") or {}
    try:
        return MethodInfo(
            engine_version=str(r["engine_version"]),
            checkpoint_sha256=str(r["checkpoint_sha256"]),
            scheme_sha256=str(r["scheme_sha256"]),
            registry_digest=str(r.get("registry_digest") or "-"),
            model_name=str(r.get("model") or "-"), loss=str(r.get("loss") or "-"),
            starts=int(settings.get("starts", len(r.get("final_losses") or ()))),
            steps=int(settings.get("steps", r.get("steps_run", 0))),
            device=str(r.get("device") or "-"),
            early_stopping=bool(settings.get("early_stopping", False)),
            target_fpr=float(r["target_fpr"]),
            seed=None if settings.get("seed") is None else int(settings["seed"]),
            blur_radius=int(settings.get("blur_radius") or 0),
            statistic=str(r.get("statistic") or "hamming"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"the stored result lacks a method field ({exc}); it was not made by "
                          "this version of LFP Desktop — attribute the item again") from exc


def parse_utc(text: str) -> datetime:
    """A stored ISO-8601 UTC stamp ('...Z') as an aware datetime."""
    try:
        t = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ReportError(f"the stored time {text!r} is not an ISO-8601 time") from exc
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(timezone.utc)).replace(microsecond=0)


def _check_verdict(r: Mapping[str, Any], item_id: int) -> None:
    if r.get("verdict") not in VERDICTS:
        raise ReportError(f"the latest result of item {item_id} has no verdict against a key "
                          f"registry ({r.get('verdict')!r}); attribute it with a registry first")


def _attachments(stored: Any) -> dict[str, np.ndarray]:
    """The stored images, each checked against the hash recorded with the result."""
    from PIL import Image

    out = {}
    for name in (ANALYSED_PNG, RECONSTRUCTION_PNG):
        path = stored.attachments.get(name)
        if path is None:
            continue
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ReportError(f"the stored attachment {name} is missing ({exc}); run "
                              "'lfp case verify' on the case") from exc
        if hashlib.sha256(data).hexdigest() != stored.attachment_sha256.get(name):
            raise ReportError(f"the stored attachment {name} no longer matches its recorded "
                              "SHA-256; it was altered — run 'lfp case verify' on the case")
        with Image.open(io.BytesIO(data)) as im:
            out[name] = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return out


def _thumbnail(rgb: np.ndarray) -> bytes:
    """PNG of the evidence image, at most ``THUMBNAIL_PX`` on its longer side."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    im.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _result_info(r: Mapping[str, Any], images: dict[str, np.ndarray]) -> ResultInfo:
    bits = _bits(r["bits"])
    suspect, recon = images.get(ANALYSED_PNG), images.get(RECONSTRUCTION_PNG)
    diff = None
    if suspect is not None and recon is not None and suspect.shape == recon.shape:
        delta = np.abs(suspect.astype(np.int16) - recon.astype(np.int16)) * DIFFERENCE_GAIN
        diff = np.clip(delta, 0, 255).astype(np.uint8)
    verdict = str(r["verdict"])
    return ResultInfo(
        verdict=verdict, key_length=int(r.get("key_len") or bits.size),
        registry_size=int(r.get("registry_size") or 0), decoded_bits=bits,
        bit_confidence=np.asarray(r["confidence"], dtype=np.float64),
        start_agreement=np.asarray(r["agreement"], dtype=np.float64),
        user_id=None if r.get("user_id") is None else str(r["user_id"]),
        user_name=r.get("user_name"), d1=r.get("hamming_distance"),
        d2=r.get("runner_up_distance"), runner_up_name=r.get("runner_up_name"),
        margin=r.get("margin"), p_value=r.get("p_value"),
        matched_key_bits=_bits(r["matched_key"]) if r.get("matched_key") else None,
        winning_start=int(r.get("winning_start", 0)),
        final_losses=np.asarray([_nan(v) for v in r.get("final_losses") or ()], dtype=np.float64),
        loss_curves=_curves(r.get("loss_curves")),
        reconstruction_distance=r.get("reconstruction_distance"),
        suspect_image=suspect, reconstruction_image=recon, difference_image=diff,
        inconclusive_reasons=tuple(r.get("reasons") or ()) if verdict == "INCONCLUSIVE" else (),
        weighted_distance=r.get("weighted_distance"), runner_up_weighted_distance=r.get("runner_up_weighted_distance"),
        weight_total=r.get("weight_total"), margin_bits=r.get("margin_bits"))


def _batch_item(item: Any, stored: Any, method: MethodInfo) -> BatchItem:
    name, prefix = item.original_name, item.sha256[:12]
    if stored is None:
        return BatchItem(name, prefix, None, error="not attributed yet")
    r = stored.result
    if r.get("verdict") not in VERDICTS:
        return BatchItem(name, prefix, None, error="attributed without a key registry")
    note = "" if r.get("checkpoint_sha256") == method.checkpoint_sha256 and \
        r.get("registry_digest", "-") in (method.registry_digest, "", None) else \
        "other model or registry than stated in section 2"
    user = r.get("user_name") if r["verdict"] != "NO MATCH" else None
    return BatchItem(name, prefix, r["verdict"], user, r.get("hamming_distance"),
                     r.get("p_value"), note)


def _custody_entry(e: Any) -> CustodyEntry:
    return CustodyEntry(parse_utc(e.utc), e.actor, e.action.replace("_", " "),
                        custody_detail(e.details), e.entry_hash)


# Details a reader looks for first; the rest follow in their stored order.
_DETAIL_ORDER = ("sha256", "original_path", "path", "size_bytes", "verdict", "user_id",
                 "result_id", "result_sha256", "file", "certificate_sha256", "reason")


def custody_detail(details: Mapping[str, Any], limit: int = 160) -> str:
    """A custody entry's details in one short line (scalars only; hashes shortened)."""
    parts = []
    keys = [k for k in _DETAIL_ORDER if k in details]
    keys += [k for k in details if k not in _DETAIL_ORDER]
    for key in keys:
        value = details[key]
        if isinstance(value, (dict, list)) or value is None or value == "":
            continue
        text = str(value)
        if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
            text = text[:12] + "\u2026"
        parts.append(f"{key.replace('_', ' ')}: {text}")
    line = "; ".join(parts)
    return line if len(line) <= limit else line[:limit - 1] + "\u2026"


def _bits(text: Any) -> np.ndarray:
    if not isinstance(text, str) or not text or set(text) - {"0", "1"}:
        raise ReportError(f"the stored key bits {str(text)[:20]!r} are not a string of 0/1")
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")


def _nan(v: Any) -> float:
    return math.nan if v is None else float(v)


def _curves(rows: Any) -> np.ndarray:
    if not rows:
        return np.zeros((0, 0))
    return np.array([[_nan(v) for v in row] for row in rows], dtype=np.float64)


def record_report(case_id: str, out: Path, certificate_sha256: str, actor: str, *,
                  item_id: int | None = None, root: Path | None = None) -> None:
    """Add a 'report_signed' custody entry (file name, its SHA-256, signing certificate)."""
    from lfp_desktop.casework import CaseStore

    digest = hashlib.sha256(Path(out).read_bytes()).hexdigest()
    details = {"file": Path(out).name, "sha256": digest, "certificate_sha256": certificate_sha256,
               "kind": "item" if item_id is not None else "batch"}
    with CaseStore(root).open_case(case_id) as case:
        case.record(actor, "report_signed", details, item_id=item_id)
