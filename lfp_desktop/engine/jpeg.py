"""A JPEG evidence model: compare a candidate with JPEG evidence where JPEG stored it.

A JPEG file keeps, for each 8×8 block of luma (and of subsampled chroma), the discrete cosine
coefficients rounded to multiples of the file's quantisation steps Q. The file therefore says
only that each coefficient of the image before compression lay in [c − Q/2, c + Q/2]; at
quality 50–80 most high-frequency coefficients are stored as 0. Comparing pixels instead
pulls the latent toward the codec's block artefacts and zeroed detail, which the wrong key
explains better than the true one. Here the distance is the negative log-probability that the
candidate's coefficients, plus Gaussian noise of std ``s``, round to the stored ones; ``s``
follows the candidate's fit at low frequencies (noise added before compression), never below
``NOISE_FLOOR``. A candidate inside every interval costs nothing, whatever the codec removed.

The quantisation steps come from the evidence file itself (Pillow reads them); an image that
was resized, rotated or cropped after decoding has no grid and keeps the pixel loss.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from lfp_desktop.engine.jpeg_grid import JpegGrid
from lfp_desktop.engine.losses import ImageLoss

NOISE_FLOOR = 2.0  # coefficient noise std, 8-bit units: rounding to 8 bits and the codec's own
# integer arithmetic leave about this much even in a clean file
# Low-frequency positions (row, column) of a block whose residual estimates the noise: their
# steps are small at every usual quality, so the residual there is noise, not quantisation.
_LOW = ((0, 0), (0, 1), (1, 0), (2, 0), (1, 1), (0, 2))
# JFIF colour conversion (8-bit RGB → Y, Cb − 128, Cr − 128).
_YCC = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


def _dct_matrix(device: torch.device | str) -> torch.Tensor:
    """The orthonormal 8-point DCT-II (JPEG's forward transform is its 2-D form)."""
    k = np.arange(8)[:, None]
    x = np.arange(8)[None, :]
    c = np.cos(np.pi * (2 * x + 1) * k / 16.0) * np.sqrt(2.0 / 8.0)
    c[0] /= np.sqrt(2.0)
    return torch.tensor(c, dtype=torch.float32, device=device)


def _block_dct(x: torch.Tensor, dct: torch.Tensor) -> torch.Tensor:
    """(R, H, W) level-shifted samples → (R, H/8, W/8, 8, 8) coefficients."""
    r, h, w = x.shape
    blocks = x.reshape(r, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)
    return dct @ blocks @ dct.T


def coefficients(images: torch.Tensor, grid: JpegGrid, dct: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DCT coefficients as the codec computes them, from images (R, 3, H, W) in [−1, 1]:
    luma (R, H/8, W/8, 8, 8) and chroma (R, 2, H/8v, W/8h, 8, 8), in 8-bit units."""
    x = (images.float() + 1.0) * 127.5
    ycc = torch.einsum("ij,rjhw->rihw", torch.tensor(_YCC, device=x.device), x)
    h, v = grid.subsampling
    chroma = ycc[:, 1:]
    if (h, v) != (1, 1):
        chroma = F.avg_pool2d(chroma, (v, h))
    r = images.shape[0]
    luma = _block_dct(ycc[:, 0] - 128.0, dct)
    c = _block_dct(chroma.reshape(r * 2, *chroma.shape[2:]), dct)
    return luma, c.reshape(r, 2, *c.shape[1:])


def _log_prob_interval(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(Φ(b) − Φ(a)) for a < b, accurate in both tails."""
    flip = (a + b) > 0  # use the tail where Φ is small: Φ(b) − Φ(a) = Φ(−a) − Φ(−b)
    lo, hi = torch.where(flip, -b, a), torch.where(flip, -a, b)
    log_lo, log_hi = torch.special.log_ndtr(lo), torch.special.log_ndtr(hi)
    return log_hi + torch.log1p(-torch.exp(log_lo - log_hi).clamp(max=1.0 - 1e-7))


class _Stored:
    """One evidence image's stored coefficients and steps."""

    def __init__(self, target: torch.Tensor, grid: JpegGrid, dct: torch.Tensor):
        dev = target.device
        self.grid = grid
        self.q_luma = torch.tensor(grid.luma, dtype=torch.float32, device=dev).reshape(8, 8)
        self.q_chroma = torch.tensor(grid.chroma, dtype=torch.float32, device=dev).reshape(8, 8)
        luma, chroma = coefficients(target[None], grid, dct)
        # The decoded pixels give the stored coefficients back up to rounding (well within Q/2).
        self.luma = torch.round(luma / self.q_luma) * self.q_luma
        self.chroma = torch.round(chroma / self.q_chroma) * self.q_chroma


def _nll(c: torch.Tensor, stored: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Mean over coefficients of −log P(candidate + noise rounds to the stored value), per row;
    the noise std is estimated per row from the low-frequency residual (detached)."""
    rows, cols = zip(*_LOW)
    resid = (c - stored).detach()[..., list(rows), list(cols)]
    var = resid.square().flatten(1).mean(1) - q[list(rows), list(cols)].square().mean() / 12.0
    s = var.clamp(min=NOISE_FLOOR ** 2).sqrt().view(-1, *([1] * (c.dim() - 1)))
    nll = -_log_prob_interval((stored - q / 2 - c) / s, (stored + q / 2 - c) / s)
    return nll.flatten(1).mean(1)


class JpegAwareLoss(ImageLoss):
    """Per image: the quantisation-interval likelihood above for JPEG evidence with a grid,
    the pixel loss for the rest."""

    name = "pixel"

    def __init__(self, grids: Sequence[JpegGrid | None], base: ImageLoss):
        self.grids = list(grids)
        self.base = base

    def uses_grid(self, image: int) -> bool:
        return self.grids[image] is not None

    def image_loss_name(self, image: int) -> str:
        return "pixel+jpeg" if self.uses_grid(image) else self.base.image_loss_name(image)

    def prepare(self, targets: torch.Tensor) -> None:
        if len(self.grids) != len(targets):
            raise ValueError(f"{len(self.grids)} JPEG grids for {len(targets)} images")
        self.targets = targets
        self.base.prepare(targets)
        self.dct = _dct_matrix(targets.device)
        self.stored = [_Stored(t, g, self.dct) if g is not None else None for t, g in zip(targets, self.grids)]

    def __call__(self, images: torch.Tensor, row_image: torch.Tensor) -> torch.Tensor:
        out = self.base(images, row_image)
        img = row_image.cpu().numpy()
        for i in np.unique(img):
            st = self.stored[int(i)]
            if st is None:
                continue
            rows = torch.as_tensor(np.flatnonzero(img == i), device=images.device)
            luma, chroma = coefficients(images[rows], st.grid, self.dct)
            n_luma, n_chroma = luma[0].numel(), chroma[0].numel()
            value = (_nll(luma, st.luma, st.q_luma) * n_luma
                     + _nll(chroma, st.chroma, st.q_chroma) * n_chroma) / (n_luma + n_chroma)
            out = out.index_put((rows,), value)
        return out
