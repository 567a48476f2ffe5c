import numpy as np
import pytest

from lfp_desktop.engine.fingerprint import generate, parse_bits
from lfp_desktop.engine.scheme import (create_scheme, load_scheme, load_scheme_metadata, save_scheme,
                                       scheme_to_bytes, validate_layout)
from lfp_desktop.errors import SchemeError
from tests.engine.tiny import tiny_generator


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    return tiny_generator(tmp_path_factory.mktemp("g"))


@pytest.fixture(scope="module")
def scheme(gen):
    return create_scheme(gen, key_len=8, shift=20, sigma=2.5, n_samples=600, seed=3)


def test_round_trip_is_exact(scheme, tmp_path):
    saved = save_scheme(scheme, tmp_path / "s.npz")
    loaded = load_scheme(tmp_path / "s.npz", checkpoint_sha256=scheme.checkpoint_sha256)
    for name in ("mean", "components", "stds"):
        assert np.array_equal(getattr(loaded, name), getattr(scheme, name))
    assert loaded.metadata() == scheme.metadata()
    assert loaded.sha256 == saved.sha256 and len(loaded.sha256) == 64
    assert scheme_to_bytes(loaded) == (tmp_path / "s.npz").read_bytes()  # deterministic bytes
    meta = load_scheme_metadata(tmp_path / "s.npz")
    assert meta["key_len"] == 8 and meta["sha256"] == saved.sha256


def test_deterministic_for_a_seed(gen, scheme):
    again = create_scheme(gen, key_len=8, shift=20, sigma=2.5, n_samples=600, seed=3)
    other = create_scheme(gen, key_len=8, shift=20, sigma=2.5, n_samples=600, seed=4)
    assert np.array_equal(again.components, scheme.components) and np.array_equal(again.mean, scheme.mean)
    assert not np.array_equal(other.mean, scheme.mean)


def test_basis_orthonormal_and_complementary(scheme):
    V, U = scheme.V, scheme.U
    assert V.shape == (8, 32) and U.shape == (24, 32)
    np.testing.assert_allclose(V @ V.T, np.eye(8), atol=1e-10)
    np.testing.assert_allclose(U @ U.T, np.eye(24), atol=1e-10)
    np.testing.assert_allclose(U @ V.T, 0, atol=1e-10)
    np.testing.assert_allclose(U.T @ U + V.T @ V, np.eye(32), atol=1e-10)
    assert np.all(np.diff(scheme.stds) <= 1e-12)  # descending variance


def test_embedding_projects_back_to_sigma_k(gen, scheme):
    key = parse_bits("1011 0010", 8)
    batch = generate(gen, scheme, key, [1, 2, 3])
    coords = scheme.key_coordinates(batch.latents.astype(np.float64))
    np.testing.assert_allclose(coords, np.broadcast_to(key, (3, 8)), atol=1e-5)
    pm = scheme.with_layout(encoding="pm1")
    w = pm.embed(batch.latents, key)
    np.testing.assert_allclose(pm.key_coordinates(w), np.broadcast_to(2.0 * key - 1.0, (3, 8)), atol=1e-9)
    # the non-key part of w is untouched by the key
    plain = generate(gen, scheme, None, [1, 2, 3]).latents.astype(np.float64)
    np.testing.assert_allclose((batch.latents - plain) @ scheme.U.T, 0, atol=1e-4)


@pytest.mark.parametrize("encoding", ["01", "pm1"])
def test_soft_bits_meet_the_hard_encoding_at_0_and_1_for_arrays_and_tensors(scheme, encoding):
    import torch

    s = scheme.with_layout(encoding=encoding)
    bits = np.array([[0, 1, 1, 0, 1, 0, 0, 1]], dtype=np.uint8)
    np.testing.assert_array_equal(s.encode_soft(bits.astype(np.float64)), s.encode_bits(bits))
    probs = torch.tensor([[0.0, 1.0, 0.5, 0.25]], requires_grad=True)
    soft = s.encode_soft(probs)
    assert isinstance(soft, torch.Tensor) and soft.requires_grad  # differentiable, as the search needs
    expected = [[0.0, 1.0, 0.5, 0.25]] if encoding == "01" else [[-1.0, 1.0, 0.0, -0.5]]
    np.testing.assert_allclose(soft.detach().numpy(), expected)


def test_wrong_checkpoint_refused_naming_both_hashes(scheme, tmp_path):
    save_scheme(scheme, tmp_path / "s.npz")
    other = "ab" * 32
    with pytest.raises(SchemeError) as err:
        load_scheme(tmp_path / "s.npz", checkpoint_sha256=other)
    assert other in str(err.value) and scheme.checkpoint_sha256 in str(err.value)


@pytest.mark.parametrize("k,s,sigma,enc,msg", [
    (0, 0, 1.0, "01", "at least 1 bit"), (8, 30, 1.0, "01", "exceeds the latent dimension 32"),
    (8, -1, 1.0, "01", "shift"), (8, 0, 0.0, "01", "sigma"), (8, 0, 1.0, "xx", "encoding")])
def test_layout_validation(k, s, sigma, enc, msg):
    with pytest.raises(SchemeError, match=msg):
        validate_layout(32, k, s, sigma, enc)


def test_corrupt_scheme_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SchemeError, match="not a readable LFP scheme"):
        load_scheme(bad)
    with pytest.raises(SchemeError, match="could not be read"):
        load_scheme(tmp_path / "missing.npz")


def test_bits_parsing():
    assert parse_bits("10-1_1", 4).tolist() == [1, 0, 1, 1]
    with pytest.raises(SchemeError, match="4 characters"):
        parse_bits("1012", 4)
