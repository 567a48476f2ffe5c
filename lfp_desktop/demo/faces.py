"""Procedural cartoon faces: the training set of the bundled demo generator.

Each face is drawn from a `FaceParams` of continuous attributes, so a small GAN can learn the
set fast and a move in its latent space shows as a small semantic change (a wider smile,
lighter hair). Faces are drawn at `SUPERSAMPLE` times the output size with anti-aliased
shapes and box-downsampled, so 32 px and 64 px pictures stay clean. Geometry is in frame
units: (0, 0) is the top-left corner of the picture, (1, 1) the bottom-right.

Run ``python -m lfp_desktop.demo.faces --sheet OUT.png`` for a contact sheet, ``--bench``
for the rendering speed.
"""

from __future__ import annotations

import argparse
import operator
import time
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Callable, Sequence

import cv2
import numpy as np

SUPERSAMPLE = 4
_SHIFT = 4  # fixed-point fraction bits, so shapes move smoothly by sub-pixel steps
_AA = cv2.LINE_AA

# Anchor colours (RGB 0..255) that the continuous colour parameters interpolate between.
_SKIN = np.array([[255, 226, 204], [240, 196, 164], [222, 168, 126], [192, 131, 88],
                  [141, 88, 56], [92, 58, 40]], np.float32)
_HAIR = np.array([[24, 20, 20], [58, 40, 30], [102, 68, 44], [150, 108, 66],
                  [204, 164, 104], [236, 214, 168], [230, 228, 222]], np.float32)
_IRIS = np.array([[70, 42, 24], [120, 82, 40], [96, 112, 52], [64, 120, 150],
                  [110, 130, 150]], np.float32)
_FRAMES = np.array([[20, 20, 24], [96, 54, 30], [196, 160, 70], [168, 170, 180],
                    [150, 28, 40]], np.float32)

PARAM_RANGES: dict[str, tuple[float, float]] = {
    "face_width": (0.86, 1.12), "face_height": (0.92, 1.08), "jaw_roundness": (0.0, 1.0),
    "skin_tone": (0.0, 1.0), "skin_warmth": (-1.0, 1.0), "blush": (0.0, 1.0),
    "hair_tone": (0.0, 1.0), "hair_red": (0.0, 1.0), "hair_volume": (0.0, 1.0),
    "hair_length": (0.0, 1.0), "hair_fringe": (0.0, 1.0), "hair_part": (-1.0, 1.0),
    "hair_style": (0.0, 1.0),
    "eye_size": (0.85, 1.25), "eye_spacing": (0.36, 0.46), "iris_colour": (0.0, 1.0),
    "gaze": (-1.0, 1.0),
    "brow_tilt": (-1.0, 1.0), "brow_thickness": (0.0, 1.0), "brow_height": (0.0, 1.0),
    "mouth_width": (0.75, 1.25), "smile": (-0.5, 1.0), "lip_tone": (0.0, 1.0),
    "nose_size": (0.7, 1.3),
    "glasses": (0.0, 1.0), "glasses_shape": (0.0, 1.0), "glasses_tone": (0.0, 1.0),
    "bg_hue": (0.0, 1.0), "bg_saturation": (0.1, 0.65), "bg_value": (0.35, 0.95),
    "bg_angle": (0.0, 1.0), "bg_gradient": (0.0, 0.45),
    "shirt_hue": (0.0, 1.0), "shirt_saturation": (0.15, 0.85), "shirt_value": (0.25, 0.9),
    "offset_x": (-0.035, 0.035), "offset_y": (-0.03, 0.03), "scale": (0.9, 1.06),
    "light_angle": (0.0, 1.0), "light_strength": (0.0, 0.3),
}


