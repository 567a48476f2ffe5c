"""Draw the LFP Desktop application icon: SVG sources and PNG renders.

The icon is a fingerprint whorl seen through a magnifier on a rounded blue-to-teal tile.
The geometry lives here, on a 512-unit canvas; four levels of detail keep the small
renders legible (a 16 px icon cannot show seven ridges). The PNGs are rasterised from the
SVG text with Qt's SVG renderer, so every size matches the scalable icon.

Run from the repository root:  python packaging/make_icons.py
Writes resources/icons/lfp-desktop.svg (the scalable icon), lfp-desktop-{16,32,48}.svg (the
simplified drawings used at those sizes), lfp-desktop-<N>.png for N in SIZES, and
lfp-desktop.ico (Windows).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256, 512)
CANVAS = 512

# Palette: calm blues and teals, light lens.
TILE_TOP = "#24608f"
TILE_BOTTOM = "#15807d"
LENS_FILL = "#eef7f6"
METAL = "#f6fbfb"
RIDGE = "#1d5f86"
RIDGE_ACCENT = "#16a39a"

LENS_CENTRE = (214.0, 214.0)
LENS_RADIUS = 148.0


@dataclass(frozen=True)
class Detail:
    """Stroke sizes (canvas units) for one level of detail."""

    ridges: int
    spacing: float
    ridge_width: float
    ring_width: float
    handle_width: float
    accent_ridge: int  # 1-based ridge drawn in the accent colour; 0 for none


LARGE = Detail(ridges=7, spacing=17.0, ridge_width=9.0, ring_width=26.0, handle_width=54.0, accent_ridge=4)
MEDIUM = Detail(ridges=4, spacing=27.0, ridge_width=15.0, ring_width=36.0, handle_width=66.0, accent_ridge=2)
SMALL = Detail(ridges=2, spacing=48.0, ridge_width=24.0, ring_width=44.0, handle_width=80.0, accent_ridge=0)
TINY = Detail(ridges=1, spacing=64.0, ridge_width=40.0, ring_width=56.0, handle_width=96.0, accent_ridge=0)


def detail_for(size: int) -> Detail:
    """The level of detail drawn for a ``size`` px render."""
    if size <= 16:
        return TINY
    if size <= 32:
        return SMALL
    if size <= 48:
        return MEDIUM
    return LARGE


def _arc_path(cx: float, cy: float, rx: float, ry: float, start_deg: float, sweep_deg: float) -> str:
    """SVG path of an elliptical arc; angles in degrees, clockwise on screen (y down)."""
    t0, t1 = math.radians(start_deg), math.radians(start_deg + sweep_deg)
    x0, y0 = cx + rx * math.cos(t0), cy + ry * math.sin(t0)
    x1, y1 = cx + rx * math.cos(t1), cy + ry * math.sin(t1)
    large = 1 if sweep_deg > 180 else 0
    return f"M {x0:.2f} {y0:.2f} A {rx:.2f} {ry:.2f} 0 {large} 1 {x1:.2f} {y1:.2f}"


def _ridges(d: Detail) -> list[str]:
    """One open elliptical ridge per level, each broken by a gap that turns round the whorl."""
    cx, cy = LENS_CENTRE[0], LENS_CENTRE[1] + 4.0
    out = []
    for k in range(1, d.ridges + 1):
        ry = k * d.spacing + d.spacing * 0.35
        rx = ry * 0.84  # fingerprints are taller than wide
        gap = 70.0 if k == 1 else max(26.0, 58.0 - 4.0 * k)
        start = 215.0 + 61.0 * k  # the gaps spiral, which reads as a whorl rather than a target
        colour = RIDGE_ACCENT if k == d.accent_ridge else RIDGE
        out.append(f'<path d="{_arc_path(cx, cy, rx, ry, start + gap, 360.0 - gap)}" '
                   f'stroke="{colour}"/>')
    return out


def icon_svg(d: Detail) -> str:
    """The icon at one level of detail, as SVG text (512 x 512 user units)."""
    lx, ly = LENS_CENTRE
    # The handle leaves the ring at 45 degrees, towards the bottom-right corner.
    u = math.sqrt(0.5)
    hx0, hy0 = lx + u * (LENS_RADIUS + d.ring_width * 0.4), ly + u * (LENS_RADIUS + d.ring_width * 0.4)
    hx1, hy1 = 404.0, 404.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CANVAS}" height="{CANVAS}" '
        f'viewBox="0 0 {CANVAS} {CANVAS}" version="1.1">',
        "<title>LFP Desktop</title>",
        '<defs><linearGradient id="tile" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{TILE_TOP}"/><stop offset="1" stop-color="{TILE_BOTTOM}"/>'
        "</linearGradient></defs>",
        '<rect x="24" y="24" width="464" height="464" rx="104" ry="104" fill="url(#tile)"/>',
        f'<line x1="{hx0:.2f}" y1="{hy0:.2f}" x2="{hx1:.2f}" y2="{hy1:.2f}" stroke="{METAL}" '
        f'stroke-width="{d.handle_width:.1f}" stroke-linecap="round"/>',
        f'<circle cx="{lx}" cy="{ly}" r="{LENS_RADIUS}" fill="{LENS_FILL}" stroke="{METAL}" '
        f'stroke-width="{d.ring_width:.1f}"/>',
        f'<g fill="none" stroke-width="{d.ridge_width:.1f}" stroke-linecap="round">',
        *_ridges(d),
        "</g>",
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def render_png(svg_text: str, size: int, out: Path) -> None:
    """Rasterise SVG text to a ``size`` x ``size`` RGBA PNG (Qt's SVG renderer)."""
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg_text.encode("utf-8")))
    if not renderer.isValid():
        raise RuntimeError("the generated SVG could not be parsed by Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise RuntimeError(f"could not write {out}")


def write_ico(pngs: dict[int, Path], out: Path) -> None:
    """A Windows .ico holding the renders up to 256 px."""
    from PIL import Image

    sizes = [s for s in sorted(pngs) if s <= 256]
    largest = Image.open(pngs[max(sizes)]).convert("RGBA")
    largest.save(out, format="ICO", sizes=[(s, s) for s in sizes],
                 append_images=[Image.open(pngs[s]).convert("RGBA") for s in sizes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "resources" / "icons")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs one
    args.out.mkdir(parents=True, exist_ok=True)
    sources = {LARGE: "lfp-desktop.svg", MEDIUM: "lfp-desktop-48.svg", SMALL: "lfp-desktop-32.svg",
               TINY: "lfp-desktop-16.svg"}
    for detail, name in sources.items():
        (args.out / name).write_text(icon_svg(detail), encoding="utf-8")
    pngs = {}
    for size in SIZES:
        pngs[size] = args.out / f"lfp-desktop-{size}.png"
        render_png(icon_svg(detail_for(size)), size, pngs[size])
    write_ico(pngs, args.out / "lfp-desktop.ico")
    print(f"wrote {len(sources)} SVG, {len(pngs)} PNG and 1 ICO file(s) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
