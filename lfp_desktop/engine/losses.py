"""Image distances D(x, g(ŵ)) used by attribution, one value per batch row."""

from __future__ import annotations

from pathlib import Path

import torch

from lfp_desktop.errors import LFPError

LOSS_NAMES = ("pixel", "lpips-vgg", "lpips-alex")


class ImageLoss:
    """Distance between generated images and prepared targets.

    ``prepare(targets)`` takes float (M, 3, H, W) in [−1, 1]; calling the loss with
    images (R, 3, H, W) and ``row_image`` (R,) long (which target each row is compared
    with) returns float (R,).
    """

    name = "base"

    def prepare(self, targets: torch.Tensor) -> None:
        self.targets = targets

    def __call__(self, images: torch.Tensor, row_image: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def uses_grid(self, image: int) -> bool:
        """Whether image ``image`` is compared through its JPEG grid (engine/jpeg.py)."""
        return False

    def image_loss_name(self, image: int) -> str:
        """The name of the distance used for image ``image`` (recorded in its result)."""
        return self.name


class PixelLoss(ImageLoss):
    """Mean squared error over pixels and channels (images in [−1, 1])."""

    name = "pixel"

    def __call__(self, images: torch.Tensor, row_image: torch.Tensor) -> torch.Tensor:
        return (images.float() - self.targets[row_image]).square().mean(dim=(1, 2, 3))


def make_loss(name: str, backbone: str | Path = "", device: torch.device | str = "cpu") -> ImageLoss:
    """The loss called ``name``; LPIPS needs a user-supplied backbone weights file."""
    if name == "pixel":
        return PixelLoss()
    if name in ("lpips-vgg", "lpips-alex"):
        if not backbone:
            raise LFPError(f"the {name} loss needs a backbone weights file (Settings → Loss); "
                           "without one, use the pixel loss")
        from lfp_desktop.engine.lpips import LPIPSLoss

        return LPIPSLoss(name.split("-")[1], Path(backbone), device=device)
    raise LFPError(f"unknown loss '{name}'; choose one of {', '.join(LOSS_NAMES)}")
