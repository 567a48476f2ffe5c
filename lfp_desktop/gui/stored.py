"""Outcomes to and from the case store: the stored result record and its image attachments."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from lfp_desktop.gui.jobs import ItemOutcome
from lfp_desktop.scan.records import (
    ANALYSED_PNG,
    RECONSTRUCTION_PNG,
    bit_string,
    png_bytes,
    result_record,
)

__all__ = [
    "ANALYSED_PNG",
    "RECONSTRUCTION_PNG",
    "bit_string",
    "outcome_from_stored",
    "outcome_record",
    "png_bytes",
    "read_png",
]


def read_png(data: bytes) -> np.ndarray:
    """uint8 (H, W, 3) from PNG bytes we wrote ourselves."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def outcome_record(outcome: ItemOutcome, *, item_sha256: str, fit_note: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(result dict, attachments) to store, in the layout every face writes (scan.records)."""
    return result_record(outcome.record, matched=outcome.matched_bits, item_sha256=item_sha256, fit_note=fit_note,
                         image=outcome.image, reconstruction=outcome.reconstruction)


def _bits(text: Any) -> np.ndarray | None:
    if not isinstance(text, str) or not text:
        return None
    return (np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.uint8)


def _curves(rows: Any) -> np.ndarray:
    if not rows:
        return np.zeros((0, 0), np.float32)
    return np.array([[math.nan if v is None else v for v in row] for row in rows], dtype=np.float32)


def outcome_from_stored(stored: Any, model_key: str) -> ItemOutcome | None:
    """An ItemOutcome from a casework StoredResult written by :func:`outcome_record`; None when
    the record lacks what the interface shows (e.g. made by another tool)."""
    r = stored.result
    bits = _bits(r.get("bits"))
    paths = stored.attachments
    if bits is None or ANALYSED_PNG not in paths or RECONSTRUCTION_PNG not in paths:
        return None
    try:
        image = read_png(paths[ANALYSED_PNG].read_bytes())
        recon = read_png(paths[RECONSTRUCTION_PNG].read_bytes())
    except OSError:
        return None
    probs = np.asarray(r.get("bit_probs") or [], dtype=np.float64)
    return ItemOutcome(item_id=f"item/{stored.item_id}", model_key=model_key, model_name=str(r.get("model", "model")),
                       record=r, image=image, reconstruction=recon, loss_curves=_curves(r.get("loss_curves")),
                       bit_probs=probs, bits=bits, matched_bits=_bits(r.get("matched_key")),
                       winning_start=int(r.get("winning_start", 0)), extra={"result_id": stored.id})
