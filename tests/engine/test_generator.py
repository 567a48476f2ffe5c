"""Behaviour of the StyleGAN2 generator on small random models (float32, CPU)."""

from __future__ import annotations

import pytest
import torch

from lfp_desktop.engine.checkpoint import load_generator
from lfp_desktop.engine.stylegan2 import Generator, GeneratorConfig

from tests.engine.tiny import small_generator  # noqa: E402


def latents(gen: Generator, batch: int = 2, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, gen.config.style_dim, generator=g)


def test_image_shape_and_latent_counts() -> None:
    gen = small_generator()
    w = gen.mapping(latents(gen))
    img = gen.synthesis(w)
    assert img.shape == (2, 3, 16, 16) and img.dtype == torch.float32
    assert gen.n_latent == 6 and gen.num_layers == 5
    assert [tuple(n.shape) for n in gen.stored_noise()] == [(1, 1, r, r) for r in (4, 8, 8, 16, 16)]


def test_same_w_gives_bit_identical_images() -> None:
    gen = small_generator()
    w = gen.mapping(latents(gen))
    assert torch.equal(gen.synthesis(w), gen.synthesis(w.clone()))


def test_save_load_round_trip_is_bit_identical(tmp_path) -> None:
    gen = small_generator()
    path = tmp_path / "g.pt"
    torch.save({"g_ema": gen.state_dict()}, path)
    loaded = load_generator(path, device="cpu")
    w = gen.mapping(latents(gen))
    assert loaded.config == gen.config
    assert torch.equal(loaded.synthesis(w), gen.synthesis(w))
    assert torch.equal(loaded.mapping(latents(gen)), w)


def test_w_and_repeated_w_plus_give_the_same_image() -> None:
    gen = small_generator()
    w = gen.mapping(latents(gen))
    w_plus = w[:, None, :].expand(-1, gen.n_latent, -1)
    assert torch.equal(gen.synthesis(w), gen.synthesis(w_plus))


def test_w_plus_rows_are_used_per_layer() -> None:
    gen = small_generator()
    w = gen.mapping(latents(gen))
    w_plus = w[:, None, :].repeat(1, gen.n_latent, 1)
    w_plus[:, -1] += 1.0  # only the last ToRGB sees this row
    assert not torch.allclose(gen.synthesis(w), gen.synthesis(w_plus))


def test_wrong_w_shape_is_refused() -> None:
    gen = small_generator()
    with pytest.raises(ValueError, match="w must be"):
        gen.synthesis(torch.zeros(1, gen.n_latent + 1, 32))
    with pytest.raises(ValueError, match="noise must be"):
        gen.synthesis(torch.zeros(1, 32), noise="fresh")


def test_truncation_psi_zero_gives_the_image_of_latent_avg(tmp_path) -> None:
    gen = small_generator()
    avg = torch.randn(32) * 0.1
    path = tmp_path / "g.pt"
    torch.save({"g_ema": gen.state_dict(), "latent_avg": avg[None]}, path)
    loaded = load_generator(path, device="cpu")
    assert loaded.has_latent_avg
    z = latents(gen, batch=3)
    expected = loaded.synthesis(avg.expand(3, -1))
    assert torch.equal(loaded(z, truncation=0.0), expected)
    half = loaded(z, truncation=0.5)
    assert not torch.allclose(half, expected)
    w_half = avg + 0.5 * (loaded.mapping(z) - avg)
    assert torch.allclose(half, loaded.synthesis(w_half), atol=1e-6)


def test_truncation_latent_without_stored_average_is_the_seeded_mapped_mean() -> None:
    gen = small_generator()
    assert not gen.has_latent_avg
    avg = gen.truncation_latent(n=500, seed=3).clone()
    z = torch.randn(500, 32, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(avg, gen.style(z).mean(0), atol=1e-6)
    assert torch.equal(gen.truncation_latent(), avg)  # cached, not recomputed


def test_random_noise_differs_from_stored_noise() -> None:
    gen = small_generator()
    w = gen.mapping(latents(gen))
    const = gen.synthesis(w, noise="const")
    first, second = gen.synthesis(w, noise="random"), gen.synthesis(w, noise="random")
    assert not torch.allclose(first, const)
    assert not torch.allclose(first, second)
    assert torch.equal(gen.synthesis(w, noise=gen.stored_noise()), const)


def test_zero_noise_strength_makes_noise_irrelevant() -> None:
    gen = small_generator()
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("noise.weight"):
                p.zero_()
    w = gen.mapping(latents(gen))
    assert torch.equal(gen.synthesis(w, noise="random"), gen.synthesis(w, noise="const"))


def test_gradient_reaches_w_with_frozen_weights() -> None:
    gen = small_generator()
    w = gen.mapping(latents(gen, batch=1)).requires_grad_(True)
    gen.synthesis(w).square().mean().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    assert all(p.grad is None for p in gen.parameters())


@pytest.mark.parametrize(("size", "message"), [(12, "power of two"), (2, "power of two")])
def test_config_rejects_bad_sizes(size: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GeneratorConfig(size=size, style_dim=8, n_mlp=1, channels=(8,))


def test_config_rejects_wrong_channel_count() -> None:
    with pytest.raises(ValueError, match="needs 3 channel counts"):
        GeneratorConfig(size=16, style_dim=8, n_mlp=1, channels=(8, 8))


def test_original_channel_table_and_key_count_at_256px() -> None:
    config = GeneratorConfig.from_multiplier(256, channel_multiplier=2)
    assert config.channels == (512, 512, 512, 512, 512, 256, 128)
    assert config.n_latent == 14 and config.num_layers == 13
    with torch.device("meta"):  # shapes only: no 30 M random weights
        gen = Generator(config)
    state = gen.state_dict()
    assert len(state) == 135
    assert sum(p.numel() for p in gen.parameters()) == pytest.approx(30.0e6, rel=0.01)
    assert tuple(state["convs.11.conv.weight"].shape) == (1, 128, 128, 3, 3)
    assert tuple(state["noises.noise_12"].shape) == (1, 1, 256, 256)