@dataclass(frozen=True)
class FaceParams:
    """Continuous attributes of one face; each lies in ``PARAM_RANGES[name]``.

    Unitless unless stated: 0..1 values blend between extremes (jaw_roundness 0 = pointed
    chin, 1 = square; hair_tone 0 = black, 1 = platinum; iris_colour brown -> blue/grey;
    glasses is the opacity of the frames). Angles are fractions of a full turn, offsets are
    in frame units, scale multiplies the head size.
    """

    face_width: float
    face_height: float
    jaw_roundness: float
    skin_tone: float
    skin_warmth: float
    blush: float
    hair_tone: float
    hair_red: float
    hair_volume: float
    hair_length: float
    hair_fringe: float
    hair_part: float
    hair_style: float
    eye_size: float
    eye_spacing: float
    iris_colour: float
    gaze: float
    brow_tilt: float
    brow_thickness: float
    brow_height: float
    mouth_width: float
    smile: float
    lip_tone: float
    nose_size: float
    glasses: float
    glasses_shape: float
    glasses_tone: float
    bg_hue: float
    bg_saturation: float
    bg_value: float
    bg_angle: float
    bg_gradient: float
    shirt_hue: float
    shirt_saturation: float
    shirt_value: float
    offset_x: float
    offset_y: float
    scale: float
    light_angle: float
    light_strength: float


_NAMES = tuple(f.name for f in fields(FaceParams))


def _glasses_warp(u: np.ndarray) -> np.ndarray:
    # One monotone map keeps the attribute continuous: the lowest quarter of draws gets
    # visible frames (opacity 0.6..1), the rest faint traces (0..0.06).
    return np.where(u > 0.75, 0.6 + 0.4 * (u - 0.75) / 0.25, 0.06 * u / 0.75)


# Maps from a uniform draw in [0, 1) to the 0..1 position inside the range (default: identity).
_WARPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "hair_tone": lambda u: u ** 1.4,  # dark hair is commoner
    "hair_red": lambda u: u ** 2.5,
    "blush": lambda u: u ** 1.5,
    "glasses": _glasses_warp,
    "light_strength": np.sqrt,
}


def sample_params(rng: np.random.Generator, n: int) -> list[FaceParams]:
    """Draw `n` independent faces from `rng`; every value lies inside ``PARAM_RANGES``."""
    draws = rng.random((n, len(_NAMES)))
    columns = []
    for j, name in enumerate(_NAMES):
        lo, hi = PARAM_RANGES[name]
        pos = _WARPS.get(name, lambda u: u)(draws[:, j])
        columns.append(lo + (hi - lo) * np.clip(pos, 0.0, 1.0))
    values = np.stack(columns, axis=1).tolist()
    return [FaceParams(*row) for row in values]


class _Columns:
    """The parameters of a batch of faces as (n, 1) float64 columns, one attribute per field."""

    def __init__(self, params: Sequence[FaceParams]) -> None:
        get = operator.attrgetter(*_NAMES)
        table = np.array([get(p) for p in params], np.float64).reshape(len(params), len(_NAMES))
        self.n = len(params)
        self._cols = {name: table[:, j:j + 1] for j, name in enumerate(_NAMES)}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["_cols"][name]
        except KeyError:
            raise AttributeError(name) from None


