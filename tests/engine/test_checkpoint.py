"""Loading rosinality-format checkpoints: accepted forms, strictness, hostile and corrupt files."""

from __future__ import annotations

import argparse
import builtins
import hashlib
import pickle
from pathlib import Path

import pytest
import torch

from lfp_desktop.engine.checkpoint import (
    build_generator,
    check_state_dict,
    infer_config,
    load_generator,
    read_checkpoint,
    resolve_device,
    sha256_file,
)
from lfp_desktop.engine.stylegan2 import Generator, GeneratorConfig
from lfp_desktop.errors import CheckpointError

from tests.engine.tiny import CONFIG, small_generator  # noqa: E402


def image(gen: Generator) -> torch.Tensor:
    z = torch.randn(2, gen.config.style_dim, generator=torch.Generator().manual_seed(5))
    return gen.synthesis(gen.mapping(z))


def adam_state(module: torch.nn.Module) -> dict:
    """What ``torch.optim.Adam(...).state_dict()`` holds after some steps (built directly:
    constructing torch.optim pulls in the compiler stack, seconds of import)."""
    params = list(module.parameters())
    return {
        "state": {i: {"step": torch.tensor(1000.0), "exp_avg": torch.randn_like(p),
                      "exp_avg_sq": torch.rand_like(p)} for i, p in enumerate(params)},
        "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "maximize": False, "foreach": None,
                          "capturable": False, "differentiable": False, "fused": None,
                          "params": list(range(len(params)))}],
    }


def training_snapshot(gen: Generator) -> dict:
    """The dictionary a rosinality training run saves every few thousand iterations."""
    disc = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 14 * 14, 1))
    args = argparse.Namespace(path="/data/ffhq.lmdb", arch="stylegan2", iter=800000, batch=16,
                              size=16, latent=32, n_mlp=2, channel_multiplier=2, lr=0.002,
                              r1=10.0, mixing=0.9, ckpt=None, augment=False, wandb=False)
    return {"g": gen.state_dict(), "d": disc.state_dict(), "g_ema": gen.state_dict(),
            "g_optim": adam_state(gen), "d_optim": adam_state(disc), "args": args,
            "ada_aug_p": 0.0}


# --- accepted forms -------------------------------------------------------------------


@pytest.mark.parametrize("form", ["snapshot", "converted", "converted_flat_avg", "bare"])
def test_each_accepted_form_loads_strictly_and_reproduces_images(tmp_path: Path, form: str) -> None:
    gen = small_generator()
    avg = torch.randn(32)
    content = {
        "snapshot": lambda: training_snapshot(gen),
        "converted": lambda: {"g_ema": gen.state_dict(), "latent_avg": avg[None]},
        "converted_flat_avg": lambda: {"g_ema": gen.state_dict(), "latent_avg": avg},
        "bare": lambda: gen.state_dict(),
    }[form]()
    path = tmp_path / f"{form}.pt"
    torch.save(content, path)
    loaded = load_generator(path, device="cpu")
    assert loaded.config == CONFIG
    assert loaded.config.extra["format"] == "rosinality"
    assert torch.equal(image(loaded), image(gen))
    assert loaded.has_latent_avg == form.startswith("converted")
    if loaded.has_latent_avg:
        assert torch.equal(loaded.latent_avg, avg)
    assert not any(p.requires_grad for p in loaded.parameters())
    assert not loaded.training


