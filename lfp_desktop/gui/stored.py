"""Outcomes to and from the case store: the stored result record and its image attachments."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from lfp_desktop.gui.jobs import ItemOutcome

ANALYSED_PNG = "analysed.png"
RECONSTRUCTION_PNG = "reconstruction.png"


def png_bytes(image: np.ndarray) -> bytes:
    """Lossless PNG of a uint8 (H, W, 3) image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def read_png(data: bytes) -> np.ndarray:
    """uint8 (H, W, 3) from PNG bytes we wrote ourselves."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def bit_string(bits: np.ndarray | None) -> str | None:
    return None if bits is None else "".join("1" if b else "0" for b in np.asarray(bits).reshape(-1))


def outcome_record(outcome: ItemOutcome, *, item_sha256: str, fit_note: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(result dict, attachments) to store: the engine's record plus the nearest key's bits,
    the evidence hash and how the image was fitted; the analysed and reconstructed images as PNG."""
    record = dict(outcome.record)
    record.update({"matched_key": bit_string(outcome.matched_bits), "item_sha256": item_sha256,
                   "fit": fit_note, "model_size": int(outcome.image.shape[0])})
    attachments = {ANALYSED_PNG: png_bytes(outcome.image), RECONSTRUCTION_PNG: png_bytes(outcome.reconstruction)}
    return record, attachments


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
