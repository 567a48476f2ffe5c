"""Unconditional latent diffusion models (diffusers layout) behind the generator interface.

The fingerprinted latent of an LDM is the final DDIM latent z₀ (C×h×w, flattened to d = C·h·w),
taken before the autoencoder's decoder. :class:`LDMGenerator` exposes what the attribution
engine needs from a generator: ``synthesis(z)`` (flattened z₀ → image), ``config.size``,
``config.style_dim`` (= d), ``device`` and ``sha256``; plus ``sample_latents(seeds)`` (DDIM).

Loading is strictly offline: the ``diffusers`` library reads the folder's configs and its
``.safetensors`` / ``.bin`` weights (the latter with ``weights_only=True``), never the hub.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lfp_desktop.engine.ldm_folder import LDMFolder, check_ldm_folder, folder_sha256
from lfp_desktop.errors import CheckpointError

DEFAULT_DDIM_STEPS = 50
DEFAULT_ETA = 0.0
DEFAULT_PENALTY = 0.005  # λ of the published LDM attribution


@dataclass(frozen=True)
class LDMConfig:
    """Shape facts of a loaded LDM; ``style_dim`` is the flattened latent size the engine uses."""

    size: int  # image side in pixels (square RGB)
    latent_shape: tuple[int, int, int]  # (C, h, w) of z₀
    autoencoder: str  # "vq" (VQModel, quantised decode) or "kl" (AutoencoderKL)
    scaling_factor: float  # z₀ is divided by this before decoding, as the diffusers pipelines do
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def style_dim(self) -> int:
        c, h, w = self.latent_shape
        return c * h * w

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(model_kind="ldm", latent_shape=list(self.latent_shape), style_dim=self.style_dim)
        return d


class LDMGenerator(nn.Module):
    """UNet + autoencoder + DDIM schedule; frozen (eval mode, no parameter gradients)."""

    model_kind = "ldm"

    def __init__(self, unet: nn.Module, autoencoder: nn.Module, scheduler_config: dict[str, Any],
                 config: LDMConfig):
        super().__init__()
        self.unet, self.autoencoder = unet, autoencoder
        self.scheduler_config = dict(scheduler_config)
        self.config = config
        self.sha256: str | None = None
        self.source: str | None = None

    @property
    def device(self) -> torch.device:
        return next(self.autoencoder.parameters()).device

    def synthesis(self, z: torch.Tensor) -> torch.Tensor:
        """Flattened z₀ float32 (B, d) → images float32 (B, 3, H, W), about [-1, 1].

        Differentiable in z; a VQ autoencoder quantises with a straight-through gradient.
        """
        c, h, w = self.config.latent_shape
        latents = z.reshape(z.shape[0], c, h, w) / self.config.scaling_factor
        return self.autoencoder.decode(latents).sample

    def _scheduler(self, steps: int) -> Any:
        from diffusers import DDIMScheduler

        sched = DDIMScheduler.from_config(self.scheduler_config)
        sched.set_timesteps(steps)
        return sched

    @torch.no_grad()
    def sample_latents(self, seeds: list[int], *, steps: int = DEFAULT_DDIM_STEPS,
                       eta: float = DEFAULT_ETA) -> torch.Tensor:
        """DDIM-sample z₀ for each seed → float32 (B, d) on the model's device.

        Each seed drives its own CPU RNG (initial noise and, for eta > 0, the step noise), so
        an image depends on its seed, not on the batch it was drawn in.
        """
        if steps < 1 or eta < 0:
            raise CheckpointError(f"DDIM needs at least 1 step and eta ≥ 0; got {steps} steps, eta {eta}")
        shape = self.config.latent_shape
        rngs = [torch.Generator().manual_seed(int(s)) for s in seeds]

        def noise() -> torch.Tensor:
            return torch.stack([torch.randn(shape, generator=g) for g in rngs]).to(self.device)

        sched = self._scheduler(steps)
        x = noise() * sched.init_noise_sigma
        for t in sched.timesteps:
            eps = self.unet(sched.scale_model_input(x, t), t).sample
            x = sched.step(eps, t, x, eta=eta, variance_noise=noise() if eta > 0 else None).prev_sample
        return x.reshape(len(seeds), -1).float()


def _diffusers() -> Any:
    # No hub access from anything diffusers or huggingface_hub does in this process.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import diffusers
    except ImportError as exc:
        raise CheckpointError("loading a latent diffusion model needs the 'diffusers' package; install it "
                              "with: pip install 'lfp-desktop[ldm]'") from exc
    diffusers.utils.logging.disable_progress_bar()
    return diffusers


def _load_component(cls: Any, folder: Path) -> nn.Module:
    """One network from its folder, refusing any missing, unexpected or mis-shaped weight."""
    try:
        model, info = cls.from_pretrained(str(folder), local_files_only=True, torch_dtype=torch.float32,
                                          low_cpu_mem_usage=False, output_loading_info=True)
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
        detail = " ".join(lines[:3])
        detail = detail if len(detail) <= 400 else detail[:400] + "…"
        hint = ("; the weights do not match its config.json" if "state_dict" in lines[0]
                else "; check that the folder holds the model's own config and weights files")
        raise CheckpointError(f"{folder} could not be loaded as a {cls.__name__} ({detail}){hint}") from exc
    problems = [f"{len(v)} {k.replace('_', ' ')}: {', '.join(map(str, v[:4]))}"
                for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs") if (v := info.get(k))]
    if problems:
        raise CheckpointError(f"the weights in {folder} do not match its config.json: " + " | ".join(problems))
    return model.eval().requires_grad_(False)


def _latent_shape(folder: LDMFolder, unet: nn.Module, autoencoder: nn.Module) -> tuple[int, int, int]:
    cfg = unet.config
    side = cfg.sample_size
    h, w = (side, side) if isinstance(side, int) else tuple(side)
    lat_ch = autoencoder.config.latent_channels
    if cfg.in_channels != lat_ch or cfg.out_channels != lat_ch:
        raise CheckpointError(f"the UNet in {folder.unet_dir} works on {cfg.in_channels} channels but the "
                              f"autoencoder in {folder.autoencoder_dir} has {lat_ch} latent channels; "
                              "the components do not belong together")
    return int(lat_ch), int(h), int(w)


def build_ldm(folder: LDMFolder) -> LDMGenerator:
    """Networks and schedule of a checked folder, on the CPU (no hash, no device move)."""
    diffusers = _diffusers()
    unet = _load_component(diffusers.UNet2DModel, folder.unet_dir)
    ae_cls = diffusers.VQModel if folder.autoencoder_kind == "vq" else diffusers.AutoencoderKL
    autoencoder = _load_component(ae_cls, folder.autoencoder_dir)
    shape = _latent_shape(folder, unet, autoencoder)
    scale = float(getattr(autoencoder.config, "scaling_factor", 1.0) or 1.0)
    config = LDMConfig(size=0, latent_shape=shape, autoencoder=folder.autoencoder_kind, scaling_factor=scale)
    gen = LDMGenerator(unet, autoencoder, folder.scheduler_settings, config)
    with torch.no_grad():  # one decode tells the image size and proves the decoder runs
        probe = gen.synthesis(torch.zeros(1, config.style_dim))
    if probe.ndim != 4 or probe.shape[1] != 3 or probe.shape[2] != probe.shape[3]:
        raise CheckpointError(f"the autoencoder in {folder.autoencoder_dir} decodes to {tuple(probe.shape[1:])}, "
                              "not a square RGB image")
    gen.config = LDMConfig(size=int(probe.shape[2]), latent_shape=shape, autoencoder=folder.autoencoder_kind,
                           scaling_factor=scale)
    return gen


def load_ldm(path: str | Path, device: str | torch.device | None = None) -> LDMGenerator:
    """Load an unconditional LDM folder; ``sha256`` is the combined hash of its files
    (see :func:`lfp_desktop.engine.ldm_folder.folder_sha256`). device: None/"auto" picks CUDA."""
    from lfp_desktop.engine.checkpoint import resolve_device

    folder = check_ldm_folder(path)
    dev = resolve_device(device)
    digest = folder_sha256(folder)
    gen = build_ldm(folder)
    gen.sha256 = digest
    gen.source = str(path)
    return gen.to(dev)


def default_penalty(generator: Any) -> float:
    """The penalty λ the published code uses for this kind of model (LDM 0.005, StyleGAN2 0.1)."""
    from lfp_desktop.engine.settings import AttributionSettings

    return DEFAULT_PENALTY if isinstance(generator, LDMGenerator) else AttributionSettings().penalty


def with_model_penalty(settings: Any, generator: Any) -> Any:
    """Settings with the LDM penalty when ``generator`` is an LDM (faces whose users set no
    penalty: the desktop app and folder scans); StyleGAN2 settings are returned unchanged."""
    from dataclasses import replace

    return replace(settings, penalty=DEFAULT_PENALTY) if isinstance(generator, LDMGenerator) else settings
