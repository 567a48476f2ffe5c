"""A tiny real generator and scheme for fast engine tests."""

from __future__ import annotations

import numpy as np
import torch

from lfp_desktop.engine.checkpoint import load_generator
from lfp_desktop.engine.scheme import create_scheme
from lfp_desktop.engine.stylegan2 import Generator, GeneratorConfig

KEY = np.array([1, 0, 1, 1, 0, 0, 1, 0], np.uint8)  # an 8-bit key for tiny_scheme


def tiny_generator(tmp_path, *, size: int = 16, style_dim: int = 32, seed: int = 0):
    """Save a random-weight generator to a real file and load it back through the loader."""
    torch.manual_seed(seed)
    g = Generator(GeneratorConfig(size=size, style_dim=style_dim, n_mlp=2, channels=(32,) * 2 + (16,) * (size.bit_length() - 4)))
    for name, p in g.named_parameters():
        if name.endswith("noise.weight"):
            p.data.fill_(0.1)
    path = tmp_path / "tiny.pt"
    torch.save({"g_ema": g.state_dict()}, path)
    return load_generator(path, device="cpu")


def tiny_scheme(gen, *, key_len: int = 8, shift: int = 20, sigma: float = 3.0):
    return create_scheme(gen, key_len=key_len, shift=shift, sigma=sigma, n_samples=1000, seed=1)


CONFIG = GeneratorConfig(size=16, style_dim=32, n_mlp=2, channels=(16, 12, 8))


def small_generator(config: GeneratorConfig = CONFIG, seed: int = 0) -> Generator:
    """A random generator whose noise strengths and biases are non-zero (they start at zero)."""
    torch.manual_seed(seed)
    gen = Generator(config)
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("noise.weight") or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.3)
    return gen.eval().requires_grad_(False)
