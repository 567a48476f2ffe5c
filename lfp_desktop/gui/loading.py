"""Load a (registry, model) pair into a ModelContext; runs on a worker thread.

The model is a StyleGAN2 checkpoint file or a latent diffusion model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lfp_desktop.gui.jobs import ModelInfo, ModelSpec


def load_model_pair(spec: ModelSpec, device: str) -> tuple[Any, ModelInfo]:
    """(ModelContext on ``device``, ModelInfo) for a registry and a checkpoint.

    The scheme comes from the registry (its exact bytes) and must name the checkpoint's
    SHA-256; any mismatch raises an LFPError before anything is kept.
    """
    from lfp_desktop.analysis import ModelContext
    from lfp_desktop.engine.checkpoint import load_model
    from lfp_desktop.registry import Registry
    from lfp_desktop.scan.model import registry_scheme

    registry_path, checkpoint_path = Path(spec.registry_path), Path(spec.checkpoint_path)
    with Registry.open(registry_path, readonly=True) as reg:
        scheme_bytes = reg.scheme_bytes()
        keys = reg.load_keys()
        scheme_name = reg.scheme_name
    generator = load_model(checkpoint_path, device=device)
    scheme = registry_scheme(scheme_bytes, generator, registry_path, checkpoint_path)
    ctx = ModelContext(generator=generator, scheme=scheme, keys=keys, name=scheme_name,
                       registry_digest=keys.digest)
    ctx.check()
    info = ModelInfo(spec=spec, name=scheme_name, size=int(generator.config.size), key_len=int(scheme.key_len),
                     n_users=len(keys), checkpoint_sha256=str(generator.sha256), scheme_sha256=scheme.sha256,
                     registry_digest=keys.digest, devices=(str(generator.device),))
    return ctx, info
