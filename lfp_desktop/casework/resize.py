"""Fitting evidence to the generator's square resolution, with the policy recorded."""

from __future__ import annotations

import cv2
import numpy as np

POLICIES = ("center-crop", "pad", "stretch", "exact")


def fit(rgb: np.ndarray, size: int, policy: str = "center-crop") -> tuple[np.ndarray, str]:
    """uint8 HxWx3 -> (uint8 size×size×3, description); see intake.fit_to_resolution."""
    from lfp_desktop.errors import EvidenceError

    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
        raise ValueError("expected a uint8 HxWx3 image")
    if policy not in POLICIES:
        raise ValueError(f"unknown resize policy {policy!r}; use one of {', '.join(POLICIES)}")
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    h, w = rgb.shape[:2]
    if (h, w) == (size, size):
        return rgb.copy(), f"none: already {size}×{size}"
    if policy == "exact":
        raise EvidenceError(f"the image is {w}×{h} but the generator makes {size}×{size} images and "
                            "the resize policy is 'exact'; choose center-crop, pad or stretch")
    if policy == "stretch":
        out = _resize(rgb, size, size)
        return out, f"stretched from {w}×{h} to {size}×{size} ({_how(w * h, size * size)}); aspect ratio changed"
    if policy == "center-crop":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = rgb[top: top + side, left: left + side]
        steps = []
        if side != max(h, w):
            cut = f"{left} px left, {w - side - left} px right" if w > h else f"{top} px top, {h - side - top} px bottom"
            steps.append(f"centre {side}×{side} square cropped from {w}×{h} ({cut} removed)")
        if side != size:
            steps.append(f"resized {side}×{side} → {size}×{size} ({_how(side * side, size * size)})")
        return _resize(square, size, size), "; then ".join(steps)
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    inner = _resize(rgb, nw, nh) if (nw, nh) != (w, h) else rgb
    out = np.zeros((size, size, 3), np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top: top + nh, left: left + nw] = inner
    resized = f"resized {w}×{h} → {nw}×{nh} ({_how(w * h, nw * nh)}); then " if (nw, nh) != (w, h) else ""
    return out, (f"{resized}padded with black to {size}×{size} (top {top}, bottom {size - nh - top}, "
                 f"left {left}, right {size - nw - left})")


def _resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    shrinking = width * height < rgb.shape[0] * rgb.shape[1]
    # area averaging for downscaling (no aliasing); bicubic for upscaling (saturates to 0..255)
    method = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(rgb), (width, height), interpolation=method)


def _how(before: int, after: int) -> str:
    return "downscaled, area averaging" if after < before else "upscaled, bicubic"
