"""Procedural pictures that are not faces: stand-ins for images no generator made.

Simple landscapes (sky, sun, hills), scattered geometric shapes, smooth noise textures and
stripe patterns. They are the demo's "innocent" evidence, which attribution must never pin
on a registered user. Run ``python -m lfp_desktop.demo.pictures --sheet OUT.png`` to look.
"""

from __future__ import annotations

import argparse
import colorsys
from typing import Callable, Sequence

import cv2
import numpy as np

from lfp_desktop.demo.faces import SUPERSAMPLE, contact_sheet, write_png

KINDS = ("landscape", "shapes", "noise", "stripes")
_SHIFT = 4  # fixed-point fraction bits for sub-pixel drawing
_AA = cv2.LINE_AA


def _colour(rng: np.random.Generator, sat: tuple[float, float] = (0.2, 0.9),
            val: tuple[float, float] = (0.3, 1.0), hue: tuple[float, float] = (0.0, 1.0)
            ) -> np.ndarray:
    """A random RGB colour, float (3,) in 0..255, from ranges of hue, saturation, value."""
    h, s, v = rng.uniform(*hue), rng.uniform(*sat), rng.uniform(*val)
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v)) * 255.0


def _fixed(points: np.ndarray, px: int) -> np.ndarray:
    return np.rint(np.asarray(points) * (px << _SHIFT)).astype(np.int32)


def _vertical_gradient(top: np.ndarray, bottom: np.ndarray, px: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, px)[:, None, None]
    column = top + t * (bottom - top)
    return np.ascontiguousarray(np.broadcast_to(column, (px, px, 3)).astype(np.uint8))


def _ridge(rng: np.random.Generator, base: float, roughness: float) -> np.ndarray:
    """A skyline polygon (k, 2) in frame units: a sum of random waves, closed at the bottom."""
    x = np.linspace(-0.02, 1.02, 40)
    y = np.full_like(x, base)
    for k in range(1, 4):
        y += roughness / k * np.sin(2 * np.pi * (rng.uniform(0.5, 2.0) * k * x + rng.random()))
    return np.concatenate([np.stack([x, y], 1), [[1.02, 1.02], [-0.02, 1.02]]])


