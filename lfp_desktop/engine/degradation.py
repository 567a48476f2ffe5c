"""A learnt blur in front of the image loss. Evidence is often blurred or compressed after
generation, and a sharp generator output cannot explain a blurred image with the true latent;
fitting a small symmetric kernel per start alongside (α, κ) removes that mismatch. It does not
model noise that was added before the blur (spatially correlated), which the generator can
partly fit with a wrong latent, so it is off by default."""

from __future__ import annotations

import torch
import torch.nn.functional as F

DELTA_LOGIT = 6.0  # initial logit gap between the centre tap and the others (≈ no blur)


def initial_logits(rows: int, radius: int, device: torch.device | str) -> torch.Tensor:
    """Logits (rows, radius + 1) of a near-identity kernel: centre tap first."""
    logits = torch.full((rows, radius + 1), -DELTA_LOGIT, device=device)
    logits[:, 0] = 0.0
    return logits


def symmetric_kernels(logits: torch.Tensor) -> torch.Tensor:
    """Normalised 1-D kernels (R, 2r + 1) from half-kernel logits (R, r + 1); taps ≥ 0, sum 1."""
    e = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
    half = e / (e[:, :1] + 2.0 * e[:, 1:].sum(dim=1, keepdim=True))
    return torch.cat([half.flip(1)[:, :-1], half], dim=1)


def blur_rows(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Blur each image (R, C, H, W) with its own separable kernel (R, 2r + 1), reflect borders
    (OpenCV's default BORDER_REFLECT_101)."""
    r_count, c, h, w = images.shape
    r = (kernels.shape[1] - 1) // 2
    if r == 0:
        return images
    x = images.reshape(1, r_count * c, h, w)
    k = kernels.repeat_interleave(c, dim=0)  # (R·C, 2r + 1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k[:, None, None, :], groups=r_count * c)
    x = F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k[:, None, :, None], groups=r_count * c)
    return x.reshape(r_count, c, h, w)
