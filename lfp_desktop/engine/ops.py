"""Pure-PyTorch StyleGAN2 operations (no compiled extensions).

upfirdn2d is done as zero-insertion, padding and a depthwise convolution, which is
exact and runs on every device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

LRELU_GAIN = math.sqrt(2.0)


def make_kernel(taps: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Separable FIR kernel (outer product of 1-D taps) normalised to sum 1; float32 (k, k)."""
    k = torch.as_tensor(taps, dtype=torch.float32)
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def bias_leaky_relu(x: torch.Tensor, bias: torch.Tensor, slope: float = 0.2) -> torch.Tensor:
    """leaky_relu(x + bias) * sqrt(2); bias (C,) is broadcast over dim 1."""
    shape = [1, -1] + [1] * (x.ndim - 2)
    return F.leaky_relu(x + bias.view(shape), slope) * LRELU_GAIN


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad, convolve with a 2-D FIR kernel, downsample.

    x: float (B, C, H, W); kernel: (kh, kw); pad = (before, after) on both axes,
    negative values crop. The kernel is flipped, i.e. this is a true convolution.
    """
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(b, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    if p0 < 0 or p1 < 0:
        x = x[:, :, max(-p0, 0): x.shape[2] - max(-p1, 0), max(-p0, 0): x.shape[3] - max(-p1, 0)]
    weight = torch.flip(kernel, [0, 1]).to(dtype=x.dtype)
    weight = weight.view(1, 1, *kernel.shape).expand(c, 1, *kernel.shape)
    x = F.conv2d(x, weight, groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x
