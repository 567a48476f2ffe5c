"""Read NVlabs stylegan2-ada ``.pkl`` generators without executing anything.

Those pickles rebuild their networks by running Python source stored inside the file.
The unpickler here allows only tensor-rebuild helpers and plain containers; the
persistent-object hook is replaced by a stub that keeps the object's saved state, from
which the weights are collected and renamed to the rosinality layout.
"""

from __future__ import annotations

import collections
import io
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from lfp_desktop.errors import CheckpointError


class _SavedState:
    """Stands in for a network object: keeps only its pickled state."""

    def __init__(self, meta: Any):
        self.state = meta.get("state") if isinstance(meta, dict) else None


def _reconstruct_stub(meta: Any) -> _SavedState:
    return _SavedState(meta)


def _load_storage_bytes(data: bytes) -> Any:
    # Storages inside plain pickles are nested torch.save payloads: load them weights-only.
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


class _EasyDict(dict):
    """Stands in for dnnlib's EasyDict. Pickles rebuild dict subclasses with NEWOBJ, which
    needs a type (a factory function is rejected), and then fill in the items."""


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage_bytes,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("dnnlib", "EasyDict"): _EasyDict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_stub,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
}
if hasattr(torch._utils, "_rebuild_tensor_v3"):
    _ALLOWED[("torch._utils", "_rebuild_tensor_v3")] = torch._utils._rebuild_tensor_v3


class _Refused(pickle.UnpicklingError):
    """The pickle asked for something outside the allow-list (as opposed to being damaged)."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray") and name in ("dtype", "scalar"):
            import numpy as np

            # numpy ≥ 2 renamed numpy.core to numpy._core (the old name warns).
            core = getattr(np, "_core", None) or np.core
            return np.dtype if name == "dtype" else core.multiarray.scalar
        raise _Refused(f"refused to load '{module}.{name}'")

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("persistent storage references are not supported here")


def _flatten(obj: Any, prefix: str, out: dict[str, torch.Tensor]) -> None:
    state = obj.state if isinstance(obj, _SavedState) else getattr(obj, "__dict__", None)
    if not isinstance(state, dict):
        return
    for group in ("_parameters", "_buffers"):
        for name, tensor in (state.get(group) or {}).items():
            if isinstance(tensor, torch.Tensor):
                out[prefix + name] = tensor.detach()
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            _flatten(child, f"{prefix}{name}.", out)


def _init_kwargs(obj: Any) -> dict[str, Any]:
    state = obj.state if isinstance(obj, _SavedState) else None
    kw = (state or {}).get("_init_kwargs") or {}
    return {k: v for k, v in dict(kw).items() if isinstance(v, (int, float, str, bool))}


def read_nvlabs_pickle(data: bytes, path: Path) -> tuple[dict[str, torch.Tensor], torch.Tensor | None, dict[str, Any]]:
    """Weights of ``G_ema`` from an NVlabs pickle, renamed to the rosinality layout.

    Returns (state dict, latent_avg or None, info). Raises CheckpointError when the file
    needs anything outside the allow-list or is not a StyleGAN2 generator.
    """
    try:
        top = _RestrictedUnpickler(io.BytesIO(data)).load()
    except _Refused as exc:
        raise CheckpointError(f"{path} was refused: {exc}. Only weights are read from .pkl files; "
                              "code embedded in a pickle is never run") from exc
    except Exception as exc:  # noqa: BLE001 - truncated or foreign pickles
        raise CheckpointError(f"{path} could not be read as an NVlabs pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(top, dict) or "G_ema" not in top:
        raise CheckpointError(f"{path} has no 'G_ema' generator; expected an NVlabs stylegan2-ada pickle")
    flat: dict[str, torch.Tensor] = {}
    _flatten(top["G_ema"], "", flat)
    kwargs = _init_kwargs(top["G_ema"])
    if kwargs.get("c_dim", 0):
        raise CheckpointError(f"{path} is a class-conditional generator (c_dim={kwargs['c_dim']}); "
                              "only unconditional generators can be fingerprinted")
    state, latent_avg = convert_nvlabs_state(flat)
    return state, latent_avg, {"init_kwargs": kwargs}


_FC = re.compile(r"^mapping\.fc(\d+)\.(weight|bias)$")
_BLOCK = re.compile(r"^synthesis\.b(\d+)\.(conv0|conv1|torgb)\.(.+)$")
_RGB_BIAS = re.compile(r"^to_rgbs\.\d+\.bias$")  # not the .conv.modulation.bias keys


def convert_nvlabs_state(flat: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Rename NVlabs G_ema tensors to rosinality g_ema keys (see shared checkpoint notes)."""
    out: dict[str, torch.Tensor] = {}
    latent_avg = flat.get("mapping.w_avg")
    if "synthesis.b4.const" not in flat:
        raise CheckpointError("not an NVlabs StyleGAN2 generator: synthesis.b4.const is missing")
    out["input.input"] = flat["synthesis.b4.const"].unsqueeze(0)
    filt = None
    for key, t in flat.items():
        if m := _FC.match(key):
            out[f"style.{int(m.group(1)) + 1}.{m.group(2)}"] = t
        elif m := _BLOCK.match(key):
            res, layer, rest = int(m.group(1)), m.group(2), m.group(3)
            i = res.bit_length() - 3  # res = 4·2^i
            if layer == "torgb":
                base = "to_rgb1" if i == 0 else f"to_rgbs.{i - 1}"
            else:
                base = "conv1" if i == 0 else f"convs.{2 * i - 2 + (layer == 'conv1')}"
            _convert_layer(out, base, rest, t, layer == "torgb", noise_index=None if layer == "torgb"
                           else (0 if i == 0 else 2 * i - 1 + (layer == "conv1")))
            if rest == "resample_filter":
                filt = t
        elif key.startswith("mapping.embed") or key.startswith("synthesis.") and key.endswith(".skip.weight"):
            raise CheckpointError("only the 'skip' StyleGAN2 architecture without class embedding is supported")
    if filt is None:
        raise CheckpointError("the NVlabs generator has no resample_filter buffers")
    kernel = filt * 4.0
    n_rgb = len([k for k in out if _RGB_BIAS.match(k)])
    for i in range(n_rgb):
        out[f"convs.{2 * i}.conv.blur.kernel"] = kernel.clone()
        out[f"to_rgbs.{i}.upsample.kernel"] = kernel.clone()
    return out, latent_avg


def _convert_layer(out: dict[str, torch.Tensor], base: str, rest: str, t: torch.Tensor,
                   is_rgb: bool, noise_index: int | None) -> None:
    if rest == "weight":
        out[f"{base}.conv.weight"] = t.unsqueeze(0)
    elif rest == "affine.weight":
        out[f"{base}.conv.modulation.weight"] = t
    elif rest == "affine.bias":
        out[f"{base}.conv.modulation.bias"] = t
    elif rest == "bias":
        out[f"{base}.bias" if is_rgb else f"{base}.activate.bias"] = t.view(1, 3, 1, 1) if is_rgb else t
    elif rest == "noise_strength":
        out[f"{base}.noise.weight"] = t.reshape(1)
    elif rest == "noise_const" and noise_index is not None:
        out[f"noises.noise_{noise_index}"] = t.reshape(1, 1, *t.shape[-2:])
