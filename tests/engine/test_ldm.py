"""Latent diffusion models: loading a real diffusers folder, schemes over z₀, fingerprinted
sampling and attribution through the (VQ) decoder, on a tiny random model made here."""

import dataclasses
import io
import json
import shutil
import zipfile

import numpy as np
import pytest
import torch

from lfp_desktop.analysis import ModelContext
from lfp_desktop.engine.attribution import attribute
from lfp_desktop.engine.checkpoint import load_model
from lfp_desktop.engine.fingerprint import generate
from lfp_desktop.engine.ldm import LDMGenerator
from lfp_desktop.engine.ldm_folder import check_ldm_folder, model_kind_of
from lfp_desktop.engine.ldm_scheme import create_ldm_scheme, latent_pca
from lfp_desktop.engine.scheme import Scheme, load_scheme, save_scheme, scheme_from_bytes, scheme_to_bytes
from lfp_desktop.engine.settings import AttributionSettings
from lfp_desktop.errors import CheckpointError, LFPError, SchemeError
from tests.engine.ldm_tiny import IMAGE_SIZE, LATENT_SHAPE, save_tiny_ldm

D = int(np.prod(LATENT_SHAPE))
K, SHIFT, REPEAT, SIGMA = 8, 40, 3, 40.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_tiny_ldm(tmp_path_factory.mktemp("ldm") / "tiny-ldm")


@pytest.fixture(scope="module")
def gen(folder):
    return load_model(folder, device="cpu")


@pytest.fixture(scope="module")
def scheme(gen):
    return create_ldm_scheme(gen, key_len=K, shift=SHIFT, repeat=REPEAT, sigma=SIGMA, n_samples=300, seed=1,
                             ddim_steps=4)


def _copy(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "copy")


def test_folder_loads_as_an_ldm_with_a_stable_hash(folder, gen):
    assert model_kind_of(folder) == "ldm" and isinstance(gen, LDMGenerator)
    assert gen.config.size == IMAGE_SIZE and gen.config.latent_shape == LATENT_SHAPE
    assert gen.config.style_dim == D and gen.config.autoencoder == "vq"
    assert len(gen.sha256) == 64 and gen.source == str(folder)
    assert load_model(folder, device="cpu").sha256 == gen.sha256
    assert not any(p.requires_grad for p in gen.parameters())


def test_hash_covers_configs_and_weights(folder, gen, tmp_path):
    copy = _copy(folder, tmp_path)
    assert load_model(copy, device="cpu").sha256 == gen.sha256  # the location is not part of the hash
    cfg_path = copy / "scheduler" / "scheduler_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["beta_end"] = 0.02
    cfg_path.write_text(json.dumps(cfg))
    assert load_model(copy, device="cpu").sha256 != gen.sha256


@pytest.mark.parametrize("remove, message", [
    ("vqvae/diffusion_pytorch_model.safetensors", "has no weights file"),
    ("scheduler/scheduler_config.json", "scheduler config"),
    ("unet/config.json", "UNet config"),
])
def test_missing_component_is_named(folder, tmp_path, remove, message):
    copy = _copy(folder, tmp_path)
    (copy / remove).unlink()
    with pytest.raises(CheckpointError, match=message) as err:
        load_model(copy, device="cpu")
    assert "diffusers layout" in str(err.value) or "weights" in str(err.value)


def test_unsupported_or_mismatched_components_are_refused(folder, tmp_path):
    copy = _copy(folder, tmp_path)
    cfg_path = copy / "unet" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg_path.write_text(json.dumps({**cfg, "_class_name": "UNet2DConditionModel"}))
    with pytest.raises(CheckpointError, match="only unconditional models"):
        check_ldm_folder(copy)
    cfg_path.write_text(json.dumps({**cfg, "block_out_channels": [16, 48]}))
    with pytest.raises(CheckpointError, match="do not match its config.json"):
        load_model(copy, device="cpu")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nowhere", device="cpu")


def test_decoder_passes_gradients_through_quantisation(gen):
    z = (torch.randn(2, D) * 10).requires_grad_(True)
    img = gen.synthesis(z)
    assert img.shape == (2, 3, IMAGE_SIZE, IMAGE_SIZE)
    img.square().sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_kl_autoencoder_folder_loads(tmp_path):
    g = load_model(save_tiny_ldm(tmp_path / "kl", autoencoder="kl"), device="cpu")
    assert g.config.autoencoder == "kl" and g.config.size == IMAGE_SIZE
    z = g.sample_latents([3], steps=2)
    assert z.shape == (1, D) and torch.isfinite(g.synthesis(z)).all()


