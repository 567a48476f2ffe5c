"""A StyleGAN2 generator whose module tree and state-dict keys follow the widely used
rosinality layout, so its ``g_ema`` checkpoints load strictly.

Channel counts, depth, style dimension and resolution all come from a
:class:`GeneratorConfig` (usually inferred from a checkpoint's tensors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lfp_desktop.engine.ops import bias_leaky_relu, make_kernel, upfirdn2d

NoiseSpec = str | Sequence[torch.Tensor | None]


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of a generator; ``channels[i]`` is the width at resolution 4·2^i."""

    size: int
    style_dim: int
    n_mlp: int
    channels: tuple[int, ...]
    blur_kernel: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0)
    lr_mlp: float = 0.01
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        log = int(round(math.log2(self.size))) if self.size > 0 else 0
        if self.size < 4 or 2 ** log != self.size:
            raise ValueError(f"size must be a power of two ≥ 4, got {self.size}")
        if len(self.channels) != log - 1:
            raise ValueError(f"{self.size} px needs {log - 1} channel counts, got {len(self.channels)}")

    @property
    def log_size(self) -> int:
        return int(round(math.log2(self.size)))

    @property
    def n_latent(self) -> int:
        """Number of style inputs (W+ rows): 2·log2(size) − 2."""
        return 2 * self.log_size - 2

    @property
    def num_layers(self) -> int:
        """Number of noise inputs: 2·(log2(size) − 2) + 1."""
        return 2 * (self.log_size - 2) + 1

    @classmethod
    def from_multiplier(cls, size: int, style_dim: int = 512, n_mlp: int = 8,
                        channel_multiplier: int = 2, **kw: Any) -> "GeneratorConfig":
        """The original channel table: 512 up to 32 px, then 256·cm, 128·cm, ... halving."""
        table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}
        chans = []
        for i in range(int(math.log2(size)) - 1):
            r = 4 * 2 ** i
            chans.append(table[r] * (channel_multiplier if r >= 64 else 1))
        return cls(size=size, style_dim=style_dim, n_mlp=n_mlp, channels=tuple(chans), **kw)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["blur_kernel"] = list(self.blur_kernel)
        return d


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate (weights scaled at run time)."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activate:
            return bias_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class Blur(nn.Module):
    def __init__(self, kernel: Sequence[float], pad: tuple[int, int], gain: float = 1.0):
        super().__init__()
        self.register_buffer("kernel", make_kernel(kernel) * gain)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    def __init__(self, kernel: Sequence[float], factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(kernel) * factor ** 2)
        p = len(kernel) - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class ModulatedConv2d(nn.Module):
    """Style-modulated convolution, computed as modulate input → shared conv → demodulate
    output, which equals the per-sample weight form and batches well."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False,
                 blur_kernel: Sequence[float] = (1, 3, 3, 1)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1.0)
        self.scale = 1.0 / math.sqrt(in_ch * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.demodulate = demodulate
        self.upsample = upsample
        if upsample:
            p = (len(blur_kernel) - 2) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        b, cin = x.shape[:2]
        s = self.modulation(w)  # (B, in)
        weight = self.weight[0] * self.scale  # (out, in, k, k)
        x = x * s.view(b, cin, 1, 1).to(x.dtype)
        if self.upsample:
            out = F.conv_transpose2d(x, weight.transpose(0, 1).to(x.dtype), stride=2)
            out = self.blur(out)
        else:
            out = F.conv2d(x, weight.to(x.dtype), padding=self.padding)
        if self.demodulate:
            energy = s.float().square() @ weight.float().square().sum((2, 3)).t()  # (B, out)
            out = out * torch.rsqrt(energy + 1e-8).view(b, -1, 1, 1).to(out.dtype)
        return out


class NoiseInjection(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        if noise is None:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.weight * noise


class BiasLeakyReLU(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bias_leaky_relu(x, self.bias)


class StyledConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, style_dim: int,
                 upsample: bool = False, blur_kernel: Sequence[float] = (1, 3, 3, 1)):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, kernel_size, style_dim,
                                    upsample=upsample, blur_kernel=blur_kernel)
        self.noise = NoiseInjection()
        self.activate = BiasLeakyReLU(out_ch)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, w), noise))


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, style_dim: int, upsample: bool = True,
                 blur_kernel: Sequence[float] = (1, 3, 3, 1)):
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_ch, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, w) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class Generator(nn.Module):
    """StyleGAN2 generator: ``mapping`` z → w, ``synthesis`` w → image NCHW in about [-1, 1]."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.sha256: str | None = None
        self.source: str | None = None
        d, bk, ch = config.style_dim, config.blur_kernel, config.channels
        self.style = nn.Sequential(
            PixelNorm(),
            *[EqualLinear(d, d, lr_mul=config.lr_mlp, activate=True) for _ in range(config.n_mlp)],
        )
        self.input = ConstantInput(ch[0])
        self.conv1 = StyledConv(ch[0], ch[0], 3, d, blur_kernel=bk)
        self.to_rgb1 = ToRGB(ch[0], d, upsample=False)
        self.convs = nn.ModuleList()
        self.upsamples = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i in range(config.num_layers):
            r = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, r, r))
        in_ch = ch[0]
        for out_ch in ch[1:]:
            self.convs.append(StyledConv(in_ch, out_ch, 3, d, upsample=True, blur_kernel=bk))
            self.convs.append(StyledConv(out_ch, out_ch, 3, d, blur_kernel=bk))
            self.to_rgbs.append(ToRGB(out_ch, d, blur_kernel=bk))
            in_ch = out_ch
        # Mean of W for truncation; not part of the rosinality state dict.
        self.register_buffer("latent_avg", torch.zeros(d), persistent=False)
        self.has_latent_avg = False

    @property
    def n_latent(self) -> int:
        return self.config.n_latent

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def device(self) -> torch.device:
        return self.input.input.device

    def mapping(self, z: torch.Tensor, truncation: float = 1.0,
                truncation_latent: torch.Tensor | None = None) -> torch.Tensor:
        """z float (B, d) ~ N(0, I) → w (B, d); truncation w_avg + ψ(w − w_avg) if ψ < 1."""
        w = self.style(z)
        if truncation < 1.0:
            avg = truncation_latent if truncation_latent is not None else self.truncation_latent()
            w = avg + truncation * (w - avg)
        return w

    def truncation_latent(self, n: int = 10_000, seed: int = 0) -> torch.Tensor:
        """The stored ``latent_avg`` if the checkpoint had one, else the mean of n mapped samples."""
        if not self.has_latent_avg:
            gen = torch.Generator(device="cpu").manual_seed(seed)
            with torch.no_grad():
                z = torch.randn(n, self.config.style_dim, generator=gen).to(self.device)
                self.latent_avg.copy_(self.style(z).mean(0))
            self.has_latent_avg = True
        return self.latent_avg

    def stored_noise(self) -> list[torch.Tensor]:
        """The checkpoint's constant noise maps, (1, 1, r, r) each."""
        return [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]

    def synthesis(self, w: torch.Tensor, noise: NoiseSpec = "const") -> torch.Tensor:
        """w: (B, d) for one style everywhere or (B, n_latent, d) for W+.

        noise: "const" (stored maps; the default, deterministic), "random", or a list of
        num_layers tensors / None. Returns float (B, 3, size, size), roughly in [-1, 1].
        """
        b = w.shape[0]
        if w.ndim == 2:
            styles = [w] * self.n_latent
        elif w.ndim == 3 and w.shape[1] == self.n_latent:
            styles = list(w.unbind(1))
        else:
            raise ValueError(f"w must be (B, {self.config.style_dim}) or (B, {self.n_latent}, "
                             f"{self.config.style_dim}), got {tuple(w.shape)}")
        if isinstance(noise, str):
            if noise == "const":
                noises: Sequence[torch.Tensor | None] = self.stored_noise()
            elif noise == "random":
                noises = [None] * self.num_layers
            else:
                raise ValueError(f"noise must be 'const', 'random' or a list, got {noise!r}")
        else:
            noises = noise
        x = self.input(b)
        x = self.conv1(x, styles[0], noises[0])
        skip = self.to_rgb1(x, styles[1])
        i = 1
        for k, to_rgb in enumerate(self.to_rgbs):
            x = self.convs[2 * k](x, styles[i], noises[2 * k + 1])
            x = self.convs[2 * k + 1](x, styles[i + 1], noises[2 * k + 2])
            skip = to_rgb(x, styles[i + 2], skip)
            i += 2
        return skip

    def forward(self, z: torch.Tensor, truncation: float = 1.0, noise: NoiseSpec = "const") -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation=truncation), noise=noise)
