"""What a JPEG evidence file fixes about its pixels: its quantisation steps and chroma
subsampling (read here without torch; the likelihood that uses them is engine/jpeg.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_SAMPLING = {0: (1, 1), 1: (2, 1), 2: (2, 2)}  # Pillow's get_sampling → chroma (h, v) factors


@dataclass(frozen=True)
class JpegGrid:
    """What a JPEG file fixes about its image: the quantisation steps (64 each, row-major
    within the 8×8 block) of luma and chroma, and the chroma subsampling factors."""

    luma: tuple[int, ...]
    chroma: tuple[int, ...]
    subsampling: tuple[int, int] = (2, 2)  # (horizontal, vertical)

    def fits(self, height: int, width: int) -> bool:
        """Whether an image of this size is whole blocks in every channel (the model's reach)."""
        h, v = self.subsampling
        return height % (8 * v) == 0 and width % (8 * h) == 0


def jpeg_grid(image: Any) -> JpegGrid | None:
    """The grid of an opened Pillow JPEG image, or None when the model does not apply
    (not a 3-channel YCbCr JPEG, unusual subsampling, or tables missing)."""
    from PIL import JpegImagePlugin

    if getattr(image, "format", None) != "JPEG" or image.mode != "RGB":
        return None
    tables = getattr(image, "quantization", None) or {}
    if 0 not in tables or len(tables) < 2 or image.info.get("adobe_transform") == 0:
        return None
    sampling = _SAMPLING.get(JpegImagePlugin.get_sampling(image))
    luma, chroma = tables[0], tables[1]
    if sampling is None or len(luma) != 64 or len(chroma) != 64 or min(*luma, *chroma) < 1:
        return None  # a step of 0 is invalid JPEG (a hostile file): no grid, the pixel loss
    return JpegGrid(tuple(int(q) for q in luma), tuple(int(q) for q in chroma), sampling)