def test_sampling_is_seeded_per_image(gen):
    a = gen.sample_latents([5, 6], steps=3)
    b = gen.sample_latents([6], steps=3)
    torch.testing.assert_close(a[1:], b, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(a[0], a[1])


def test_scheme_round_trip_is_exact(scheme, gen, tmp_path):
    saved = save_scheme(scheme, tmp_path / "ldm.lfpscheme")
    loaded = load_scheme(tmp_path / "ldm.lfpscheme", checkpoint_sha256=gen.sha256)
    for name in ("mean", "components", "stds"):
        assert np.array_equal(getattr(loaded, name), getattr(scheme, name))
    assert (loaded.repeat, loaded.model_kind, loaded.key_len, loaded.shift) == (REPEAT, "ldm", K, SHIFT)
    assert loaded.metadata() == scheme.metadata() and loaded.metadata()["format_version"] == 2
    assert loaded.generator_config["ddim_steps"] == 4 and loaded.generator_config["latent_shape"] == [3, 8, 8]
    assert loaded.sha256 == saved.sha256
    assert scheme_to_bytes(loaded) == (tmp_path / "ldm.lfpscheme").read_bytes()


def test_wrong_hash_is_refused(scheme, gen, tmp_path):
    save_scheme(scheme, tmp_path / "s")
    with pytest.raises(SchemeError) as err:
        load_scheme(tmp_path / "s", checkpoint_sha256="cd" * 32)
    assert scheme.checkpoint_sha256 in str(err.value)
    other = dataclasses.replace(scheme, checkpoint_sha256="ab" * 32)
    with pytest.raises(LFPError, match="belongs to checkpoint"):
        ModelContext(generator=gen, scheme=other).check()


def test_key_basis_repeats_each_bit(scheme):
    V, U = scheme.V, scheme.U
    assert V.shape == (K * REPEAT, D) and U.shape == (D - K * REPEAT, D)
    np.testing.assert_allclose(np.concatenate([V, U]) @ np.concatenate([V, U]).T, np.eye(D), atol=1e-9)
    basis = scheme.torch_basis("cpu", torch.float64)
    assert basis["V"].shape == (K, D) and basis["U"].shape == (D - K * REPEAT, D)
    np.testing.assert_allclose(basis["V"].numpy()[2], V[6] + V[7] + V[8], atol=1e-12)
    assert np.all(np.diff(scheme.stds) <= 1e-9)


def test_fingerprinted_sample_projects_back_to_sigma_k(gen, scheme):
    key = np.array([1, 0, 1, 1, 0, 0, 1, 0], np.uint8)
    seeds = [7, 8]
    marked = generate(gen, scheme, key, seeds)
    plain = generate(gen, scheme, None, seeds)
    z = marked.latents.astype(np.float64)
    np.testing.assert_allclose((z - scheme.mean) @ scheme.V.T, SIGMA * np.repeat(key, REPEAT)[None].repeat(2, 0),
                               atol=1e-3)
    np.testing.assert_allclose(scheme.key_coordinates(z), key[None].repeat(2, 0), atol=1e-5)
    # the rest of z₀ is the model's own sample
    np.testing.assert_allclose((z - plain.latents) @ scheme.U.T, 0, atol=1e-3)
    assert marked.images.shape == (2, IMAGE_SIZE, IMAGE_SIZE, 3) and not np.array_equal(marked.images, plain.images)
    with pytest.raises(SchemeError, match="truncation"):
        generate(gen, scheme, key, seeds, truncation=0.7)


def test_attribution_recovers_the_key(gen, scheme):
    keys = np.array([[1, 0, 1, 1, 0, 0, 1, 0], [0, 1, 1, 0, 1, 0, 0, 1]], np.uint8)
    images = generate(gen, scheme, keys, [21, 22]).images
    results = attribute(gen, scheme, images, settings=AttributionSettings(starts=6, steps=200, penalty=0.005),
                        device="cpu")
    for res, key in zip(results, keys):
        assert np.array_equal(res.bits, key), (res.bits, key)
        assert res.latent.shape == (D,)


def test_partial_basis_from_randomised_pca(gen, scheme, tmp_path):
    from lfp_desktop.engine.ldm_scheme import sample_z0

    z0 = sample_z0(gen, 300, 1, steps=4, eta=0.0)
    m = SHIFT + K * REPEAT
    mean, comps, stds, residual = latent_pca(z0, m, seed=2, exact_max_dim=64)  # force the randomised path
    np.testing.assert_allclose(comps @ comps.T, np.eye(m), atol=1e-9)
    np.testing.assert_allclose(stds[:10], scheme.stds[:10], rtol=0.02)  # leading variances agree with exact PCA
    total = ((z0 - mean) ** 2).sum() / (len(z0) - 1)
    np.testing.assert_allclose(stds @ stds + (D - m) * residual ** 2, total, rtol=1e-9)
    part = Scheme(mean=mean, components=comps, stds=stds, key_len=K, shift=SHIFT, sigma=SIGMA,
                  checkpoint_sha256=gen.sha256, model_kind="ldm", repeat=REPEAT, residual_std=residual)
    U, V = part.U, part.V
    assert U.shape == (D - K * REPEAT, D)
    np.testing.assert_allclose(U @ U.T, np.eye(D - K * REPEAT), atol=1e-9)
    np.testing.assert_allclose(U @ V.T, 0, atol=1e-9)
    assert np.all(part.free_stds[SHIFT:] == residual)
    loaded = scheme_from_bytes(scheme_to_bytes(part))
    assert loaded.n_components == m and loaded.residual_std == residual


def test_layout_errors_say_what_to_do(gen, scheme):
    with pytest.raises(SchemeError, match="use shift ≤ 168"):
        create_ldm_scheme(gen, key_len=K, shift=170, repeat=REPEAT, n_samples=300, ddim_steps=2)
    with pytest.raises(SchemeError, match="more samples"):
        create_ldm_scheme(gen, key_len=K, shift=SHIFT, repeat=REPEAT, n_samples=50, ddim_steps=2)


def test_stylegan2_schemes_keep_format_1():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    s = Scheme(mean=np.zeros(6), components=q.T, stds=np.linspace(2, 1, 6), key_len=2, shift=4, sigma=1.0,
               checkpoint_sha256="ef" * 32)
    meta = json.loads(zipfile.ZipFile(io.BytesIO(scheme_to_bytes(s))).read("metadata.json"))
    assert meta["format_version"] == 1 and "repeat" not in meta
    assert np.array_equal(s.key_directions, s.V)
