"""Load generator checkpoints safely: files from users are data, never code.

Two formats are read:

* rosinality ``torch.save`` files (a training snapshot with ``g_ema``, a converted file
  with ``g_ema`` and ``latent_avg``, or a bare ``g_ema`` state dict), always with
  ``weights_only=True``;
* NVlabs stylegan2-ada ``.pkl`` files, through :mod:`lfp_desktop.engine.nvlabs`, a restricted
  unpickler that never executes the code embedded in them.

The architecture is inferred from tensor shapes and the state dict is then loaded
strictly: every key and shape must match. :func:`load_model` also accepts a folder, a latent
diffusion model, which :mod:`lfp_desktop.engine.ldm` loads.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from lfp_desktop.engine.stylegan2 import Generator, GeneratorConfig
from lfp_desktop.errors import CheckpointError

MAX_CHECKPOINT_BYTES = 4 * 1024 ** 3
_STYLE_KEY = re.compile(r"^style\.(\d+)\.weight$")
_TO_RGB_KEY = re.compile(r"^to_rgbs\.(\d+)\.bias$")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def resolve_device(device: str | torch.device | None) -> torch.device:
    """None or "auto" → CUDA when available, else CPU."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CheckpointError(f"device '{device}' was asked for but no CUDA device is available; "
                              "use --device cpu or auto")
    return dev


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise CheckpointError(f"checkpoint file {path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint path {path} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"checkpoint file {path} is empty")
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"checkpoint file {path} is {size / 1e9:.1f} GB, larger than any "
                              "supported generator; check that it is the right file")
    return path.read_bytes()


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], torch.Tensor | None, dict[str, Any], str]:
    """Read a checkpoint file without building a model.

    Returns (g_ema state dict in rosinality names, latent_avg or None, metadata, sha256).
    Raises CheckpointError for unreadable, unsafe or unrecognised files.
    """
    path = Path(path)
    data = _read_bytes(path)
    digest = sha256_bytes(data)
    meta: dict[str, Any] = {"format": "rosinality", "path": str(path)}
    if zipfile.is_zipfile(io.BytesIO(data)) or path.suffix.lower() in (".pt", ".pth", ".ckpt"):
        obj = safe_torch_load(data, path, what="PyTorch checkpoint",
                              resave="Re-save the generator as a plain state dict "
                                     "(torch.save({'g_ema': g_ema.state_dict()}, 'out.pt'))")
    elif data[:1] == b"\x80":
        from lfp_desktop.engine.nvlabs import read_nvlabs_pickle

        state, latent_avg, info = read_nvlabs_pickle(data, path)
        meta.update(info)
        meta["format"] = "nvlabs"
        return state, latent_avg, meta, digest
    else:
        raise CheckpointError(f"{path} is neither a PyTorch checkpoint nor a pickle; "
                              "expected a rosinality .pt file or an NVlabs .pkl file")
    state, latent_avg = _pick_g_ema(obj, path)
    if isinstance(obj, Mapping) and isinstance(obj.get("args"), argparse.Namespace):
        meta["args"] = {k: v for k, v in vars(obj["args"]).items() if isinstance(v, (int, float, str, bool))}
    return state, latent_avg, meta, digest


