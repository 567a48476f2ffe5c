"""Fingerprinted generation: w_k = μ + P_U (w − μ) + σ Vᵀ k from real model samples
(mapped latents w of a StyleGAN2, final DDIM latents z₀ of a latent diffusion model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lfp_desktop.engine.images import to_uint8
from lfp_desktop.engine.ldm import LDMGenerator
from lfp_desktop.engine.scheme import Scheme
from lfp_desktop.errors import SchemeError


def parse_bits(text: str, key_len: int) -> np.ndarray:
    """A key written as '0101…' (spaces, '_' and '-' ignored) → uint8 (K,)."""
    clean = "".join(ch for ch in text if ch not in " _-")
    if len(clean) != key_len or set(clean) - {"0", "1"}:
        raise SchemeError(f"a key must be {key_len} characters of 0 and 1; got {len(clean)} "
                          f"character(s){' with other symbols' if set(clean) - {'0', '1'} else ''}")
    return np.frombuffer(clean.encode(), dtype=np.uint8) - ord("0")


def format_bits(bits: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in np.asarray(bits).reshape(-1))


def seeded_z(seeds: list[int], dim: int) -> torch.Tensor:
    """One z ~ N(0, I) per seed, from its own CPU RNG (independent of batch layout)."""
    return torch.stack([torch.randn(dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


def fingerprint_latents(w: torch.Tensor, scheme: Scheme, bits: np.ndarray) -> torch.Tensor:
    """Embed a key into mapped latents; w (B, d) → (B, d) float32 on w's device."""
    wk = scheme.embed(w.detach().double().cpu().numpy(), bits)
    return torch.as_tensor(wk, dtype=torch.float32, device=w.device)


@dataclass(frozen=True)
class FingerprintedBatch:
    images: np.ndarray  # uint8 (B, H, W, 3)
    latents: np.ndarray  # float32 (B, d), the fingerprinted w_k (z_k for an LDM)
    seeds: list[int]
    bits: np.ndarray  # uint8 (B, K)


def base_latents(generator: Any, scheme: Scheme, seeds: list[int], truncation: float = 1.0) -> torch.Tensor:
    """Unfingerprinted latents for seeds, (B, d) float32 on the generator's device: w = f(z)
    for a StyleGAN2, z₀ from DDIM with the scheme's steps and eta for an LDM."""
    if isinstance(generator, LDMGenerator):
        from lfp_desktop.engine.ldm_scheme import ldm_sampling

        if truncation != 1.0:
            raise SchemeError("truncation applies to StyleGAN2 models only; use 1.0 for a latent diffusion model")
        steps, eta = ldm_sampling(scheme)
        return generator.sample_latents(seeds, steps=steps, eta=eta)
    z = seeded_z(seeds, generator.config.style_dim).to(generator.device)
    return generator.mapping(z, truncation=truncation)


def generate(generator: Any, scheme: Scheme, bits: np.ndarray | None, seeds: list[int], *,
             truncation: float = 1.0, batch: int = 64) -> FingerprintedBatch:
    """Images for the given seeds, fingerprinted with ``bits`` ((K,) or (B, K)) or plain if None.

    generator: a StyleGAN2 Generator or an LDMGenerator. Truncation (StyleGAN2 only) is
    applied to w before the key is embedded, so the key is never scaled.
    """
    imgs, lats = [], []
    all_bits = None if bits is None else np.broadcast_to(np.asarray(bits, np.uint8), (len(seeds), scheme.key_len))
    with torch.no_grad():
        for start in range(0, len(seeds), batch):
            part = seeds[start:start + batch]
            w = base_latents(generator, scheme, part, truncation)
            if all_bits is not None:
                w = fingerprint_latents(w, scheme, all_bits[start:start + len(part)])
            imgs.append(to_uint8(generator.synthesis(w)))
            lats.append(w.float().cpu().numpy())
    out_bits = np.zeros((len(seeds), scheme.key_len), np.uint8) if all_bits is None else np.array(all_bits)
    return FingerprintedBatch(images=np.concatenate(imgs), latents=np.concatenate(lats),
                              seeds=list(seeds), bits=out_bits)
