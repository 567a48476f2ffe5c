"""Everything a report shows, as plain frozen data (no widgets, no torch).

The case store fills these; the renderer draws them; :meth:`ReportData.to_manifest` turns them
into the JSON manifest embedded in the signed PDF.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from lfp_desktop import __version__
from lfp_desktop.engine.settings import STATISTICS
from lfp_desktop.errors import ReportError

VERDICTS = ("ATTRIBUTED", "INCONCLUSIVE", "NO MATCH")
MANIFEST_FORMAT = "lfp-report-manifest"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class CaseInfo:
    """Who examined what, under which case."""

    case_id: str
    title: str
    analyst: str
    notes: str = ""

    def to_manifest(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "title": self.title, "analyst": self.analyst,
                "notes": self.notes}


@dataclass(frozen=True, eq=False)
class EvidenceInfo:
    """The examined file as received at intake.

    ``thumbnail`` is PNG bytes or a uint8 HxWx3 array (or None); ``size_bytes`` is the file
    size in bytes; ``width``/``height`` are the decoded image size in pixels.
    """

    file_name: str
    size_bytes: int
    sha256: str
    format: str
    width: int
    height: int
    intake_utc: datetime
    item_id: str = ""
    conversions: tuple[str, ...] = ()
    thumbnail: bytes | np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_sha256(self.sha256, "evidence SHA-256")
        _check_utc(self.intake_utc, "evidence intake time")
        if isinstance(self.thumbnail, np.ndarray):
            object.__setattr__(self, "thumbnail", _frozen_image(self.thumbnail, "thumbnail"))

    def to_manifest(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "file_name": self.file_name,
                "size_bytes": int(self.size_bytes), "sha256": self.sha256.lower(),
                "format": self.format, "width": int(self.width), "height": int(self.height),
                "intake_utc": iso_utc(self.intake_utc), "conversions": list(self.conversions)}


@dataclass(frozen=True)
class MethodInfo:
    """Engine, model and settings of the attribution run; hashes are hex SHA-256."""

    engine_version: str
    checkpoint_sha256: str
    scheme_sha256: str
    registry_digest: str
    model_name: str
    loss: str
    starts: int
    steps: int
    device: str
    early_stopping: bool
    target_fpr: float
    seed: int | None = None
    blur_radius: int = 0  # 0: no blur model
    statistic: str = "hamming"  # key comparison: "hamming" or "weighted" (by bit confidence)

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            raise ReportError(f"key comparison {self.statistic!r} is not 'hamming' or 'weighted'")
        _check_sha256(self.checkpoint_sha256, "checkpoint SHA-256")
        _check_sha256(self.scheme_sha256, "scheme SHA-256")
        if not 0.0 < self.target_fpr < 1.0:
            raise ReportError(f"target false-positive rate {self.target_fpr} is not in (0, 1)")

    def to_manifest(self) -> dict[str, Any]:
        return {"engine_version": self.engine_version,
                "checkpoint_sha256": self.checkpoint_sha256.lower(),
                "scheme_sha256": self.scheme_sha256.lower(),
                "registry_digest": self.registry_digest, "model_name": self.model_name,
                "loss": self.loss, "starts": int(self.starts), "steps": int(self.steps),
                "device": self.device, "early_stopping": bool(self.early_stopping),
                "target_fpr": float(self.target_fpr),
                "seed": None if self.seed is None else int(self.seed),
                **({"blur_radius": int(self.blur_radius)} if self.blur_radius else {}),
                **({"statistic": self.statistic} if self.statistic != "hamming" else {})}


@dataclass(frozen=True, eq=False)
class ResultInfo:
    """What attribution found.

    Shapes: ``decoded_bits``/``matched_key_bits`` uint8 (K,) of 0/1; ``bit_confidence``
    float (K,) in [0, 0.5] (|sigmoid(kappa) - 1/2|); ``start_agreement`` float (K,) in [0, 1]
    (share of starts that decoded the winner's bit); ``final_losses`` float (starts,);
    ``loss_curves`` float (steps, starts), NaN after a start stopped early; images uint8
    HxWx3. ``d1``/``d2`` are Hamming distances in bits, ``p_value`` the chance under the null
    hypothesis that some registered key lies within ``d1`` of the decoded one — or, with the
    confidence-weighted comparison, within ``weighted_distance`` (of ``weight_total``, the sum
    of the bit weights); ``margin_bits`` is then the weighted margin in bits.
    """

    verdict: str
    key_length: int
    registry_size: int
    decoded_bits: np.ndarray
    bit_confidence: np.ndarray
    start_agreement: np.ndarray
    user_id: str | None = None
    user_name: str | None = None
    d1: int | None = None
    d2: int | None = None
    runner_up_name: str | None = None
    margin: int | None = None
    p_value: float | None = None
    matched_key_bits: np.ndarray | None = None
    winning_start: int = 0
    final_losses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_curves: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    reconstruction_distance: float | None = None
    suspect_image: np.ndarray | None = None
    reconstruction_image: np.ndarray | None = None
    difference_image: np.ndarray | None = None
    inconclusive_reasons: tuple[str, ...] = ()
    weighted_distance: int | None = None
    runner_up_weighted_distance: int | None = None
    weight_total: int | None = None
    margin_bits: float | None = None

    def __post_init__(self) -> None:
        self._set("verdict", _verdict_text(self.verdict))
        if self.verdict not in VERDICTS:
            raise ReportError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")
        k = self.key_length
        self._set("decoded_bits", _bits(self.decoded_bits, k, "decoded key"))
        if self.matched_key_bits is not None:
            self._set("matched_key_bits", _bits(self.matched_key_bits, k, "matched key"))
        self._set("bit_confidence", _floats(self.bit_confidence, (k,), 0.0, 0.5, "confidence"))
        self._set("start_agreement",
                  _floats(self.start_agreement, (k,), 0.0, 1.0, "start agreement"))
        self._set("final_losses", _floats(self.final_losses, None, None, None, "final losses"))
        curves = np.asarray(self.loss_curves, dtype=np.float64)
        if curves.ndim != 2:
            raise ReportError(f"loss curves must be (steps, starts); got shape {curves.shape}")
        self._set("loss_curves", _readonly(curves))
        for name in ("suspect_image", "reconstruction_image", "difference_image"):
            if getattr(self, name) is not None:
                self._set(name, _frozen_image(getattr(self, name), name.replace("_", " ")))

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def to_manifest(self) -> dict[str, Any]:
        matched = self.matched_key_bits
        return {
            "verdict": self.verdict, "user_id": self.user_id, "user_name": self.user_name,
            "hamming_distance": _opt_int(self.d1), "runner_up_distance": _opt_int(self.d2),
            "runner_up_name": self.runner_up_name, "margin": _opt_int(self.margin),
            "p_value": None if self.p_value is None else float(self.p_value),
            "key_length": int(self.key_length), "registry_size": int(self.registry_size),
            "decoded_key": bit_string(self.decoded_bits),
            "matched_key": None if matched is None else bit_string(matched),
            "bit_confidence": _rounded(self.bit_confidence),
            "start_agreement": _rounded(self.start_agreement),
            "winning_start": int(self.winning_start),
            "final_losses": _rounded(self.final_losses),
            "reconstruction_distance": _opt_float(self.reconstruction_distance),
            "inconclusive_reasons": list(self.inconclusive_reasons),
            "images_sha256": {name: image_sha256(getattr(self, f"{name}_image"))
                              for name in ("suspect", "reconstruction", "difference")},
            **({"weighted_distance": _opt_int(self.weighted_distance),
                "runner_up_weighted_distance": _opt_int(self.runner_up_weighted_distance),
                "weight_total": _opt_int(self.weight_total), "margin_bits": _opt_float(self.margin_bits)}
               if self.weighted_distance is not None else {}),
        }


@dataclass(frozen=True)
class CustodyEntry:
    """One line of the chain-of-custody log; ``entry_hash`` chains it to the one before."""

    time_utc: datetime
    actor: str
    action: str
    detail: str
    entry_hash: str

    def __post_init__(self) -> None:
        _check_utc(self.time_utc, "custody entry time")

    def to_manifest(self) -> dict[str, Any]:
        return {"time_utc": iso_utc(self.time_utc), "actor": self.actor, "action": self.action,
                "detail": self.detail, "entry_hash": self.entry_hash}


@dataclass(frozen=True, eq=False)
class ReportData:
    """One evidence item's report. ``created_utc`` is the report's date (also the PDF's);
    ``source`` names the stored records it was made from (e.g. result id and SHA-256)."""

    case: CaseInfo
    evidence: EvidenceInfo
    method: MethodInfo
    result: ResultInfo
    created_utc: datetime
    custody: tuple[CustodyEntry, ...] = ()
    source: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_utc(self.created_utc, "report time")
        object.__setattr__(self, "custody", tuple(self.custody))
        object.__setattr__(self, "source", {str(k): str(v) for k, v in self.source.items()})

    def to_manifest(self) -> dict[str, Any]:
        """The JSON manifest: hashes, settings, verdict and numbers (JSON-safe, no NaN)."""
        return {**_header("item", self.created_utc),
                "case": self.case.to_manifest(), "evidence": self.evidence.to_manifest(),
                "method": self.method.to_manifest(), "result": self.result.to_manifest(),
                "custody": [c.to_manifest() for c in self.custody], "source": dict(self.source)}


@dataclass(frozen=True)
class BatchItem:
    """One row of a batch scan; ``verdict`` is None when the item failed (see ``error``)."""

    file_name: str
    sha256_prefix: str
    verdict: str | None
    user: str | None = None
    d1: int | None = None
    p_value: float | None = None
    error: str = ""

    def __post_init__(self) -> None:
        if self.verdict is not None:
            object.__setattr__(self, "verdict", _verdict_text(self.verdict))
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise ReportError(f"batch item {self.file_name}: verdict {self.verdict!r} is not "
                              f"one of {', '.join(VERDICTS)}")

    def to_manifest(self) -> dict[str, Any]:
        return {"file_name": self.file_name, "sha256_prefix": self.sha256_prefix,
                "verdict": self.verdict, "user": self.user, "hamming_distance": _opt_int(self.d1),
                "p_value": _opt_float(self.p_value), "error": self.error}


@dataclass(frozen=True)
class BatchReportData:
    """Summary of a batch scan: one row per item, counts derived from the rows."""

    case: CaseInfo
    method: MethodInfo
    items: tuple[BatchItem, ...]
    created_utc: datetime

    def __post_init__(self) -> None:
        _check_utc(self.created_utc, "report time")
        object.__setattr__(self, "items", tuple(self.items))

    @property
    def counts_per_verdict(self) -> dict[str, int]:
        """Items per verdict, every verdict listed, plus ``ERROR`` for failed items."""
        counts = Counter(i.verdict or "ERROR" for i in self.items)
        return {v: counts.get(v, 0) for v in (*VERDICTS, "ERROR")}

    @property
    def counts_per_user(self) -> dict[str, int]:
        """ATTRIBUTED items per user, most first, ties by name."""
        counts = Counter(i.user or "?" for i in self.items if i.verdict == "ATTRIBUTED")
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_manifest(self) -> dict[str, Any]:
        return {**_header("batch", self.created_utc), "case": self.case.to_manifest(),
                "method": self.method.to_manifest(),
                "items": [i.to_manifest() for i in self.items],
                "counts_per_verdict": self.counts_per_verdict,
                "counts_per_user": self.counts_per_user}


def iso_utc(t: datetime) -> str:
    """``2024-05-01T12:00:00Z`` (seconds precision)."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bit_string(bits: np.ndarray) -> str:
    """Bits as a string of '0'/'1', bit 0 first."""
    return "".join("1" if b else "0" for b in np.asarray(bits).ravel())


def image_sha256(image: np.ndarray | None) -> str | None:
    """SHA-256 of a uint8 HxWx3 image's row-major pixel buffer, with its shape prefixed."""
    if image is None:
        return None
    h = hashlib.sha256(("%dx%dx%d:" % image.shape).encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()


def _header(kind: str, created: datetime) -> dict[str, Any]:
    return {"format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION, "kind": kind,
            "software": {"name": "LFP Desktop", "version": __version__},
            "created_utc": iso_utc(created)}


def _verdict_text(verdict: Any) -> str:
    # The engine's Verdict is a str Enum; keep its value so f-strings print "NO MATCH".
    return str(getattr(verdict, "value", verdict))


def _check_sha256(value: str, what: str) -> None:
    if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise ReportError(f"{what} must be 64 hex digits; got {value!r}")


def _check_utc(t: datetime, what: str) -> None:
    if not isinstance(t, datetime) or t.tzinfo is None:
        raise ReportError(f"{what} must be a timezone-aware datetime (UTC); got {t!r}")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def _bits(bits: Any, k: int, what: str) -> np.ndarray:
    a = np.asarray(bits)
    if a.shape != (k,) or not np.isin(a, (0, 1)).all():
        raise ReportError(f"{what} must be {k} bits of 0/1; got shape {a.shape}")
    return _readonly(a.astype(np.uint8))


def _floats(values: Any, shape: tuple[int, ...] | None, lo: float | None, hi: float | None,
            what: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if shape is not None and a.shape != shape:
        raise ReportError(f"{what} must have shape {shape}; got {a.shape}")
    if lo is not None and hi is not None and not ((a >= lo) & (a <= hi)).all():
        raise ReportError(f"{what} values must lie in [{lo}, {hi}]")
    return _readonly(a)


def _frozen_image(image: np.ndarray, what: str) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ReportError(f"{what} must be a uint8 HxWx3 image; got {image.dtype} "
                          f"{image.shape}")
    return _readonly(image)


def _rounded(a: np.ndarray) -> list[float | None]:
    # Six decimals keep the manifest readable; NaN (a stopped start) becomes null.
    return [None if not np.isfinite(x) else round(float(x), 6) for x in np.ravel(a)]


def _opt_int(x: int | None) -> int | None:
    return None if x is None else int(x)


def _opt_float(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)
