"""Reading NVlabs stylegan2-ada ``.pkl`` generators without running the code they carry.

The pickles here are built the way NVlabs' ``torch_utils.persistence`` writes them: every
network object reduces to ``_reconstruct_persistent_obj(meta)`` where ``meta`` holds the
module source (executed by the original loader) and the object's ``__dict__``. The weights
come from one of our own generators, renamed to NVlabs tensor names.
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from lfp_desktop.engine.checkpoint import load_generator
from lfp_desktop.engine.stylegan2 import Generator, GeneratorConfig
from lfp_desktop.errors import CheckpointError

# channel_base 256, channel_max 32: min(256 // r, 32) = 32, 32, 16 at 4, 8, 16 px
CONFIG = GeneratorConfig(size=16, style_dim=32, n_mlp=2, channels=(32, 32, 16))
FAKE_MODULES = ("dnnlib", "dnnlib.util", "torch_utils", "torch_utils.persistence")


def small_generator(seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    gen = Generator(CONFIG)
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("noise.weight") or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.3)
        gen.latent_avg.copy_(torch.randn(CONFIG.style_dim) * 0.2)
    gen.has_latent_avg = True
    return gen.eval().requires_grad_(False)


# --- stand-ins for NVlabs' dnnlib and torch_utils.persistence ----------------------------


class EasyDict(dict):
    """Same pickled form as dnnlib.util.EasyDict: a dict subclass with attribute access."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def _reconstruct_persistent_obj(meta: dict) -> Any:
    """What the original loader does first: run the embedded module source."""
    exec(meta["module_src"], {})  # noqa: S102 - the behaviour the loader must never reach
    raise AssertionError("unreachable")


class Persistent:
    """A network object as persistence pickles it."""

    def __init__(self, meta: dict):
        self.meta = meta

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


@contextlib.contextmanager
def fake_nvlabs_modules() -> Iterator[None]:
    """Install importable dnnlib.util / torch_utils.persistence so pickle can name them."""
    saved = {name: sys.modules.get(name) for name in FAKE_MODULES}
    mods = {name: types.ModuleType(name) for name in FAKE_MODULES}
    mods["dnnlib"].util = mods["dnnlib.util"]
    mods["torch_utils"].persistence = mods["torch_utils.persistence"]
    mods["dnnlib.util"].EasyDict = EasyDict
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    originals = (EasyDict.__module__, EasyDict.__qualname__, _reconstruct_persistent_obj.__module__)
    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    sys.modules.update(mods)
    try:
        yield
    finally:
        EasyDict.__module__, EasyDict.__qualname__, _reconstruct_persistent_obj.__module__ = originals
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


# --- an NVlabs-shaped G_ema built from our generator ---------------------------------------


def module(class_name: str, src: str, params: dict | None = None, buffers: dict | None = None,
           children: dict | None = None, **attrs: Any) -> Persistent:
    """A persistent nn.Module: its ``__dict__`` as torch stores it, plus NVlabs' init records."""
    state = {
        "training": False,
        "_parameters": collections.OrderedDict(
            (k, torch.nn.Parameter(v.clone(), requires_grad=True)) for k, v in (params or {}).items()),
        "_buffers": collections.OrderedDict((k, v.clone()) for k, v in (buffers or {}).items()),
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": collections.OrderedDict(),
        "_forward_hooks": collections.OrderedDict(),
        "_forward_pre_hooks": collections.OrderedDict(),
        "_state_dict_hooks": collections.OrderedDict(),
        "_load_state_dict_pre_hooks": collections.OrderedDict(),
        "_modules": collections.OrderedDict(children or {}),
        "_init_args": (),
        "_init_kwargs": attrs.pop("init_kwargs", {}),
        **attrs,
    }
    meta = dict(type="class", version=6, module_src=src, class_name=class_name, state=state)
    return Persistent(meta)


def fully_connected(weight: torch.Tensor, bias: torch.Tensor, src: str, lr: float = 1.0,
                    activation: str = "linear") -> Persistent:
    return module("FullyConnectedLayer", src, {"weight": weight, "bias": bias}, activation=activation,
                  weight_gain=np.float64(lr / np.sqrt(weight.shape[1])), bias_gain=lr)


