"""Settings and the folders LFP Desktop keeps its files in.

``$LFP_HOME`` overrides every folder (tests and portable installs use it); otherwise
platformdirs gives the per-user config and data folders.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfp_desktop.engine.settings import STATISTICS
from lfp_desktop.errors import LFPError

APP_NAME = "lfp-desktop"
HOME_ENV = "LFP_HOME"
SETTINGS_FORMAT = 1


def config_dir() -> Path:
    """Folder for settings.json (created on demand)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]) / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Folder for cases, the lab signing key and the demo workspace (created on demand)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]) / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class SettingsError(LFPError):
    """A settings value or file is invalid."""


@dataclass
class Settings:
    """User settings; every field is validated by :meth:`validate`."""

    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:N"
    starts: int = 20
    steps: int = 2000
    early_stopping: bool = True
    loss: str = "pixel"  # "pixel", "lpips-vgg", "lpips-alex"
    lpips_backbone: str = ""  # path to a torchvision-layout backbone file
    target_fpr: float = 1e-6
    blur_radius: int = 0  # 0: off; else the radius of the blur fitted in front of the loss
    statistic: str = "hamming"  # key comparison: "hamming" or "weighted" (by bit confidence)
    jpeg_model: bool = True  # compare JPEG evidence through its file's quantisation grid (with early stopping)
    workers: int = 0  # 0: one per CUDA device, or one CPU worker
    images_per_job: int = 4
    recent_files: list[str] = field(default_factory=list)
    registry_path: str = ""
    checkpoint_path: str = ""
    signing_pkcs12: str = ""
    format_version: int = SETTINGS_FORMAT

    def validate(self) -> None:
        """Raise SettingsError naming the first invalid field."""
        _check(self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda"),
               "device", "must be 'auto', 'cpu', 'cuda' or 'cuda:N'")
        _check(1 <= self.starts <= 256, "starts", "must be between 1 and 256")
        _check(1 <= self.steps <= 100_000, "steps", "must be between 1 and 100000")
        _check(self.loss in ("pixel", "lpips-vgg", "lpips-alex"), "loss",
               "must be 'pixel', 'lpips-vgg' or 'lpips-alex'")
        _check(0.0 < self.target_fpr < 1.0, "target_fpr", "must be between 0 and 1 (exclusive)")
        _check(0 <= self.blur_radius <= 12, "blur_radius", "must be between 0 (off) and 12 pixels")
        _check(self.statistic in STATISTICS, "statistic", "must be 'hamming' or 'weighted'")
        _check(0 <= self.workers <= 64, "workers", "must be between 0 and 64")
        _check(1 <= self.images_per_job <= 64, "images_per_job", "must be between 1 and 64")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        try:
            s = cls(**kwargs)
        except TypeError as exc:
            raise SettingsError(f"settings could not be read: {exc}") from exc
        for name, f in known.items():
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            value = getattr(s, name)
            if isinstance(default, bool) != isinstance(value, bool) or (
                not isinstance(value, type(default)) and not (isinstance(default, float) and isinstance(value, int))
            ):
                raise SettingsError(f"setting '{name}' has the wrong type ({type(value).__name__}); "
                                    f"expected {type(default).__name__}")
        s.validate()
        return s


def _check(ok: bool, name: str, why: str) -> None:
    if not ok:
        raise SettingsError(f"setting '{name}' {why}")


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing file gives defaults, a corrupt one a SettingsError."""
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"settings file {path} is not valid JSON ({exc}); "
                            "fix it or delete it to return to the defaults") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path} does not hold a JSON object; delete it to reset")
    return Settings.from_dict(data)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Validate and write settings atomically; returns the path written."""
    settings.validate()
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings.to_dict(), indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path
