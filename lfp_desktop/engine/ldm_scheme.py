"""Fingerprint schemes for latent diffusion models: PCA of flattened final DDIM latents z₀.

The published LDM code keys each bit into ``repeat`` = 3 consecutive principal components
starting at ``shift`` = 4000 of the 3×64×64 latent. Its latent has d = 12 288 dimensions,
so above ``EXACT_MAX_DIM`` the PCA is a seeded randomised one that keeps only the leading
components up to the key; the rest of the space is summarised by one residual std.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import torch

from lfp_desktop.engine.ldm import DEFAULT_DDIM_STEPS, DEFAULT_ETA, LDMGenerator
from lfp_desktop.engine.scheme import Scheme, validate_layout
from lfp_desktop.errors import SchemeError

DEFAULT_SHIFT = 4000
DEFAULT_REPEAT = 3
EXACT_MAX_DIM = 4096  # above this the covariance (d² float64) is skipped for a randomised PCA
_POWER_ITERATIONS = 4


def pca_seeds(seed: int, n: int) -> list[int]:
    """n distinct-looking sample seeds derived from one scheme seed (never the user's 0, 1, 2 …)."""
    return [int(s) for s in np.random.SeedSequence([int(seed), 0x5C4E]).generate_state(n, dtype=np.uint32)]


def sample_z0(generator: LDMGenerator, n: int, seed: int, *, steps: int, eta: float,
              batch: int = 64) -> np.ndarray:
    """n final DDIM latents from seeds derived from ``seed``; float64 (n, d)."""
    seeds = pca_seeds(seed, n)
    out = np.empty((n, generator.config.style_dim), dtype=np.float64)
    for start in range(0, n, batch):
        part = seeds[start:start + batch]
        out[start:start + len(part)] = generator.sample_latents(part, steps=steps, eta=eta).double().cpu().numpy()
    return out


def _fix_signs(comps: torch.Tensor) -> torch.Tensor:
    """Make the largest-magnitude entry of every row positive (a PCA has no sign of its own)."""
    idx = comps.abs().argmax(dim=1)
    signs = torch.sign(comps[torch.arange(comps.shape[0]), idx])
    return comps * signs[:, None]


def _exact_components(x: torch.Tensor, m: int) -> torch.Tensor:
    cov = x.T @ x / (x.shape[0] - 1)
    _, evecs = torch.linalg.eigh(cov)
    return evecs.flip(1)[:, :m].T


def _randomised_components(x: torch.Tensor, m: int, seed: int) -> torch.Tensor:
    """Leading m right singular vectors of x by a seeded randomised range finder with power
    iterations (Halko, Martinsson & Tropp 2011)."""
    k = min(m + max(10, m // 10), *x.shape)
    rng = torch.Generator().manual_seed(int(seed))
    q = torch.linalg.qr(x @ torch.randn(x.shape[1], k, generator=rng, dtype=torch.float64).to(x.device)).Q
    for _ in range(_POWER_ITERATIONS):
        q = torch.linalg.qr(x @ torch.linalg.qr(x.T @ q).Q).Q
    _, _, vh = torch.linalg.svd(q.T @ x, full_matrices=False)
    return vh[:m]


def latent_pca(samples: np.ndarray, n_components: int, *, seed: int = 0, device: torch.device | str = "cpu",
               exact_max_dim: int = EXACT_MAX_DIM) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Float64 PCA of (N, d) samples keeping n_components rows.

    Returns mean (d,), components (M, d) by descending variance with the largest-magnitude
    entry of each row positive, stds (M,) measured along each component, and the residual
    std per remaining direction (0 when M = d).
    """
    x = torch.as_tensor(np.asarray(samples, dtype=np.float64), device=device)
    n, d = x.shape
    mean = x.mean(dim=0)
    x = x - mean
    comps = _exact_components(x, n_components) if d <= exact_max_dim else _randomised_components(x, n_components, seed)
    comps = _fix_signs(comps)
    var = ((x @ comps.T) ** 2).sum(dim=0) / (n - 1)
    order = torch.argsort(var, descending=True, stable=True)
    comps, var = comps[order], var[order]
    rest = d - n_components
    residual = float(((x ** 2).sum() / (n - 1) - var.sum()).clamp(min=0.0)) / rest if rest else 0.0
    return (mean.cpu().numpy(), comps.cpu().numpy(), var.sqrt().cpu().numpy(), float(np.sqrt(residual)))


def create_ldm_scheme(generator: LDMGenerator, *, key_len: int, shift: int = DEFAULT_SHIFT,
                      repeat: int = DEFAULT_REPEAT, sigma: float = 1.0, n_samples: int = 10_000, seed: int = 0,
                      encoding: str = "01", ddim_steps: int = DEFAULT_DDIM_STEPS, eta: float = DEFAULT_ETA,
                      n_components: int | None = None, batch: int = 64) -> Scheme:
    """PCA of ``n_samples`` DDIM latents z₀ of a loaded LDM and a key layout.

    n_components defaults to d when d ≤ EXACT_MAX_DIM (exact PCA), else to shift + key_len·repeat
    (randomised PCA of the leading components). DDIM steps and eta are recorded in the scheme
    and reused by fingerprinted sampling, so z₀ always comes from the distribution analysed.
    """
    d = generator.config.style_dim
    if n_components is None:
        n_components = d if d <= EXACT_MAX_DIM else min(d, shift + key_len * repeat)
    if not 0 < n_components <= d:
        raise SchemeError(f"the number of principal components must be between 1 and {d}, got {n_components}")
    validate_layout(d, key_len, shift, sigma, encoding, repeat=repeat, n_components=n_components)
    needed = min(n_components, shift + key_len * repeat + 1)
    if n_samples <= needed:
        raise SchemeError(f"the PCA needs more samples ({n_samples}) than the components up to and including "
                          f"the key ({needed - 1}); use --samples above {needed}")
    if not generator.sha256:
        raise SchemeError("the model has no hash; load it from its folder first")
    z0 = sample_z0(generator, n_samples, seed, steps=ddim_steps, eta=eta, batch=batch)
    mean, comps, stds, residual = latent_pca(z0, n_components, seed=seed, device=generator.device)
    config: dict[str, Any] = generator.config.to_dict()
    config.update(ddim_steps=int(ddim_steps), eta=float(eta),
                  pca="exact" if d <= EXACT_MAX_DIM else "randomised")
    created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    return Scheme(mean=mean, components=comps, stds=stds, key_len=key_len, shift=shift, sigma=float(sigma),
                  checkpoint_sha256=generator.sha256, encoding=encoding, model_kind="ldm",
                  generator_config=config, n_samples=n_samples, seed=seed, created_at=created,
                  repeat=repeat, residual_std=residual)


def ldm_sampling(scheme: Scheme) -> tuple[int, float]:
    """(DDIM steps, eta) recorded in an LDM scheme."""
    cfg = scheme.generator_config
    return int(cfg.get("ddim_steps", DEFAULT_DDIM_STEPS)), float(cfg.get("eta", DEFAULT_ETA))