def safe_torch_load(source: bytes | Path, path: Path, *, what: str, resave: str, mmap: bool = False) -> Any:
    """torch.load with weights_only=True (plain tensors and containers, never code), every
    failure turned into a CheckpointError that says what is wrong and what to do.

    ``source`` is the file's bytes or its path; ``what`` names the expected file in messages
    ("PyTorch checkpoint"); ``resave`` tells how to turn a pickled model into plain weights.
    """
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            data = io.BytesIO(source) if isinstance(source, bytes) else source
            return torch.load(data, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a user-facing refusal
        text = str(exc)
        # Every weights_only failure mentions "weights_only"; only a refused global means code.
        if "Unsupported global" in text or "GLOBAL" in text:
            raise CheckpointError(
                f"{path} contains Python objects that would have to be executed to load it; "
                f"LFP Desktop never runs code from files. {resave}") from exc
        first = text.splitlines()[0] if text else ""
        raise CheckpointError(f"{path} could not be read as a {what} ({type(exc).__name__}: {first}); "
                              "the file may be truncated or corrupt") from exc


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def _pick_g_ema(obj: Any, path: Path) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a checkpoint dictionary")
    latent_avg = obj.get("latent_avg") if isinstance(obj.get("latent_avg"), torch.Tensor) else None
    if "g_ema" in obj:
        state = obj["g_ema"]
    elif _is_state_dict(obj) and any(k.startswith("style.") for k in obj):
        state = obj
    else:
        keys = ", ".join(sorted(map(str, obj.keys()))[:8])
        raise CheckpointError(f"{path} has no 'g_ema' generator (top-level keys: {keys}); "
                              "attribution needs the EMA generator of a StyleGAN2 checkpoint")
    if not _is_state_dict(state):
        raise CheckpointError(f"'g_ema' in {path} is not a state dict of tensors")
    return dict(state), latent_avg


def infer_config(state: Mapping[str, torch.Tensor], hints: Mapping[str, Any] | None = None) -> GeneratorConfig:
    """Architecture implied by a rosinality g_ema state dict's keys and tensor shapes."""
    try:
        style_ids = sorted(int(m.group(1)) for k in state if (m := _STYLE_KEY.match(k)))
        if not style_ids:
            raise KeyError("style.1.weight")
        style_dim = int(state[f"style.{style_ids[0]}.weight"].shape[1])
        n_rgb = len([k for k in state if _TO_RGB_KEY.match(k)])
        size = 2 ** (n_rgb + 2)
        channels = [int(state["input.input"].shape[1])]
        for i in range(n_rgb):
            channels.append(int(state[f"convs.{2 * i}.conv.weight"].shape[1]))
    except KeyError as exc:
        raise CheckpointError(f"not a StyleGAN2 (rosinality layout) generator: key {exc} is missing") from exc
    except (IndexError, AttributeError, TypeError) as exc:
        raise CheckpointError(f"not a StyleGAN2 generator: unexpected tensor shapes ({exc})") from exc
    lr_mlp = float((hints or {}).get("lr_mlp", 0.01))
    try:
        return GeneratorConfig(size=size, style_dim=style_dim, n_mlp=len(style_ids),
                               channels=tuple(channels), lr_mlp=lr_mlp)
    except ValueError as exc:
        raise CheckpointError(f"inconsistent generator layout: {exc}") from exc


def check_state_dict(expected: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor]) -> None:
    """Raise CheckpointError naming the first missing, unexpected or mis-shaped keys."""
    missing = [k for k in expected if k not in given]
    extra = [k for k in given if k not in expected]
    shapes = [f"{k} {tuple(given[k].shape)} (expected {tuple(expected[k].shape)})"
              for k in expected if k in given and tuple(given[k].shape) != tuple(expected[k].shape)]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {', '.join(missing[:5])}")
    if extra:
        problems.append(f"{len(extra)} unexpected key(s): {', '.join(extra[:5])}")
    if shapes:
        problems.append(f"{len(shapes)} mis-shaped tensor(s): {'; '.join(shapes[:5])}")
    if problems:
        raise CheckpointError("the generator weights do not match a StyleGAN2 generator of the "
                              "inferred layout: " + " | ".join(problems))


def build_generator(state: Mapping[str, torch.Tensor], latent_avg: torch.Tensor | None = None,
                    hints: Mapping[str, Any] | None = None) -> Generator:
    """Build a Generator from a rosinality state dict, strictly (float32, CPU, eval mode)."""
    config = infer_config(state, hints)
    gen = Generator(config)
    check_state_dict(gen.state_dict(), state)
    non_float = [k for k, v in state.items() if not torch.is_floating_point(v)]
    if non_float:
        raise CheckpointError(f"tensor {non_float[0]} is not floating point")
    gen.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    if latent_avg is not None:
        if latent_avg.numel() != config.style_dim:
            raise CheckpointError(f"latent_avg has {latent_avg.numel()} values, expected {config.style_dim}")
        gen.latent_avg.copy_(latent_avg.reshape(-1).float())
        gen.has_latent_avg = True
    gen.eval().requires_grad_(False)
    return gen


def load_model(path: str | Path, device: str | torch.device | None = None) -> Any:
    """Load any supported base model: a folder is a latent diffusion model (diffusers layout,
    see :func:`lfp_desktop.engine.ldm.load_ldm`), a file a StyleGAN2 checkpoint
    (:func:`load_stylegan2`). Both results have ``synthesis``, ``config.size``,
    ``config.style_dim``, ``device``, ``sha256`` and ``source``."""
    from lfp_desktop.engine.ldm_folder import looks_like_ldm_folder

    if Path(path).is_dir():
        if not looks_like_ldm_folder(path):
            raise CheckpointError(f"checkpoint path {path} is not a file, nor a latent diffusion model folder "
                                  "(it has none of unet/, vqvae/ or vae/, scheduler/, model_index.json); choose "
                                  "a StyleGAN2 checkpoint file or a diffusers model folder")
        from lfp_desktop.engine.ldm import load_ldm

        return load_ldm(path, device=device)
    return load_stylegan2(path, device=device)


def load_generator(path: str | Path, device: str | torch.device | None = None) -> Any:
    """The historical name of :func:`load_model` (a StyleGAN2 file or an LDM folder)."""
    return load_model(path, device=device)


def load_stylegan2(path: str | Path, device: str | torch.device | None = None) -> Generator:
    """Load a StyleGAN2 generator from a rosinality ``.pt`` or NVlabs ``.pkl`` file.

    The module has ``.mapping(z)``, ``.synthesis(w)`` (W or W+, stored constant noise,
    NCHW float in [-1, 1]), ``.config`` and ``.sha256`` (of the file's bytes).
    device: None/"auto" picks CUDA when present.
    """
    state, latent_avg, meta, digest = read_checkpoint(path)
    gen = build_generator(state, latent_avg, meta.get("args"))
    gen.sha256 = digest
    gen.source = str(path)
    gen.config.extra.update({"format": meta["format"]})
    return gen.to(resolve_device(device))