def _landscape(rng: np.random.Generator, size: int) -> np.ndarray:
    px = size * SUPERSAMPLE
    horizon = _colour(rng, (0.0, 0.4), (0.7, 1.0), (0.0, 0.2))
    image = _vertical_gradient(_colour(rng, (0.3, 0.9), (0.4, 1.0), (0.5, 0.7)), horizon, px)
    centre = _fixed([rng.uniform(0.15, 0.85), rng.uniform(0.08, 0.4)], px)
    radius = int(rng.uniform(0.04, 0.12) * (px << _SHIFT))
    cv2.circle(image, tuple(int(v) for v in centre), radius,
               tuple(_colour(rng, (0.0, 0.8), (0.85, 1.0), (0.05, 0.17))), -1, _AA, _SHIFT)
    layers = int(rng.integers(1, 4))
    for k in range(layers):  # far ranges are higher, hazier and rougher
        base = rng.uniform(0.45, 0.6) + 0.35 * k / layers
        colour = _colour(rng, (0.2, 0.7), (0.25, 0.8), (0.15, 0.45) if k else (0.5, 0.75))
        cv2.fillPoly(image, [_fixed(_ridge(rng, base, 0.12 / (k + 1)), px)], tuple(colour),
                     _AA, _SHIFT)
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _shapes(rng: np.random.Generator, size: int) -> np.ndarray:
    px = size * SUPERSAMPLE
    image = _vertical_gradient(_colour(rng), _colour(rng), px)
    for _ in range(int(rng.integers(3, 11))):
        colour = tuple(_colour(rng))
        centre = rng.uniform(0.0, 1.0, 2)
        extent = rng.uniform(0.05, 0.3)
        shape = rng.integers(3)
        if shape == 0:  # disc or ring
            thickness = -1 if rng.random() < 0.6 else max(1, int(extent * px * 0.3))
            cv2.circle(image, tuple(int(v) for v in _fixed(centre, px)),
                       int(extent * (px << _SHIFT)), colour, thickness, _AA, _SHIFT)
        else:  # rotated rectangle or triangle
            corners = 4 if shape == 1 else 3
            angles = rng.uniform(0, 2 * np.pi) + np.linspace(0, 2 * np.pi, corners,
                                                               endpoint=False)
            radii = extent * rng.uniform(0.6, 1.4, corners)
            points = centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
            cv2.fillPoly(image, [_fixed(points, px)], colour, _AA, _SHIFT)
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _colour_map(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Map values t (s, s) in [0, 1] through a random 2- or 3-colour ramp; uint8 (s, s, 3)."""
    anchors = np.stack([_colour(rng) for _ in range(int(rng.integers(2, 4)))])
    pos = np.linspace(0.0, 1.0, len(anchors))
    rgb = np.stack([np.interp(t, pos, anchors[:, ch]) for ch in range(3)], axis=-1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _noise(rng: np.random.Generator, size: int) -> np.ndarray:
    # Value noise: random grids of growing resolution, smoothly enlarged and summed.
    falloff = rng.uniform(0.4, 0.9)
    total = np.zeros((size, size), np.float32)
    for octave in range(int(rng.integers(2, 6))):
        cells = 2 ** (octave + 1) + 1
        grid = rng.random((cells, cells)).astype(np.float32)
        total += falloff ** octave * cv2.resize(grid, (size, size),
                                                interpolation=cv2.INTER_CUBIC)
    total -= total.min()
    return _colour_map(total / max(float(total.max()), 1e-6), rng)


def _stripes(rng: np.random.Generator, size: int) -> np.ndarray:
    t = (np.arange(size, dtype=np.float32) + 0.5) / size
    x, y = t[None, :], t[:, None]
    angle = rng.uniform(0, np.pi)
    cycles = rng.uniform(1.5, 7.0)
    wave = np.sin(2 * np.pi * (cycles * (x * np.cos(angle) + y * np.sin(angle)) + rng.random()))
    if rng.random() < 0.3:  # checks: the product of two crossed waves
        wave = wave * np.sin(2 * np.pi * (cycles * (x * np.sin(angle) - y * np.cos(angle))))
    # A steep clipped sine gives hard stripes with anti-aliased edges; a gentle one, soft bands.
    sharpness = rng.choice([1.0, size / (2.0 * cycles)])
    return _colour_map(0.5 + 0.5 * np.clip(wave * sharpness, -1.0, 1.0), rng)


_RENDERERS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "landscape": _landscape, "shapes": _shapes, "noise": _noise, "stripes": _stripes,
}


def render_pictures(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Render `n` non-face pictures from `seed`; uint8 (n, size, size, 3) RGB.

    Kinds are drawn evenly from ``KINDS``. Each picture has its own child seed, so the same
    (size, seed) gives identical bytes and the first k pictures do not depend on n.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a whole number of pictures, zero or more; got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be a whole number of pixels, at least 8; got {size!r}")
    out = np.empty((n, size, size, 3), np.uint8)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        rng = np.random.default_rng(child)
        out[i] = _RENDERERS[KINDS[int(rng.integers(len(KINDS)))]](rng, size)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--sheet OUT.png`` writes a contact sheet of pictures."""
    parser = argparse.ArgumentParser(prog="python -m lfp_desktop.demo.pictures",
                                     description="Render the demo's non-face pictures.")
    parser.add_argument("--sheet", required=True, help="write a contact sheet PNG here")
    parser.add_argument("--size", type=int, default=32, help="picture size in pixels")
    parser.add_argument("--n", type=int, default=64, help="number of pictures")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    write_png(args.sheet, contact_sheet(render_pictures(args.n, args.size, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