def test_snapshot_arguments_are_kept_as_metadata(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.pt"
    torch.save(training_snapshot(small_generator()), path)
    state, latent_avg, meta, digest = read_checkpoint(path)
    assert meta["args"]["arch"] == "stylegan2" and meta["args"]["size"] == 16
    assert "ckpt" not in meta["args"]  # None is not a plain scalar
    assert latent_avg is None and "style.1.weight" in state
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_sha256_is_that_of_the_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "g.pt"
    torch.save({"g_ema": small_generator().state_dict()}, path)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha256_file(path) == expected
    assert sha256_file(path, chunk=1000) == expected
    assert load_generator(path, device="cpu").sha256 == expected


def test_loading_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "g.pt"
    torch.save({"g_ema": small_generator().state_dict()}, path)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    load_generator(path, device="cpu")
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_half_precision_weights_load_as_float32(tmp_path: Path) -> None:
    gen = small_generator()
    path = tmp_path / "half.pt"
    torch.save({"g_ema": {k: v.half() for k, v in gen.state_dict().items()}}, path)
    loaded = load_generator(path, device="cpu")
    assert all(v.dtype == torch.float32 for v in loaded.state_dict().values())
    assert torch.allclose(image(loaded), image(gen), atol=0.05)


# --- strictness -------------------------------------------------------------------------


def _save_state(tmp_path: Path, state: dict) -> Path:
    path = tmp_path / "edited.pt"
    torch.save({"g_ema": state}, path)
    return path


def test_missing_key_is_named(tmp_path: Path) -> None:
    state = small_generator().state_dict()
    del state["convs.1.noise.weight"]
    with pytest.raises(CheckpointError, match=r"missing key\(s\): convs\.1\.noise\.weight"):
        load_generator(_save_state(tmp_path, state))


def test_missing_structural_key_is_named(tmp_path: Path) -> None:
    state = small_generator().state_dict()
    del state["input.input"]
    with pytest.raises(CheckpointError, match="input.input"):
        load_generator(_save_state(tmp_path, state))


def test_unexpected_key_is_named(tmp_path: Path) -> None:
    state = small_generator().state_dict()
    state["convs.1.conv.extra_scale"] = torch.ones(1)
    with pytest.raises(CheckpointError, match=r"unexpected key\(s\): convs\.1\.conv\.extra_scale"):
        load_generator(_save_state(tmp_path, state))


def test_mis_shaped_tensor_is_named_with_both_shapes(tmp_path: Path) -> None:
    state = small_generator().state_dict()
    state["to_rgbs.0.conv.modulation.bias"] = torch.ones(13)
    with pytest.raises(CheckpointError) as err:
        load_generator(_save_state(tmp_path, state))
    text = str(err.value)
    assert "to_rgbs.0.conv.modulation.bias (13,) (expected (12,))" in text


def test_non_float_tensor_is_refused(tmp_path: Path) -> None:
    state = small_generator().state_dict()
    state["conv1.noise.weight"] = torch.ones(1, dtype=torch.int64)
    with pytest.raises(CheckpointError, match="conv1.noise.weight is not floating point"):
        load_generator(_save_state(tmp_path, state))


def test_wrong_latent_avg_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "g.pt"
    torch.save({"g_ema": small_generator().state_dict(), "latent_avg": torch.zeros(31)}, path)
    with pytest.raises(CheckpointError, match="latent_avg has 31 values, expected 32"):
        load_generator(path)


def test_dictionary_without_generator_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d_only.pt"
    torch.save({"d": {"convs.0.weight": torch.zeros(2)}, "args": None}, path)
    with pytest.raises(CheckpointError, match="no 'g_ema' generator.*top-level keys: args, d"):
        load_generator(path)


def test_non_tensor_g_ema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weird.pt"
    torch.save({"g_ema": {"style.1.weight": [1.0, 2.0]}}, path)
    with pytest.raises(CheckpointError, match="not a state dict of tensors"):
        load_generator(path)


def test_check_state_dict_reports_every_kind_of_problem() -> None:
    expected = {"a": torch.zeros(2), "b": torch.zeros(3), "c": torch.zeros(1)}
    given = {"a": torch.zeros(2), "b": torch.zeros(4), "z": torch.zeros(1)}
    with pytest.raises(CheckpointError) as err:
        check_state_dict(expected, given)
    text = str(err.value)
    assert "missing key(s): c" in text and "unexpected key(s): z" in text
    assert "b (4,) (expected (3,))" in text
    check_state_dict(expected, dict(expected))  # a match raises nothing


# --- configuration inference ---------------------------------------------------------


def _meta_state(config: GeneratorConfig) -> dict[str, torch.Tensor]:
    with torch.device("meta"):  # shapes only, so wide layouts cost nothing
        return Generator(config).state_dict()


@pytest.mark.parametrize("size", [8, 16, 32, 64])
@pytest.mark.parametrize("multiplier", [1, 2])
def test_infer_config_for_the_original_channel_tables(size: int, multiplier: int) -> None:
    config = GeneratorConfig.from_multiplier(size, style_dim=512, n_mlp=8, channel_multiplier=multiplier)
    assert infer_config(_meta_state(config)) == config


@pytest.mark.parametrize("config", [
    GeneratorConfig(size=8, style_dim=16, n_mlp=1, channels=(8, 4)),
    GeneratorConfig(size=16, style_dim=24, n_mlp=3, channels=(4, 16, 8)),
    GeneratorConfig(size=32, style_dim=64, n_mlp=4, channels=(32, 32, 24, 16)),
    GeneratorConfig(size=64, style_dim=128, n_mlp=8, channels=(96, 64, 48, 32, 16)),
    GeneratorConfig(size=64, style_dim=8, n_mlp=2, channels=(7, 5, 3, 2, 1)),
])
def test_infer_config_for_arbitrary_narrow_layouts(config: GeneratorConfig) -> None:
    state = _meta_state(config)
    assert infer_config(state) == config
    check_state_dict(state, state)


def test_built_narrow_generator_round_trips(tmp_path: Path) -> None:
    config = GeneratorConfig(size=32, style_dim=16, n_mlp=3, channels=(12, 10, 6, 4))
    gen = small_generator(config, seed=4)
    rebuilt = build_generator(gen.state_dict())
    assert rebuilt.config == config
    assert torch.equal(image(rebuilt), image(gen))


def test_infer_config_uses_lr_mlp_hint() -> None:
    assert infer_config(_meta_state(CONFIG), {"lr_mlp": 0.1}).lr_mlp == 0.1


def test_infer_config_refuses_foreign_state_dict() -> None:
    with pytest.raises(CheckpointError, match="style.1.weight"):
        infer_config({"fc.weight": torch.zeros(2, 2)})


# --- hostile and corrupt files ----------------------------------------------------------


class _Payload:
    """Creates ``marker`` when unpickled by anything that runs pickled calls."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').write('executed')",))


def test_payload_really_runs_under_an_unrestricted_unpickler(tmp_path: Path) -> None:
    marker = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()  # so the refusals below are meaningful


@pytest.mark.parametrize("zip_format", [True, False])
def test_hostile_torch_file_is_refused_without_running_code(tmp_path: Path, zip_format: bool) -> None:
    marker = tmp_path / "pwned"
    gen = small_generator()
    path = tmp_path / "hostile.pt"
    torch.save({"g_ema": gen.state_dict(), "extra": _Payload(marker)}, path,
               _use_new_zipfile_serialization=zip_format)
    with pytest.raises(CheckpointError, match="never runs code"):
        load_generator(path)
    assert not marker.exists()


def test_hostile_pickle_is_refused_without_running_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "hostile.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Payload(marker)}))
    with pytest.raises(CheckpointError, match="refused: refused to load 'builtins.exec'"):
        load_generator(path)
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_hostile_pickle_named_pt_is_refused_without_running_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "hostile.pt"
    path.write_bytes(pickle.dumps({"g_ema": _Payload(marker)}))
    with pytest.raises(CheckpointError):
        load_generator(path)
    assert not marker.exists()


def test_nonexistent_path(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(tmp_path / "missing.pt")


def test_directory_path(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is not a file"):
        load_generator(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="is empty"):
        load_generator(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "g.pt"
    torch.save({"g_ema": small_generator().state_dict()}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator(path)


def test_text_file_named_pt(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("these are not weights\n")
    with pytest.raises(CheckpointError, match="could not be read as a PyTorch checkpoint"):
        load_generator(path)


def test_text_file_with_other_suffix(tmp_path: Path) -> None:
    path = tmp_path / "notes.bin"
    path.write_text("these are not weights\n")
    with pytest.raises(CheckpointError, match="neither a PyTorch checkpoint nor a pickle"):
        load_generator(path)


def test_truncated_pickle(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps({"G_ema": {"x": list(range(100))}})[:40])
    with pytest.raises(CheckpointError, match="truncated") as err:
        load_generator(path)
    assert "refused" not in str(err.value)  # a damaged file is not a security refusal


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(CheckpointError, match="no CUDA device"):
            resolve_device("cuda")
