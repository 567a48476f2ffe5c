"""The stored form of one analysis: the result record and its image attachments, in the
layout the desktop app writes and reads back (so either face shows the other's results)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

ANALYSED_PNG = "analysed.png"
RECONSTRUCTION_PNG = "reconstruction.png"


def png_bytes(image: np.ndarray) -> bytes:
    """Lossless PNG of a uint8 (H, W, 3) image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def bit_string(bits: np.ndarray | None) -> str | None:
    """'0110…' for uint8 bits (K,), None for None."""
    return None if bits is None else "".join("1" if b else "0" for b in np.asarray(bits).reshape(-1))


def matched_bits(ctx: Any, analysis: Any) -> np.ndarray | None:
    """uint8 (K,) bits of the nearest registered key of an Analysis, or None without a match."""
    if analysis.decision is None or analysis.decision.match.index < 0:
        return None
    packed = ctx.keys.packed[analysis.decision.match.index]
    return np.unpackbits(packed)[:ctx.keys.key_len].astype(np.uint8)


def result_record(analysis_record: dict[str, Any], *, matched: np.ndarray | None, item_sha256: str, fit_note: str,
                  image: np.ndarray, reconstruction: np.ndarray) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(result dict, attachments) to store for one analysis: ``Analysis.to_dict()`` plus the
    nearest key's bits, the evidence hash and how the image was fitted; the analysed
    (uint8 size×size×3) and reconstructed images as PNG files."""
    record = dict(analysis_record)
    record.update({"matched_key": bit_string(matched), "item_sha256": item_sha256, "fit": fit_note,
                   "model_size": int(image.shape[0])})
    attachments = {ANALYSED_PNG: png_bytes(image), RECONSTRUCTION_PNG: png_bytes(reconstruction)}
    return record, attachments
