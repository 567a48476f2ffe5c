"""LPIPS (Zhang et al., CVPR 2018) without torchvision, from a user-supplied backbone file.

The AlexNet / VGG16 ``features`` stack is rebuilt here with torchvision's layer indices so
that the ``features.*`` tensors of a torchvision file (``alexnet-owt-7be5be79.pth``,
``vgg16-397923af.pth``) load strictly. The distance between x and y (float, [−1, 1]) is

    Σ_k  mean_hw  Σ_c  w_kc · (f̂_k(x) − f̂_k(y))²_c,hw

with f_k the backbone output at tap k (after a ReLU), f̂ its unit-normalised channel vector
and w_k the v0.1 linear heads shipped in ``resources/lpips/``. Inputs are first scaled by
the reference shift and scale.

Images smaller than ``min_size`` (default 64 px, the patch size the linear heads were
calibrated on) are upsampled bilinearly to it; the loss name then says so, e.g.
``lpips-alex@64px``. With ``min_size=0`` the nets run at the native size like the reference:
at 32 px AlexNet's last three taps are 1×1, and below 31 px (AlexNet) or 16 px (VGG16) a tap
would be empty, which is refused with an error.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lfp_desktop.engine.checkpoint import resolve_device, safe_torch_load, sha256_file
from lfp_desktop.engine.losses import ImageLoss
from lfp_desktop.errors import CheckpointError, LFPError
from lfp_desktop.resources import resource

# Reference input scaling (LPIPS v0.1): (x − shift) / scale, per RGB channel.
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_EPS = 1e-10  # added to the channel norm, as in the reference
MAX_BACKBONE_BYTES = 2 * 1024 ** 3

# Layer specs: ("conv", c_in, c_out, kernel, stride, padding) | ("relu",) | ("pool", kernel, stride).
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)


def _vgg16_layers() -> tuple[tuple[Any, ...], ...]:
    layers: list[tuple[Any, ...]] = []
    c_in = 3
    for v in _VGG16_CFG:
        if v == "M":
            layers.append(("pool", 2, 2))
        else:
            layers += [("conv", c_in, v, 3, 1, 1), ("relu",)]
            c_in = int(v)
    return tuple(layers)


@dataclass(frozen=True)
class _NetSpec:
    layers: tuple[tuple[Any, ...], ...]
    taps: tuple[int, ...]  # tap k is the output of features[:taps[k]] (a ReLU)
    channels: tuple[int, ...]
    label: str
    file_hint: str


_NETS = {
    "alex": _NetSpec(
        layers=(("conv", 3, 64, 11, 4, 2), ("relu",), ("pool", 3, 2),
                ("conv", 64, 192, 5, 1, 2), ("relu",), ("pool", 3, 2),
                ("conv", 192, 384, 3, 1, 1), ("relu",), ("conv", 384, 256, 3, 1, 1), ("relu",),
                ("conv", 256, 256, 3, 1, 1), ("relu",)),
        taps=(2, 5, 8, 10, 12), channels=(64, 192, 384, 256, 256),
        label="AlexNet", file_hint="alexnet-owt-7be5be79.pth"),
    "vgg": _NetSpec(layers=_vgg16_layers(), taps=(4, 9, 16, 23, 30),
                    channels=(64, 128, 256, 512, 512), label="VGG16", file_hint="vgg16-397923af.pth"),
}


def _net_spec(net: str) -> _NetSpec:
    if net not in _NETS:
        raise LFPError(f"unknown LPIPS network '{net}'; choose 'alex' or 'vgg'")
    return _NETS[net]


def build_features(net: str) -> nn.Sequential:
    """The ``features`` stack of torchvision's AlexNet or VGG16 up to the last LPIPS tap."""
    mods: list[nn.Module] = []
    for kind, *args in _net_spec(net).layers:
        if kind == "conv":
            c_in, c_out, k, s, p = args
            mods.append(nn.Conv2d(c_in, c_out, k, stride=s, padding=p))
        elif kind == "relu":
            mods.append(nn.ReLU())
        else:
            mods.append(nn.MaxPool2d(args[0], stride=args[1]))
    return nn.Sequential(*mods)


def tap_sizes(net: str, height: int, width: int) -> list[tuple[int, int]]:
    """Spatial size (h, w) of each LPIPS tap for an input of height × width pixels."""
    spec, h, w, sizes = _net_spec(net), height, width, []
    for i, (kind, *args) in enumerate(spec.layers, start=1):
        if kind == "conv":
            k, s, p = args[2:]
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        elif kind == "pool":
            k, s = args
            h, w = (h - k) // s + 1, (w - k) // s + 1
        if i in spec.taps:
            sizes.append((h, w))
    return sizes