def nvlabs_g_ema(gen: Generator, src: str, c_dim: int = 0) -> Persistent:
    """Our weights under NVlabs names (the inverse of the documented key mapping)."""
    sd = {k: v.detach() for k, v in gen.state_dict().items()}
    cfg = gen.config
    filt = sd["convs.0.conv.blur.kernel"] / 4.0  # NVlabs keeps the unit-sum filter

    fcs = {f"fc{i}": fully_connected(sd[f"style.{i + 1}.weight"], sd[f"style.{i + 1}.bias"], src,
                                     lr=0.01, activation="lrelu") for i in range(cfg.n_mlp)}
    mapping = module("MappingNetwork", src, buffers={"w_avg": gen.latent_avg}, children=fcs,
                     z_dim=cfg.style_dim, c_dim=c_dim, w_dim=cfg.style_dim, num_ws=cfg.n_latent,
                     num_layers=cfg.n_mlp, w_avg_beta=0.995)

    def layer(ours: str, noise_index: int, res: int, up: int) -> Persistent:
        return module(
            "SynthesisLayer", src,
            params={"weight": sd[f"{ours}.conv.weight"][0], "noise_strength": sd[f"{ours}.noise.weight"].reshape(()),
                    "bias": sd[f"{ours}.activate.bias"]},
            buffers={"resample_filter": filt, "noise_const": sd[f"noises.noise_{noise_index}"][0, 0]},
            children={"affine": fully_connected(sd[f"{ours}.conv.modulation.weight"],
                                                sd[f"{ours}.conv.modulation.bias"], src)},
            resolution=res, up=up, use_noise=True, activation="lrelu", conv_clamp=None,
            padding=1, act_gain=np.float64(np.sqrt(2)))

    def torgb(ours: str) -> Persistent:
        weight = sd[f"{ours}.conv.weight"][0]
        return module("ToRGBLayer", src, params={"weight": weight, "bias": sd[f"{ours}.bias"].reshape(3)},
                      children={"affine": fully_connected(sd[f"{ours}.conv.modulation.weight"],
                                                          sd[f"{ours}.conv.modulation.bias"], src)},
                      conv_clamp=None, weight_gain=np.float64(1 / np.sqrt(weight.shape[1])))

    blocks = {}
    for i in range(cfg.log_size - 1):
        res = 4 * 2 ** i
        if i == 0:
            params = {"const": sd["input.input"][0]}
            layers = {"conv1": layer("conv1", 0, res, 1), "torgb": torgb("to_rgb1")}
        else:
            params = {}
            layers = {"conv0": layer(f"convs.{2 * i - 2}", 2 * i - 1, res, 2),
                      "conv1": layer(f"convs.{2 * i - 1}", 2 * i, res, 1),
                      "torgb": torgb(f"to_rgbs.{i - 1}")}
        blocks[f"b{res}"] = module("SynthesisBlock", src, params=params, buffers={"resample_filter": filt},
                                   children=layers, resolution=res, architecture="skip",
                                   num_conv=len(layers) - 1, num_torgb=1)
    synthesis = module("SynthesisNetwork", src, children=blocks, w_dim=cfg.style_dim,
                       img_resolution=cfg.size, img_channels=3, num_ws=cfg.n_latent)
    init_kwargs = {"z_dim": cfg.style_dim, "c_dim": c_dim, "w_dim": cfg.style_dim,
                   "img_resolution": cfg.size, "img_channels": 3,
                   "mapping_kwargs": EasyDict(num_layers=cfg.n_mlp),
                   "synthesis_kwargs": EasyDict(channel_base=256, channel_max=32, num_fp16_res=0,
                                                conv_clamp=None)}
    return module("Generator", src, children={"mapping": mapping, "synthesis": synthesis},
                  z_dim=cfg.style_dim, c_dim=c_dim, w_dim=cfg.style_dim, img_resolution=cfg.size,
                  img_channels=3, num_ws=cfg.n_latent, init_kwargs=init_kwargs)


