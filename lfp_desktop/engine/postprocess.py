"""Post-processes of the paper's robustness protocol, applied to 8-bit images with real
codecs: Gaussian noise, Gaussian blur, JPEG, and all three in sequence."""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

NOISE_STD_MAX = 0.1  # std ~ U[0, 0.1] on the [0, 1] scale
BLUR_KERNELS = (3, 7, 9, 16, 25)
BLUR_SIGMAS = (0.5, 1.0, 1.5, 2.0)
JPEG_QUALITIES = (80, 70, 60, 50)
POSTPROCESSES = ("none", "noise", "blur", "jpeg", "combo")


@dataclass(frozen=True)
class Applied:
    image: np.ndarray  # uint8 (H, W, 3)
    description: str


def add_noise(img: np.ndarray, rng: np.random.Generator) -> Applied:
    std = float(rng.uniform(0.0, NOISE_STD_MAX))
    noisy = img.astype(np.float64) / 255.0 + rng.normal(0.0, std, img.shape)
    return Applied(np.clip(np.rint(noisy * 255.0), 0, 255).astype(np.uint8), f"noise std {std:.3f}")


def odd_kernel(size: int) -> int:
    """OpenCV needs odd Gaussian kernels: an even size is rounded up (16 → 17)."""
    return size if size % 2 else size + 1


def blur(img: np.ndarray, rng: np.random.Generator) -> Applied:
    k = int(rng.choice(BLUR_KERNELS))
    sigma = float(rng.choice(BLUR_SIGMAS))
    ko = odd_kernel(k)
    out = cv2.GaussianBlur(img, (ko, ko), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)
    return Applied(out, f"blur kernel {k}{f' (as {ko})' if ko != k else ''} sigma {sigma}")


def jpeg_bytes(img: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def jpeg(img: np.ndarray, rng: np.random.Generator) -> Applied:
    q = int(rng.choice(JPEG_QUALITIES))
    with Image.open(io.BytesIO(jpeg_bytes(img, q))) as im:
        out = np.asarray(im.convert("RGB"))
    return Applied(out, f"jpeg quality {q}")


def apply(name: str, img: np.ndarray, rng: np.random.Generator) -> Applied:
    """Apply post-process ``name`` (one of POSTPROCESSES) to a uint8 (H, W, 3) image."""
    if name == "none":
        return Applied(img.copy(), "none")
    steps = {"noise": (add_noise,), "blur": (blur,), "jpeg": (jpeg,), "combo": (add_noise, blur, jpeg)}
    if name not in steps:
        raise ValueError(f"unknown post-process '{name}'; choose from {', '.join(POSTPROCESSES)}")
    notes = []
    for fn in steps[name]:
        applied = fn(img, rng)
        img, notes = applied.image, notes + [applied.description]
    return Applied(img, ", ".join(notes))