def _torch_load(path: Path) -> Any:
    # mmap keeps a 0.5 GB VGG16 file (mostly classifier) out of memory; needs the zip format.
    return safe_torch_load(path, path, what="PyTorch weights file", mmap=zipfile.is_zipfile(path),
                           resave="Use the torchvision weights file itself or re-save the model as "
                                  "torch.save(model.state_dict(), 'backbone.pth')")


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"LPIPS backbone file {path} does not exist or is not a file; "
                              "choose the torchvision weights file in Settings → Loss")
    size = path.stat().st_size
    if size == 0 or size > MAX_BACKBONE_BYTES:
        raise CheckpointError(f"LPIPS backbone file {path} is {size} bytes, which no AlexNet/VGG16 "
                              "weights file is; check that it is the right file")


def _features_state(obj: Any, spec: _NetSpec, path: Path) -> dict[str, torch.Tensor]:
    """The ``features.*`` tensors of a full-model state dict, prefix removed."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict; expected "
                              f"the torchvision {spec.label} weights ({spec.file_hint})")
    feats = {k[len("features."):]: v for k, v in obj.items()
             if isinstance(k, str) and k.startswith("features.") and isinstance(v, torch.Tensor)}
    if not feats:
        keys = ", ".join(sorted(map(str, obj.keys()))[:6])
        raise CheckpointError(f"{path} has no 'features.*' tensors (first keys: {keys}); expected "
                              f"the torchvision {spec.label} weights file ({spec.file_hint})")
    return feats


def _check_features(feats: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor],
                    spec: _NetSpec, path: Path) -> None:
    hint = f"expected the torchvision {spec.label} weights file ({spec.file_hint})"
    w0 = feats.get("0.weight")
    if w0 is not None and w0.shape != expected["0.weight"].shape:
        other = "AlexNet" if w0.shape[-1] == 11 else "VGG" if w0.shape[-1] == 3 else "another network"
        raise CheckpointError(f"{path} looks like {other} weights (features.0.weight has shape "
                              f"{tuple(w0.shape)}), not {spec.label}; {hint}, or pick the matching LPIPS loss")
    missing = sorted(set(expected) - set(feats))
    extra = sorted(set(feats) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{path} does not have {spec.label}'s layers: missing "
                              f"{['features.' + k for k in missing][:6]}, unexpected "
                              f"{['features.' + k for k in extra][:6]}; {hint}")
    for k, ref in expected.items():
        t = feats[k]
        if t.shape != ref.shape:
            raise CheckpointError(f"{path}: features.{k} has shape {tuple(t.shape)}, {spec.label} "
                                  f"needs {tuple(ref.shape)}; {hint}")
        if not t.is_floating_point() or not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{path}: features.{k} is not finite floating-point data; {hint}")


def load_backbone(net: str, path: str | Path) -> tuple[nn.Sequential, str]:
    """The frozen ``features`` stack loaded from a torchvision weights file, and its SHA-256.

    The file is read with ``weights_only=True``; only its ``features.*`` tensors are used and
    they must match torchvision's layout exactly. Raises CheckpointError otherwise.
    """
    spec, path = _net_spec(net), Path(path)
    _check_file(path)
    digest = sha256_file(path)
    feats = _features_state(_torch_load(path), spec, path)
    model = build_features(net)
    _check_features(feats, model.state_dict(), spec, path)
    model.load_state_dict({k: v.float() for k, v in feats.items()}, strict=True)
    model.eval().requires_grad_(False)
    return model, digest


def load_lin_heads(net: str) -> list[torch.Tensor]:
    """The bundled v0.1 linear heads: one float32 (C_k,) weight vector per tap, all ≥ 0."""
    spec = _net_spec(net)
    try:
        path = resource("lpips", f"{net}.pth")
    except FileNotFoundError as exc:
        raise LFPError(str(exc)) from exc
    if not path.is_file():
        raise LFPError(f"the LPIPS linear heads {path} are missing; reinstall LFP Desktop")
    state = torch.load(path, map_location="cpu", weights_only=True)
    heads = []
    for k, c in enumerate(spec.channels):
        w = state.get(f"lin{k}.model.1.weight") if isinstance(state, Mapping) else None
        if not isinstance(w, torch.Tensor) or w.shape != (1, c, 1, 1):
            raise LFPError(f"the LPIPS linear heads {path} are damaged (lin{k}); reinstall LFP Desktop")
        heads.append(w.reshape(c).float())
    return heads


class LPIPSLoss(ImageLoss):
    """LPIPS distance per row; targets' features are computed once in ``prepare``.

    net: "vgg" or "alex"; backbone: torchvision weights file; min_size: smaller images are
    upsampled bilinearly to this many pixels on their shorter side (0: never).
    """

    def __init__(self, net: str, backbone: str | Path, device: torch.device | str = "cpu",
                 min_size: int = 64) -> None:
        self.net, self.min_size = net, int(min_size)
        self.device = resolve_device(device)
        features, self.backbone_sha256 = load_backbone(net, backbone)
        self.backbone_path = str(backbone)
        self.features = features.to(self.device)
        self.heads = [w.to(self.device) for w in load_lin_heads(net)]
        self.taps = _NETS[net].taps
        self.shift = torch.tensor(_SHIFT, device=self.device).view(1, 3, 1, 1)
        self.scale = torch.tensor(_SCALE, device=self.device).view(1, 3, 1, 1)
        self.name = f"lpips-{net}"
        self.source_size: tuple[int, int] | None = None  # targets' (H, W)
        self.input_size: tuple[int, int] | None = None  # (H, W) the nets see
        self.target_features: list[torch.Tensor] | None = None

    def _resized(self, height: int, width: int) -> tuple[int, int]:
        short = min(height, width)
        if short >= self.min_size:
            return height, width
        f = self.min_size / short
        return round(height * f), round(width * f)

    def tap_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised features at each tap: float (B, C_k, h_k, w_k) for (B, 3, H, W) in [−1, 1]."""
        x = images.float()
        if self.input_size is not None and tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        x = (x - self.shift) / self.scale
        out, start = [], 0
        for end in self.taps:
            x = self.features[start:end](x)
            start = end
            # vector_norm's backward stays finite where a whole channel vector is 0 (sqrt's is NaN).
            out.append(x / (torch.linalg.vector_norm(x, dim=1, keepdim=True) + _EPS))
        return out

    def prepare(self, targets: torch.Tensor) -> None:
        """targets: float (M, 3, H, W) in [−1, 1]; their features are kept for every call."""
        if targets.ndim != 4 or targets.shape[1] != 3:
            raise LFPError(f"LPIPS needs RGB images (M, 3, H, W), got shape {tuple(targets.shape)}")
        h, w = int(targets.shape[2]), int(targets.shape[3])
        size = self._resized(h, w)
        empty = [s for s in tap_sizes(self.net, *size) if min(s) < 1]
        if empty:
            raise LFPError(f"{size[0]}×{size[1]} px is too small for LPIPS-{self.net}: a feature map would "
                           "be empty (AlexNet needs ≥ 31 px, VGG16 ≥ 16 px); keep the default upsampling "
                           "to 64 px (min_size=64) or use the pixel loss")
        self.input_size = size
        self.name = f"lpips-{self.net}" if size == (h, w) else f"lpips-{self.net}@{min(size)}px"
        self.source_size = (h, w)
        with torch.no_grad():
            self.target_features = self.tap_features(targets.to(self.device))

    def per_layer(self, images: torch.Tensor, row_image: torch.Tensor) -> torch.Tensor:
        """Distance of each row of images (R, 3, H, W) to target row_image[r], per tap: float (R, 5)."""
        if self.target_features is None or self.source_size is None:
            raise LFPError("LPIPSLoss.prepare(targets) must be called before computing distances")
        if tuple(images.shape[1:]) != (3, *self.source_size):
            raise LFPError(f"images of shape {tuple(images.shape[1:])} do not match the prepared "
                           f"targets (3, {self.source_size[0]}, {self.source_size[1]})")
        cols = []
        for f, t, w in zip(self.tap_features(images), self.target_features, self.heads):
            # A 1×1 conv followed by the spatial mean equals the weighted sum of channel means.
            cols.append((f - t[row_image]).square().mean(dim=(2, 3)) @ w)
        return torch.stack(cols, dim=1)

    def __call__(self, images: torch.Tensor, row_image: torch.Tensor) -> torch.Tensor:
        """LPIPS distance of each row to its target: float (R,), ≥ 0."""
        return self.per_layer(images, row_image).sum(dim=1)