def _lerp_palette(palette: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Colours (n, 3) at positions t (n, 1) in [0, 1] along a palette of anchor colours."""
    x = np.clip(t, 0.0, 1.0) * (len(palette) - 1)
    i = np.minimum(x.astype(np.int64), len(palette) - 2)
    return palette[i[:, 0]] + (x - i) * (palette[i[:, 0] + 1] - palette[i[:, 0]])


def _hsv(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """RGB (n, 3) in 0..255 from hue (turns), saturation and value columns (n, 1)."""
    hsv = np.concatenate([(h % 1.0) * 360.0, s, v], axis=1).astype(np.float32)
    return cv2.cvtColor(hsv[:, None, :], cv2.COLOR_HSV2RGB)[:, 0, :] * 255.0


def _colours(c: _Columns) -> dict[str, np.ndarray]:
    """Named RGB colours (n, 3), float 0..255, of every face in the batch."""
    skin = _lerp_palette(_SKIN, c.skin_tone) + c.skin_warmth * np.array([6.0, 0.0, -8.0])
    hair = _lerp_palette(_HAIR, c.hair_tone) + c.hair_red * np.array([55.0, 0.0, -25.0])
    lip = (skin * np.array([0.86, 0.58, 0.6]) * (1 - c.lip_tone)
           + np.array([190.0, 70.0, 80.0]) * (0.6 + 0.4 * (1 - c.skin_tone)) * c.lip_tone)
    return {
        "skin": skin, "shade": skin * 0.8, "dark": skin * 0.66, "hair": hair,
        "brow": hair * 0.55 + 12, "lip": lip, "iris": _lerp_palette(_IRIS, c.iris_colour),
        "blush": skin + c.blush * (np.array([236.0, 120.0, 120.0]) - skin) * 0.45,
        "frame": _lerp_palette(_FRAMES, c.glasses_tone),
        "shirt": _hsv(c.shirt_hue, c.shirt_saturation, c.shirt_value),
        "background": _hsv(c.bg_hue, c.bg_saturation, c.bg_value),
    }


@lru_cache(maxsize=32)
def _angles(count: int, start: float, stop: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(start, stop, count)
    return np.cos(t), np.sin(t)


def _oval(cx: np.ndarray, cy: np.ndarray, a: np.ndarray, b: np.ndarray,
          count: int = 20, start: float = 0.0, stop: float = 2 * np.pi,
          power: np.ndarray | float = 2.0) -> np.ndarray:
    """Points (n, count, 2) on |x/a|^power + |y/b|^power = 1, angles `start`..`stop`.

    Centres and half-axes are (n, 1) columns in frame units; y grows downwards.
    """
    c, s = _angles(count, start, stop)
    e = 2.0 / power
    x = cx + a * (np.sign(c) * np.abs(c) ** e)
    y = cy + b * (np.sign(s) * np.abs(s) ** e)
    return np.stack(np.broadcast_arrays(x, y), axis=-1)


def _strip(points: np.ndarray, half_width: np.ndarray) -> np.ndarray:
    """Outline (n, m, 2k, 2) of a band `half_width` (n, 1) wide around polylines (n, m, k, 2)."""
    d = np.gradient(points, axis=-2)
    normal = np.stack([-d[..., 1], d[..., 0]], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-12
    off = normal * half_width.reshape(-1, 1, 1, 1)
    return np.concatenate([points + off, (points - off)[..., ::-1, :]], axis=-2)


def _pair(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.stack([left, right], axis=1)


@dataclass(frozen=True)
class _Head:
    """Head placement of each face, (n, 1) columns in frame units."""

    cx: np.ndarray
    cy: np.ndarray
    fw: np.ndarray  # face half-width
    fh: np.ndarray  # face half-height
    s: np.ndarray  # overall scale

    @classmethod
    def of(cls, c: _Columns) -> "_Head":
        return cls(cx=0.5 + c.offset_x, cy=0.53 + c.offset_y, fw=0.26 * c.face_width * c.scale,
                   fh=0.325 * c.face_height * c.scale, s=c.scale)


@dataclass(frozen=True)
class _Layer:
    """One fillPoly call per face: even-odd filled contours in fixed-point pixels."""

    polys: np.ndarray  # int32 (n, m, k, 2): m contours of k points for each face
    colours: list  # n RGBA colours, 0..255 (alpha marks drawn pixels)
    mask: list | None  # n bools, draw only where True; None draws every face


class _Plan:
    """The layers that paint a batch of faces, in drawing order."""

    def __init__(self, n: int, px: int) -> None:
        self.n, self.px = n, px
        self.layers: list[_Layer] = []

    def add(self, shapes: np.ndarray, rgb: np.ndarray | Sequence[float],
            mask: np.ndarray | None = None) -> None:
        """Add filled `shapes` (n, [m,] k, 2) in frame units, colour `rgb` (n, 3) or (3,)."""
        if shapes.ndim == 3:
            shapes = shapes[:, None]
        polys = np.rint(shapes * (self.px << _SHIFT)).astype(np.int32)
        rgb = np.broadcast_to(np.clip(rgb, 0.0, 255.0), (self.n, 3))
        rgba = np.concatenate([rgb, np.full((self.n, 1), 255.0)], axis=1).tolist()
        self.layers.append(_Layer(polys, rgba, None if mask is None else mask.ravel().tolist()))

    def paint(self, canvas: np.ndarray, i: int, offset: tuple[int, int] = (0, 0)) -> None:
        """Draw face `i` onto uint8 RGBA `canvas`, shifted by `offset` whole pixels."""
        shift = (offset[0] << _SHIFT, offset[1] << _SHIFT)
        for layer in self.layers:
            if layer.mask is None or layer.mask[i]:
                cv2.fillPoly(canvas, layer.polys[i], layer.colours[i], _AA, _SHIFT, shift)


def _plan_body(p: _Plan, c: _Columns, h: _Head, col: dict[str, np.ndarray]) -> None:
    p.add(_oval(h.cx, h.cy + h.fh + 0.36 * h.s, 0.44 * h.s, 0.3 * h.s, 32), col["shirt"])
    # Hair behind the head; long hair falls onto the shoulders.
    top = h.cy - h.fh * (1.0 + 0.2 * c.hair_volume)
    bottom = h.cy + h.fh * (0.05 + 1.05 * c.hair_length)
    half_w = h.fw * (1.1 + 0.22 * c.hair_volume + 0.1 * c.hair_length)
    p.add(_oval(h.cx, 0.5 * (top + bottom), half_w, 0.5 * (bottom - top), 28,
                power=2.2 + 1.6 * c.hair_length), col["hair"])
    neck_w, neck_y = h.fw * 0.42, h.cy + h.fh + 0.1 * h.s
    shoulders = _oval(h.cx, neck_y, neck_w, 0.035 * h.s, 10, 0.0, np.pi)
    top_corners = np.stack(np.broadcast_arrays(np.c_[h.cx - neck_w, h.cx + neck_w],
                                               np.c_[h.cy, h.cy]), axis=-1)
    p.add(np.concatenate([top_corners, shoulders], axis=1), col["shade"])
    ears = [_oval(h.cx + side * h.fw * 0.97, h.cy - 0.02 * h.fh, 0.042 * h.s, 0.072 * h.s, 14)
            for side in (-1.0, 1.0)]
    p.add(_pair(*ears), col["skin"])


def _plan_face(p: _Plan, c: _Columns, h: _Head, col: dict[str, np.ndarray]) -> None:
    upper = _oval(h.cx, h.cy, h.fw, h.fh, 14, np.pi, 2 * np.pi, 2.2)
    # The jaw power shapes only the lower half: low = pointed chin, high = square jaw.
    lower = _oval(h.cx, h.cy, h.fw, h.fh, 18, 0.0, np.pi, 1.6 + 1.6 * c.jaw_roundness)
    p.add(np.concatenate([upper, lower], axis=1), col["skin"])
    cheeks = [_oval(h.cx + side * h.fw * 0.56, h.cy + h.fh * 0.28, h.fw * 0.2, h.fh * 0.11, 14)
              for side in (-1.0, 1.0)]
    p.add(_pair(*cheeks), col["blush"])


def _plan_hair(p: _Plan, c: _Columns, h: _Head, col: dict[str, np.ndarray]) -> None:
    cap = _oval(h.cx, h.cy - 0.12 * h.fh, h.fw * (1.08 + 0.16 * c.hair_volume),
                h.fh * (0.92 + 0.22 * c.hair_volume), 18, np.pi, 2 * np.pi, 2.4)
    u = np.linspace(1.0, -1.0, 15)  # hairline from the right temple to the left one
    base, temple = -0.8 + 0.42 * c.hair_fringe, -0.12
    y = base + (temple - base) * np.abs(u) ** 4
    y = y - c.hair_style * 0.32 * (1.0 - np.abs(u)) ** 2  # a parted "curtain" lifts the middle
    y = np.clip(y + c.hair_part * 0.16 * u, -0.98, temple)
    hairline = np.stack([h.cx + u * h.fw * 1.03, h.cy + y * h.fh], axis=-1)
    p.add(np.concatenate([cap, hairline], axis=1), col["hair"])


def _eyes(c: _Columns, h: _Head) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Left x, right x, y and horizontal radius of the eyes, (n, 1) frame units."""
    dx = h.fw * c.eye_spacing
    return h.cx - dx, h.cx + dx, h.cy - 0.08 * h.fh, 0.056 * c.eye_size * h.s


def _plan_eyes(p: _Plan, c: _Columns, h: _Head, col: dict[str, np.ndarray]) -> None:
    lx, rx, ey, r = _eyes(c, h)
    ry = 0.66 * r
    ir = 0.95 * ry
    p.add(_pair(_oval(lx, ey, r, ry), _oval(rx, ey, r, ry)), (250.0, 250.0, 246.0))
    ilx, irx = (x + c.gaze * (r - ir) * 0.6 for x in (lx, rx))
    for k, colour in ((1.0, col["iris"]), (0.5, (18.0, 14.0, 14.0))):
        p.add(_pair(_oval(ilx, ey, k * ir, k * ir, 14), _oval(irx, ey, k * ir, k * ir, 14)),
              colour)
    glint = [_oval(x - 0.35 * ir, ey - 0.35 * ir, 0.22 * ir, 0.22 * ir, 8) for x in (ilx, irx)]
    p.add(_pair(*glint), (255.0, 255.0, 255.0))
    # Upper lids: a crescent thickest at the top, tapering to the eye corners.
    lids = [np.concatenate([_oval(x, ey, 1.08 * r, 1.4 * ry, 12, np.pi, 2 * np.pi),
                            _oval(x, ey, 0.98 * r, 0.98 * ry, 12, 2 * np.pi, np.pi)], axis=1)
            for x in (lx, rx)]
    p.add(_pair(*lids), (34.0, 24.0, 24.0))
    brow_y = ey - ry - (0.04 + 0.025 * c.brow_height) * h.s
    brows = [np.stack([np.c_[x - side * 0.9 * r, x, x + side * 1.15 * r],
                       np.c_[brow_y + 0.022 * c.brow_tilt * h.s, brow_y - 0.012 * h.s,
                             brow_y + (0.004 - 0.012 * c.brow_tilt) * h.s]], axis=-1)
             for side, x in ((-1.0, lx), (1.0, rx))]
    p.add(_strip(_pair(*brows), (0.006 + 0.008 * c.brow_thickness) * h.s), col["brow"])


def _plan_nose_mouth(p: _Plan, c: _Columns, h: _Head, col: dict[str, np.ndarray]) -> None:
    ny, size = h.cy + 0.24 * h.fh, c.nose_size * h.s
    p.add(_oval(h.cx, ny, 0.03 * size, 0.024 * size, 16), col["shade"])
    tip = np.concatenate([_oval(h.cx, ny, 0.033 * size, 0.03 * size, 10, 0.35, np.pi - 0.35),
                          _oval(h.cx, ny, 0.03 * size, 0.019 * size, 10, np.pi - 0.35, 0.35)],
                         axis=1)
    p.add(tip, col["dark"])
    u = np.linspace(-1.0, 1.0, 13)
    xs = h.cx + u * h.fw * 0.36 * c.mouth_width
    upper = h.cy + 0.56 * h.fh - 0.045 * h.s * c.smile * (u ** 2 - 0.3)
    # Broad smiles open the mouth and show teeth; the opening grows smoothly from zero.
    gap = np.clip((c.smile - 0.35) / 0.65, 0.0, 1.0) * 0.05 * h.s * (1.0 - u ** 2)
    is_open = gap.max(axis=1) > 0.002
    for depth, colour in ((1.0, (96.0, 28.0, 34.0)), (0.4, (246.0, 244.0, 236.0))):
        outline = np.concatenate([np.stack([xs, upper], -1),
                                  np.stack([xs, upper + depth * gap], -1)[:, ::-1]], axis=1)
        p.add(outline, colour, is_open)
    lip = np.stack([xs, upper], axis=-1)[:, None]
    p.add(_strip(lip, 0.011 * h.s), col["lip"])


_MIN_GLASSES = 0.01  # below this opacity the frames change no pixel visibly


def _plan_glasses(c: _Columns, h: _Head, col: dict[str, np.ndarray],
                  px: int) -> tuple[_Plan, np.ndarray]:
    """The frames as their own plan, and each face's pixel box (n, 4) x0, y0, x1, y1."""
    lx, rx, ey, r = _eyes(c, h)
    a, b, w = 1.6 * r, 1.3 * r, 0.0065 * h.s
    power = 2.0 + 2.5 * c.glasses_shape  # round to squarish lenses
    rims = [_oval(x, ey, a + k * w, b + k * w, 24, power=power)
            for x in (lx, rx) for k in (1.0, -1.0)]
    plan = _Plan(c.n, px)
    plan.add(np.stack(rims, axis=1), col["frame"])
    ear = h.fw * 0.98
    bars = [np.stack([np.c_[lx - a, 0.5 * (lx - a + h.cx - ear), h.cx - ear],
                      np.c_[ey - 0.3 * b, ey - 0.26 * b, ey - 0.2 * b]], axis=-1),
            np.stack([np.c_[rx + a, 0.5 * (rx + a + h.cx + ear), h.cx + ear],
                      np.c_[ey - 0.3 * b, ey - 0.26 * b, ey - 0.2 * b]], axis=-1),
            np.stack([np.c_[lx + a, h.cx, rx - a],
                      np.c_[ey - 0.25 * b, ey - 0.4 * b, ey - 0.25 * b]], axis=-1)]
    plan.add(_strip(np.stack(bars, axis=1), w), col["frame"])
    box = np.c_[np.minimum(lx - a, h.cx - ear), ey - b, np.maximum(rx + a, h.cx + ear), ey + b]
    box = box + np.array([-2.0, -2.0, 2.0, 2.0]) * w
    box = np.clip(np.rint(box * px) + np.array([-2, -2, 2, 2]), 0, px).astype(np.int64)
    return plan, box


def _overlay(canvas: np.ndarray, plan: _Plan, i: int, alpha: float, box: np.ndarray) -> None:
    # Blend only the box around the frames: copying the whole canvas costs more than drawing.
    x0, y0, x1, y1 = (int(v) for v in box)
    under = canvas[y0:y1, x0:x1]
    over = under.copy()
    plan.paint(over, i, (-x0, -y0))
    cv2.addWeighted(over, alpha, under, 1.0 - alpha, 0.0, dst=under)


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1], as (1, 1, size) x and (1, size, 1) y."""
    t = ((np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0)
    return t[None, None, :], t[None, :, None]


def _ramp(turns: np.ndarray, size: int) -> np.ndarray:
    """Linear ramps (n, s, s) float32 in about [-1.4, 1.4] along directions `turns` (n, 1)."""
    gx, gy = _grid(size)
    angle = (2 * np.pi * turns[:, :, None]).astype(np.float32)
    return np.cos(angle) * gx + np.sin(angle) * gy


def _composite(small: np.ndarray, c: _Columns, background: np.ndarray) -> np.ndarray:
    """Lay premultiplied RGBA faces (n, s, s, 4) over gradient backgrounds and light them."""
    size = small.shape[1]
    shade = 1.0 + 0.5 * c.bg_gradient[:, :, None].astype(np.float32) * _ramp(c.bg_angle, size)
    gain = 1.0 + 0.5 * c.light_strength[:, :, None].astype(np.float32) * _ramp(
        c.light_angle, size)
    # out = (face + (1 - cover) * bg * shade) * gain, with the per-pixel factors kept
    # single-channel until the last step because full-colour passes dominate the cost.
    behind = (255.0 - small[..., 3]) * np.float32(1 / 255) * shade * gain
    image = small[..., :3] * gain[..., None]
    image += behind[..., None] * background.astype(np.float32)[:, None, None, :]
    image += 0.5
    np.clip(image, 0.0, 255.0, out=image)
    return image.astype(np.uint8)


def _downsample(canvas: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter uint8 (rows, px, 4) down by `factor`; halving steps use OpenCV's fast path."""
    while factor > 1:
        step = 2 if factor % 2 == 0 else factor
        rows, cols = canvas.shape[:2]
        canvas = cv2.resize(canvas, (cols // step, rows // step), interpolation=cv2.INTER_AREA)
        factor //= step
    return canvas


_PLANNERS = (_plan_body, _plan_face, _plan_hair, _plan_eyes, _plan_nose_mouth)


def _render_batch(params: Sequence[FaceParams], size: int,
                  canvas: np.ndarray | None = None) -> np.ndarray:
    """Faces uint8 (n, size, size, 3); `canvas` is optional scratch (>= n, px, px, 4) uint8."""
    c = _Columns(params)
    head, colours, px = _Head.of(c), _colours(c), size * SUPERSAMPLE
    plan = _Plan(c.n, px)
    for planner in _PLANNERS:
        planner(plan, c, head, colours)
    glasses, boxes = _plan_glasses(c, head, colours, px)
    opacity = c.glasses[:, 0].tolist()
    if canvas is None or canvas.shape[0] < c.n or canvas.shape[1] != px:
        canvas = np.empty((c.n, px, px, 4), np.uint8)
    canvas = canvas[:c.n]
    canvas.fill(0)  # transparent: the background is laid in after downsampling
    for i in range(c.n):
        plan.paint(canvas[i], i)
        if opacity[i] >= _MIN_GLASSES:
            _overlay(canvas[i], glasses, i, opacity[i], boxes[i])
    # Faces stacked as one tall picture: px is a multiple of the factor, so no output pixel
    # mixes two faces, and one call per halving serves the whole batch.
    small = _downsample(canvas.reshape(c.n * px, px, 4), SUPERSAMPLE)
    return _composite(small.reshape(c.n, size, size, 4), c, colours["background"])


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be a whole number of pixels, at least 8; got {size!r}")


def render_face(params: FaceParams, size: int = 32) -> np.ndarray:
    """Draw one face; returns uint8 (size, size, 3) RGB. `size` is in pixels, at least 8."""
    _check_size(size)
    return _render_batch([params], size)[0]


_CHUNK = 64  # faces drawn per batch: small enough to stay in cache; results do not depend on it


def render_faces(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Render `n` faces drawn from `seed`; uint8 (n, size, size, 3) RGB.

    The same (n, size, seed) always gives identical bytes, and the first k faces of a
    larger n are the faces that n = k gives.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a whole number of faces, zero or more; got {n!r}")
    _check_size(size)
    params = sample_params(np.random.default_rng(seed), n)
    out = np.empty((n, size, size, 3), np.uint8)
    canvas = np.empty((min(n, _CHUNK), size * SUPERSAMPLE, size * SUPERSAMPLE, 4), np.uint8)
    for start in range(0, n, _CHUNK):
        out[start:start + _CHUNK] = _render_batch(params[start:start + _CHUNK], size, canvas)
    return out


def render_dataset(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """A training set of `n` faces, uint8 (n, size, size, 3) RGB; same as `render_faces`."""
    return render_faces(n, size, seed)


def contact_sheet(images: np.ndarray, columns: int = 8, zoom: int = 4,
                  gutter: int = 2) -> np.ndarray:
    """Tile uint8 (n, h, w, 3) images, each enlarged `zoom` times, with `gutter` px gaps."""
    n, hgt, wid = images.shape[:3]
    rows = max(1, -(-n // columns))
    ch, cw = hgt * zoom, wid * zoom
    sheet = np.full((rows * (ch + gutter) + gutter, columns * (cw + gutter) + gutter, 3),
                    255, np.uint8)
    for i, img in enumerate(images):
        r, k = divmod(i, columns)
        y, x = gutter + r * (ch + gutter), gutter + k * (cw + gutter)
        sheet[y:y + ch, x:x + cw] = cv2.resize(img, (cw, ch), interpolation=cv2.INTER_NEAREST)
    return sheet


def write_png(path: str, image: np.ndarray) -> None:
    """Write uint8 HxWx3 RGB `image` to `path` as PNG."""
    if not cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}; check that the folder exists and is writable")


def _bench(size: int, n: int) -> None:
    cv2.setNumThreads(1)  # the figure is for one core
    render_faces(_CHUNK, size, 1)  # warm caches
    wall, cpu = time.perf_counter(), time.process_time()
    render_faces(n, size, 0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # CPU time is the fair figure on a shared machine; wall time shows what this run got.
    print(f"{n} faces at {size} px: {n / cpu:.0f} images per CPU-second, "
          f"{n / wall:.0f} images/s wall-clock (one thread)")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--sheet OUT.png`` writes a contact sheet, ``--bench`` times rendering."""
    parser = argparse.ArgumentParser(prog="python -m lfp_desktop.demo.faces",
                                     description="Render the demo's cartoon faces.")
    parser.add_argument("--sheet", help="write a contact sheet PNG (8 columns, 4x) here")
    parser.add_argument("--bench", action="store_true", help="print the rendering speed")
    parser.add_argument("--size", type=int, default=32, help="picture size in pixels")
    parser.add_argument("--n", type=int, default=64, help="number of faces")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    if args.bench:
        _bench(args.size, max(args.n, 2000))
    if args.sheet:
        write_png(args.sheet, contact_sheet(render_faces(args.n, args.size, args.seed)))
    if not (args.bench or args.sheet):
        parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
