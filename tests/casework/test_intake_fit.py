"""Fitting evidence to the generator's resolution: each policy does what its description says."""

from __future__ import annotations

import numpy as np
import pytest

from lfp_desktop.casework.intake import fit_to_resolution
from lfp_desktop.errors import EvidenceError


def halves(h: int, w: int) -> np.ndarray:
    """Left half red, right half blue, with a green 2-px band in the middle column pair."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2] = (255, 0, 0)
    img[:, w // 2:] = (0, 0, 255)
    return img


def test_center_crop_keeps_the_centre_and_says_what_was_cut() -> None:
    img = halves(100, 300)
    img[:, :100] = (0, 255, 0)  # the left third is cropped away
    out, how = fit_to_resolution(img, 50)
    assert out.shape == (50, 50, 3) and out.dtype == np.uint8
    assert not (out[..., 1] > 0).any()  # no green survives
    assert out[25, 5].tolist() == [255, 0, 0] and out[25, 45].tolist() == [0, 0, 255]
    assert how == ("centre 100×100 square cropped from 300×100 (100 px left, 100 px right removed); "
                   "then resized 100×100 → 50×50 (downscaled, area averaging)")


def test_area_downscale_averages_and_cubic_upscale_stays_in_range() -> None:
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    img = np.repeat(checker[:, :, None], 3, axis=2)
    out, _ = fit_to_resolution(img, 32)
    assert np.all(np.abs(out.astype(int) - 127) <= 1)  # 2×2 blocks average to grey, no aliasing
    edge = np.zeros((4, 4, 3), np.uint8)
    edge[:, 2:] = 255
    up, how = fit_to_resolution(edge, 16)
    assert "upscaled, bicubic" in how and up.min() == 0 and up.max() == 255  # clipped overshoot


def test_pad_keeps_everything_and_fills_with_black() -> None:
    img = np.full((50, 100, 3), 200, np.uint8)
    out, how = fit_to_resolution(img, 64, "pad")
    assert out.shape == (64, 64, 3)
    assert (out[:16] == 0).all() and (out[48:] == 0).all() and (out[16:48] == 200).all()
    assert how == ("resized 100×50 → 64×32 (downscaled, area averaging); then padded with black to "
                   "64×64 (top 16, bottom 16, left 0, right 0)")


def test_stretch_changes_the_aspect_ratio_and_says_so() -> None:
    out, how = fit_to_resolution(halves(20, 80), 40, "stretch")
    assert out.shape == (40, 40, 3) and out[20, 5].tolist() == [255, 0, 0]
    assert "aspect ratio changed" in how


def test_already_the_right_size_is_left_alone() -> None:
    img = halves(32, 32)
    out, how = fit_to_resolution(img, 32, "exact")
    assert np.array_equal(out, img) and out is not img and how == "none: already 32×32"


def test_exact_policy_refuses_other_sizes() -> None:
    with pytest.raises(EvidenceError, match="the image is 40×32 but the generator makes 32×32"):
        fit_to_resolution(halves(32, 40), 32, "exact")


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((4, 4, 4), np.uint8)])
def test_wrong_arrays_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 HxWx3"):
        fit_to_resolution(bad, 8)


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown resize policy 'zoom'"):
        fit_to_resolution(halves(8, 8), 4, "zoom")