def hostile_src(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('executed')\nraise SystemExit('executed')\n"


def write_nvlabs_pickle(path: Path, top: dict, protocol: int = 4) -> None:
    with fake_nvlabs_modules(), open(path, "wb") as f:
        pickle.dump(top, f, protocol=protocol)


def snapshot(gen: Generator, marker: Path, c_dim: int = 0) -> dict:
    """The dictionary NVlabs' training loop pickles (D is a stand-in network)."""
    src = hostile_src(marker)
    disc = module("Discriminator", src, params={"w": torch.randn(4, 3)})
    return {"G": nvlabs_g_ema(gen, src, c_dim), "D": disc, "G_ema": nvlabs_g_ema(gen, src, c_dim),
            "augment_pipe": None,
            "training_set_kwargs": EasyDict(class_name="training.dataset.ImageFolderDataset",
                                            path="/data/faces.zip", resolution=16, max_size=None)}


def test_embedded_source_really_would_run(tmp_path: Path) -> None:
    marker = tmp_path / "control"
    with fake_nvlabs_modules(), pytest.raises(SystemExit):
        pickle.loads(pickle.dumps(module("X", hostile_src(marker))))
    assert marker.exists()  # so the absence of the marker below means something


@pytest.mark.parametrize(("protocol", "modules_importable"), [(4, False), (3, True), (5, False)])
def test_nvlabs_pickle_reproduces_our_generator(tmp_path: Path, protocol: int, modules_importable: bool) -> None:
    gen = small_generator()
    marker = tmp_path / "executed"
    path = tmp_path / "network-snapshot-000100.pkl"
    write_nvlabs_pickle(path, snapshot(gen, marker), protocol)
    assert not any(name in sys.modules for name in FAKE_MODULES)

    ctx = fake_nvlabs_modules() if modules_importable else contextlib.nullcontext()
    with ctx:  # importable or not, the file's own classes must never be used
        loaded = load_generator(path, device="cpu")
    assert not marker.exists()

    assert loaded.config == CONFIG
    assert loaded.config.extra["format"] == "nvlabs"
    ours = gen.state_dict()
    theirs = loaded.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert loaded.has_latent_avg and torch.equal(loaded.latent_avg, gen.latent_avg)

    z = torch.randn(3, CONFIG.style_dim, generator=torch.Generator().manual_seed(2))
    w = gen.mapping(z)
    assert torch.allclose(loaded.mapping(z), w, atol=1e-5)
    assert torch.allclose(loaded.synthesis(w), gen.synthesis(w), atol=1e-5)
    assert torch.allclose(loaded(z, truncation=0.0), gen.synthesis(gen.latent_avg.expand(3, -1)), atol=1e-5)


def test_pickle_naming_a_global_outside_the_allow_list_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (builtins.exec, (f"open({str(marker)!r}, 'w').write('x')",))

    top = snapshot(small_generator(), tmp_path / "unused")
    top["G_ema"].meta["state"]["_hook"] = Payload()
    path = tmp_path / "hostile.pkl"
    write_nvlabs_pickle(path, top)
    with pytest.raises(CheckpointError, match=r"refused to load 'builtins\.exec'.*never run"):
        load_generator(path)
    assert not marker.exists()


def test_harmless_but_unknown_global_is_refused_too(tmp_path: Path) -> None:
    top = snapshot(small_generator(), tmp_path / "unused")
    top["training_set_kwargs"]["created"] = collections.Counter("ab")  # allow-list, not deny-list
    path = tmp_path / "counter.pkl"
    write_nvlabs_pickle(path, top)
    with pytest.raises(CheckpointError, match=r"refused to load 'collections\.Counter'"):
        load_generator(path)


def test_class_conditional_generator_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cond.pkl"
    write_nvlabs_pickle(path, snapshot(small_generator(), tmp_path / "m", c_dim=10))
    with pytest.raises(CheckpointError, match="class-conditional generator \\(c_dim=10\\)"):
        load_generator(path)


def test_pickle_without_g_ema_is_refused(tmp_path: Path) -> None:
    top = snapshot(small_generator(), tmp_path / "m")
    del top["G_ema"]
    path = tmp_path / "no_gema.pkl"
    write_nvlabs_pickle(path, top)
    with pytest.raises(CheckpointError, match="has no 'G_ema' generator"):
        load_generator(path)


def test_network_that_is_not_a_stylegan2_generator_is_refused(tmp_path: Path) -> None:
    top = snapshot(small_generator(), tmp_path / "m")
    top["G_ema"] = module("Generator", "", params={"w": torch.zeros(3)})
    path = tmp_path / "other.pkl"
    write_nvlabs_pickle(path, top)
    with pytest.raises(CheckpointError, match="synthesis.b4.const is missing"):
        load_generator(path)
