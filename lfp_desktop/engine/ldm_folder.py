"""The on-disk layout of a latent diffusion model (diffusers folder layout), read without torch.

A model folder holds ``unet/`` (UNet2DModel), an autoencoder in ``vqvae/`` (VQModel) or
``vae/`` (AutoencoderKL), and ``scheduler/`` (a DDIM-compatible noise schedule), each with a
JSON config and, for the networks, a ``diffusion_pytorch_model.safetensors`` (or ``.bin``)
weights file. ``model_index.json`` is optional; when present it names the autoencoder folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lfp_desktop.errors import CheckpointError

MODEL_KINDS = ("stylegan2", "ldm")
UNET_CLASSES = ("UNet2DModel",)
AUTOENCODER_CLASSES = {"VQModel": "vq", "AutoencoderKL": "kl"}
LAYOUT_MARKERS = ("model_index.json", "unet", "vqvae", "vae", "scheduler")
WEIGHT_NAMES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
_LAYOUT_HINT = ("expected the diffusers layout: unet/ (UNet2DModel), vqvae/ (VQModel) or vae/ (AutoencoderKL), "
                "and scheduler/, each with its config file and the networks with their weights")
_MAX_CONFIG_BYTES = 1 << 20


def model_kind_of(path: str | Path) -> str:
    """'ldm' for a folder (a latent diffusion model), 'stylegan2' for anything else (a file)."""
    return "ldm" if Path(path).is_dir() else "stylegan2"


def looks_like_ldm_folder(path: str | Path) -> bool:
    """True when ``path`` is a folder with any part of the diffusers layout (a cheap check;
    :func:`check_ldm_folder` then names whatever is missing)."""
    p = Path(path)
    return p.is_dir() and any((p / name).exists() for name in LAYOUT_MARKERS)


@dataclass(frozen=True)
class LDMFolder:
    """The files of one model folder that define the model (all checked to exist)."""

    root: Path
    unet_dir: Path
    autoencoder_dir: Path
    autoencoder_kind: str  # "vq" or "kl"
    scheduler_config: Path
    unet_config: dict[str, Any]
    autoencoder_config: dict[str, Any]
    scheduler_settings: dict[str, Any]

    def hashed_files(self) -> list[Path]:
        """Every file whose bytes define the model: configs and weights, sorted."""
        files = [self.root / "model_index.json"] if (self.root / "model_index.json").is_file() else []
        for folder in (self.unet_dir, self.autoencoder_dir, self.scheduler_config.parent):
            files += [f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")]
        return sorted(set(files), key=lambda f: f.relative_to(self.root).as_posix())


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from a config file, or a CheckpointError naming the file."""
    if not path.is_file():
        raise CheckpointError(f"{what} {path} is missing; {_LAYOUT_HINT}")
    if path.stat().st_size > _MAX_CONFIG_BYTES:
        raise CheckpointError(f"{what} {path} is implausibly large for a config file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{what} {path} is not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{what} {path} does not hold a JSON object")
    return data


def _weights(folder: Path) -> Path:
    for name in WEIGHT_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise CheckpointError(f"{folder} has no weights file ({' or '.join(WEIGHT_NAMES)}); copy the model's "
                          "weights next to its config.json")


def _autoencoder_dir(root: Path) -> Path:
    index = root / "model_index.json"
    if index.is_file():
        names = [k for k, v in read_json(index, "model index").items()
                 if isinstance(v, list) and len(v) == 2 and v[1] in AUTOENCODER_CLASSES]
        if names:
            return root / names[0]
    for name in ("vqvae", "vae"):
        if (root / name).is_dir():
            return root / name
    raise CheckpointError(f"the model folder {root} has no autoencoder (vqvae/ or vae/); {_LAYOUT_HINT}")


def check_ldm_folder(path: str | Path) -> LDMFolder:
    """Check that every component of an unconditional LDM is present and of a supported class."""
    root = Path(path)
    if not root.exists():
        raise CheckpointError(f"model folder {root} does not exist")
    if not root.is_dir():
        raise CheckpointError(f"{root} is not a folder; a latent diffusion model is a folder ({_LAYOUT_HINT})")
    unet_cfg = read_json(root / "unet" / "config.json", "UNet config")
    unet_class = unet_cfg.get("_class_name", "UNet2DModel")
    if unet_class not in UNET_CLASSES:
        raise CheckpointError(f"{root}/unet is a {unet_class}; only unconditional models (UNet2DModel) "
                              "can be fingerprinted")
    ae_dir = _autoencoder_dir(root)
    ae_cfg = read_json(ae_dir / "config.json", "autoencoder config")
    ae_class = ae_cfg.get("_class_name", "VQModel" if ae_dir.name == "vqvae" else "AutoencoderKL")
    if ae_class not in AUTOENCODER_CLASSES:
        raise CheckpointError(f"{ae_dir} holds a {ae_class}; supported autoencoders: "
                              f"{', '.join(AUTOENCODER_CLASSES)}")
    sched_path = root / "scheduler" / "scheduler_config.json"
    sched = read_json(sched_path, "scheduler config")
    for folder in (root / "unet", ae_dir):
        _weights(folder)
    return LDMFolder(root=root, unet_dir=root / "unet", autoencoder_dir=ae_dir,
                     autoencoder_kind=AUTOENCODER_CLASSES[ae_class], scheduler_config=sched_path,
                     unet_config=unet_cfg, autoencoder_config=ae_cfg, scheduler_settings=sched)


def _file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def folder_sha256(folder: LDMFolder) -> str:
    """Combined SHA-256 of a model folder: the SHA-256 of the lines
    ``<relative path>\\t<file SHA-256>\\n`` of :meth:`LDMFolder.hashed_files`, in order.

    Configs are included because the noise schedule and architecture define the latents
    as much as the weights do; the folder's own name and location are not.
    """
    lines = "".join(f"{f.relative_to(folder.root).as_posix()}\t{_file_sha256(f)}\n"
                    for f in folder.hashed_files())
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
