"""The demo's procedural faces and non-face pictures: reproducible, varied, and telling apart."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from lfp_desktop.demo.faces import (PARAM_RANGES, FaceParams, main, render_dataset, render_face,
                                    render_faces, sample_params)
from lfp_desktop.demo.pictures import render_pictures


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return render_faces(96, 32, seed=0)


@pytest.fixture(scope="module")
def pictures() -> np.ndarray:
    return render_pictures(96, 32, seed=0)


def _skin_fraction(images: np.ndarray) -> np.ndarray:
    """Share of the central 12x12 pixels in the classic YCrCb skin box, per image."""
    centre = np.ascontiguousarray(images[:, 10:22, 10:22])
    ycc = cv2.cvtColor(centre.reshape(-1, 12, 3), cv2.COLOR_RGB2YCrCb).reshape(centre.shape)
    cr, cb = ycc[..., 1].astype(int), ycc[..., 2].astype(int)
    return ((cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)).mean(axis=(1, 2))


def _eye_mouth_params() -> FaceParams:
    return sample_params(np.random.default_rng(7), 1)[0]


def test_same_seed_gives_identical_bytes(faces: np.ndarray) -> None:
    assert render_faces(96, 32, seed=0).tobytes() == faces.tobytes()
    assert render_pictures(24, 32, seed=3).tobytes() == render_pictures(24, 32, seed=3).tobytes()


def test_different_seeds_give_different_images(faces: np.ndarray,
                                               pictures: np.ndarray) -> None:
    other = render_faces(16, 32, seed=1)
    assert all(not np.array_equal(a, b) for a, b in zip(faces[:16], other))
    other_pictures = render_pictures(16, 32, seed=1)
    assert sum(np.array_equal(a, b) for a, b in zip(pictures[:16], other_pictures)) == 0


def test_shapes_and_dtypes() -> None:
    assert render_faces(3, 64, seed=2).shape == (3, 64, 64, 3)
    assert render_faces(0, 32).shape == (0, 32, 32, 3)
    assert render_dataset(2, 16, seed=2).dtype == np.uint8
    assert render_pictures(5, 48, seed=2).shape == (5, 48, 48, 3)
    assert render_pictures(5, 48, seed=2).dtype == np.uint8


def test_batch_rendering_matches_single_faces_across_chunks() -> None:
    batch = render_faces(70, 32, seed=4)  # more than one internal chunk
    params = sample_params(np.random.default_rng(4), 70)
    for i in (0, 63, 64, 69):
        assert np.array_equal(render_face(params[i], 32), batch[i])
    assert np.array_equal(render_faces(5, 32, seed=4), batch[:5])
    assert np.array_equal(render_pictures(3, 32, seed=4), render_pictures(9, 32, seed=4)[:3])


def test_faces_vary(faces: np.ndarray) -> None:
    means = faces.reshape(len(faces), -1, 3).mean(axis=1)
    assert (means.std(axis=0) > 15).all()  # backgrounds, skin and hair differ
    assert len({img.tobytes() for img in faces}) == len(faces)


def test_a_face_stands_out_from_the_background(faces: np.ndarray) -> None:
    img = faces.astype(float)
    centre = img[:, 12:20, 12:20].reshape(len(img), -1, 3).mean(axis=1)
    corners = np.concatenate([img[:, :4, :4], img[:, :4, -4:]], axis=1)
    gap = np.linalg.norm(centre - corners.reshape(len(img), -1, 3).mean(axis=1), axis=1)
    assert (gap > 20).mean() >= 0.95


def test_faces_have_skin_toned_centres_and_pictures_mostly_do_not(
        faces: np.ndarray, pictures: np.ndarray) -> None:
    face_skin, picture_skin = _skin_fraction(faces), _skin_fraction(pictures)
    assert (face_skin > 0.5).mean() >= 0.95
    # Some sunsets and sand-coloured textures are skin-like; most pictures are not.
    assert (picture_skin > 0.5).mean() <= 0.3
    assert face_skin.mean() - picture_skin.mean() > 0.5


def test_sampled_params_stay_in_range_and_span_it() -> None:
    params = sample_params(np.random.default_rng(11), 2000)
    for name, (lo, hi) in PARAM_RANGES.items():
        values = np.array([getattr(p, name) for p in params])
        assert values.min() >= lo and values.max() <= hi, name
        assert values.max() - values.min() > 0.8 * (hi - lo), name
    visible_glasses = np.mean([p.glasses > 0.5 for p in params])
    assert 0.2 <= visible_glasses <= 0.3


def test_glasses_change_only_the_eye_band() -> None:
    base = _eye_mouth_params()
    bare = render_face(dataclasses.replace(base, glasses=0.0), 64).astype(int)
    framed = render_face(dataclasses.replace(base, glasses=1.0), 64).astype(int)
    changed = np.abs(bare - framed).sum(axis=2) > 30
    rows = np.nonzero(changed.any(axis=1))[0]
    assert changed.sum() > 40
    assert rows.min() > 10 and rows.max() < 40  # around the eyes, not hair or mouth


def test_smile_changes_the_lower_face() -> None:
    base = _eye_mouth_params()
    frown = render_face(dataclasses.replace(base, smile=-0.5), 64).astype(int)
    grin = render_face(dataclasses.replace(base, smile=1.0), 64).astype(int)
    changed = np.abs(frown - grin).sum(axis=2) > 30
    assert changed[40:54].sum() > 20 and changed[:36].sum() == 0


def test_small_parameter_steps_make_small_changes() -> None:
    base = _eye_mouth_params()

    def gap(a: float, b: float) -> float:
        one = render_face(dataclasses.replace(base, hair_tone=a), 32).astype(float)
        two = render_face(dataclasses.replace(base, hair_tone=b), 32).astype(float)
        return float(np.abs(one - two).mean())

    step, span = gap(0.5, 0.51), gap(0.0, 1.0)
    assert 0 < step < 0.05 * span and span > 5


@pytest.mark.parametrize("bad", [{"n": -1}, {"size": 4}, {"size": 32.0}])
def test_bad_arguments_are_refused(bad: dict) -> None:
    args = {"n": 2, "size": 32, "seed": 0} | bad
    with pytest.raises(ValueError, match="n must|size must"):
        render_faces(**args)
    with pytest.raises(ValueError, match="n must|size must"):
        render_pictures(**args)


def test_sheet_command_writes_a_contact_sheet(tmp_path) -> None:
    out = tmp_path / "sheet.png"
    assert main(["--sheet", str(out), "--size", "16", "--n", "10", "--seed", "1"]) == 0
    sheet = cv2.imread(str(out))
    # 10 faces in 8 columns: 2 rows of 64 px tiles (16 px at 4x) with 2 px gutters.
    assert sheet.shape == (2 * 66 + 2, 8 * 66 + 2, 3)
    assert sheet[2:66, 2:66].std() > 10
