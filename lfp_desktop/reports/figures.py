"""Vector figures and images for reports: bit grid, loss curves, image strip."""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image as PILImage
from reportlab.graphics.shapes import Circle, Drawing, Group, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.platypus import Image, Paragraph, Table

from lfp_desktop.reports.layout import FONT, FONT_BOLD, INK, MUTED, RULE, set_style, styles
from lfp_desktop.reports.model import ResultInfo

AGREE = colors.HexColor("#2e7d32")
DISAGREE = colors.HexColor("#c62828")
NEUTRAL = colors.HexColor("#1f5fa8")
WINNER = colors.HexColor("#1f4e79")
OTHER_START = colors.HexColor("#aab4c0")
BITS_PER_ROW = 32
MAX_CURVE_POINTS = 400
MAX_IMAGE_PX = 512  # 512 px across ~60 mm is over 200 dpi


def _drawing(width: float, height: float) -> Drawing:
    # Drawings start in Helvetica unless told; that font would be referenced but not embedded.
    return Drawing(width, height, initialFontName=FONT)


def shade(base: colors.Color, confidence: float) -> colors.Color:
    """``base`` mixed with white: confidence 0 (coin toss) is pale, 0.5 (certain) is full."""
    t = 0.18 + 0.82 * min(max(confidence / 0.5, 0.0), 1.0)
    return colors.Color(1 - t * (1 - base.red), 1 - t * (1 - base.green),
                        1 - t * (1 - base.blue))


def bit_grid(r: ResultInfo, width: float) -> Drawing:
    """Decoded key over registered key, one column per bit, ``BITS_PER_ROW`` bits a row.

    Fill colour: green where the decoded bit agrees with the matched key, red where not (blue
    when there is no key to compare); strength of the colour: per-bit confidence. The bar
    under each bit is the share of starts that decoded the same bit as the winner.
    """
    k = r.key_length
    per_row = min(k, BITS_PER_ROW)
    label_w, cell_h, bar_h = 52.0, 13.0, 9.0
    cell_w = (width - label_w) / per_row
    block_h = 9 + 2 * cell_h + bar_h + 14
    rows = math.ceil(k / per_row)
    d = _drawing(width, rows * block_h)
    for row in range(rows):
        top = d.height - row * block_h
        _grid_labels(d, top, cell_h, r.matched_key_bits is not None)
        for j in range(row * per_row, min(k, (row + 1) * per_row)):
            x = label_w + (j - row * per_row) * cell_w
            _bit_column(d, r, j, x, top, cell_w, cell_h, bar_h)
    return d


def _grid_labels(d: Drawing, top: float, cell_h: float, registered: bool) -> None:
    y_dec = top - 9 - cell_h
    d.add(String(0, y_dec + 4, "Decoded", fontName=FONT_BOLD, fontSize=6.8, fillColor=INK))
    d.add(String(0, y_dec - cell_h + 4, "Registered" if registered else "(no key)",
                 fontName=FONT, fontSize=6.8, fillColor=MUTED))
    d.add(String(0, y_dec - cell_h - 8, "Starts agree", fontName=FONT, fontSize=6.2,
                 fillColor=MUTED))


def _bit_column(d: Drawing, r: ResultInfo, j: int, x: float, top: float, w: float,
                h: float, bar_h: float) -> None:
    decoded = int(r.decoded_bits[j])
    matched = None if r.matched_key_bits is None else int(r.matched_key_bits[j])
    base = NEUTRAL if matched is None else (AGREE if matched == decoded else DISAGREE)
    fill = shade(base, float(r.bit_confidence[j]))
    if j % 8 == 0:
        d.add(String(x + 1, top - 7, str(j), fontName=FONT, fontSize=5.6, fillColor=MUTED))
    y_dec = top - 9 - h
    d.add(Rect(x + 0.6, y_dec, w - 1.2, h - 1, fillColor=fill, strokeColor=None))
    dark = (fill.red + fill.green + fill.blue) / 3 < 0.62
    d.add(String(x + w / 2, y_dec + 3.3, str(decoded), fontName=FONT_BOLD, fontSize=7,
                 fillColor=colors.white if dark else INK, textAnchor="middle"))
    y_reg = y_dec - h
    if matched is not None:
        mismatch = matched != decoded
        d.add(Rect(x + 0.6, y_reg, w - 1.2, h - 1, fillColor=colors.white,
                   strokeColor=DISAGREE if mismatch else RULE, strokeWidth=1 if mismatch else 0.4))
        d.add(String(x + w / 2, y_reg + 3.3, str(matched), fontName=FONT, fontSize=7,
                     fillColor=DISAGREE if mismatch else MUTED, textAnchor="middle"))
    agree = float(r.start_agreement[j])
    y_bar = y_reg - bar_h - 1
    d.add(Rect(x + 1.2, y_bar, w - 2.4, bar_h, fillColor=colors.HexColor("#eef1f5"),
               strokeColor=None))
    d.add(Rect(x + 1.2, y_bar, w - 2.4, bar_h * agree, fillColor=MUTED, strokeColor=None))


def bit_legend(width: float) -> Drawing:
    """Swatches explaining the bit grid's colours."""
    d = _drawing(width, 14)
    items = [(shade(AGREE, 0.5), "agrees, confident"), (shade(AGREE, 0.08), "agrees, uncertain"),
             (shade(DISAGREE, 0.5), "differs, confident"),
             (shade(DISAGREE, 0.08), "differs, uncertain"),
             (shade(NEUTRAL, 0.5), "no key to compare")]
    x = 0.0
    for fill, text in items:
        d.add(Rect(x, 3, 10, 8, fillColor=fill, strokeColor=None))
        d.add(String(x + 13, 4.2, text, fontName=FONT, fontSize=6.8, fillColor=MUTED))
        x += 16 + len(text) * 3.5
    return d


def loss_plot(curves: np.ndarray, winner: int, width: float, height: float = 170) -> Drawing:
    """Loss per step of every start (faint) and of the winning start (bold), log-scaled y.

    ``curves``: float (steps, starts); NaN marks steps after a start stopped early.
    """
    d = _drawing(width, height)
    left, right, bottom, top = 44.0, 8.0, 26.0, 8.0
    pw, ph = width - left - right, height - bottom - top
    steps = curves.shape[0]
    finite = curves[np.isfinite(curves) & (curves > 0)]
    if steps < 2 or finite.size == 0:
        d.add(String(width / 2, height / 2, "No loss curve was recorded for this run.",
                     fontName=FONT, fontSize=8, fillColor=MUTED, textAnchor="middle"))
        return d
    lo, hi = math.floor(math.log10(finite.min())), math.ceil(math.log10(finite.max()))
    hi = max(hi, lo + 1)

    def xy(step: float, value: float) -> tuple[float, float]:
        y = (math.log10(max(value, 10.0 ** lo)) - lo) / (hi - lo)
        return left + pw * step / (steps - 1), bottom + ph * y

    _axes(d, left, bottom, pw, ph, lo, hi, steps)
    idx = np.unique(np.linspace(0, steps - 1, min(steps, MAX_CURVE_POINTS)).round().astype(int))
    order = [s for s in range(curves.shape[1]) if s != winner] + [winner]
    for s in order:
        is_winner = s == winner
        _curve(d, curves[:, s], idx, xy, WINNER if is_winner else OTHER_START,
               1.7 if is_winner else 0.55)
    return d


def _axes(d: Drawing, left: float, bottom: float, pw: float, ph: float, lo: int, hi: int,
          steps: int) -> None:
    d.add(Rect(left, bottom, pw, ph, fillColor=colors.HexColor("#fbfcfd"), strokeColor=RULE,
               strokeWidth=0.5))
    if hi - lo <= 3:  # few decades: log-paper minor lines keep the scale readable
        for e in range(lo, hi):
            for m in range(2, 10):
                y = bottom + ph * (e + math.log10(m) - lo) / (hi - lo)
                d.add(Line(left, y, left + pw, y, strokeColor=colors.HexColor("#e4e8ed"),
                           strokeWidth=0.25))
    for e in range(lo, hi + 1):
        y = bottom + ph * (e - lo) / (hi - lo)
        if lo < e < hi:
            d.add(Line(left, y, left + pw, y, strokeColor=RULE, strokeWidth=0.3))
        d.add(String(left - 12, y - 2.5, "10", fontName=FONT, fontSize=6.8, fillColor=MUTED,
                     textAnchor="end"))
        d.add(String(left - 11.4, y + 1.2, str(e).replace("-", "\u2212"), fontName=FONT,
                     fontSize=5, fillColor=MUTED))
    for t in _step_ticks(steps):
        x = left + pw * t / (steps - 1)
        d.add(Line(x, bottom, x, bottom - 2.5, strokeColor=MUTED, strokeWidth=0.5))
        d.add(String(x, bottom - 10, f"{t:,}", fontName=FONT, fontSize=6.8, fillColor=MUTED,
                     textAnchor="middle"))
    d.add(String(left + pw / 2, 2, "optimisation step", fontName=FONT, fontSize=7.2,
                 fillColor=INK, textAnchor="middle"))
    label = String(0, 0, "loss (log scale)", fontName=FONT, fontSize=7.2, fillColor=INK,
                   textAnchor="middle")
    g = Group(label)
    g.transform = (0, 1, -1, 0, 8, bottom + ph / 2)  # rotate 90 degrees
    d.add(g)


def _step_ticks(steps: int) -> list[int]:
    raw = (steps - 1) / 5
    mag = 10 ** math.floor(math.log10(max(raw, 1)))
    stride = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [int(round(i * stride)) for i in range(int((steps - 1) // stride) + 1)]


def _curve(d: Drawing, values: np.ndarray, idx: np.ndarray,
           xy: Callable[[float, float], tuple[float, float]], colour: colors.Color,
           width: float) -> None:
    points: list[float] = []
    for i in idx:
        v = values[i]
        if not np.isfinite(v):
            break  # the start stopped here
        points.extend(xy(float(i), float(v)))
    if len(points) >= 4:
        d.add(PolyLine(points, strokeColor=colour, strokeWidth=width, strokeLineJoin=1))
    stopped = np.isnan(values).any()
    if stopped and points:
        d.add(Circle(points[-2], points[-1], 1.3, fillColor=colour, strokeColor=None))


def curve_legend(width: float, winner: int, n_starts: int) -> Drawing:
    """Legend for :func:`loss_plot`."""
    d = _drawing(width, 12)
    d.add(Line(0, 6, 16, 6, strokeColor=WINNER, strokeWidth=1.7))
    d.add(String(20, 3.6, f"winning start #{winner} (lowest final loss)", fontName=FONT,
                 fontSize=6.8, fillColor=MUTED))
    d.add(Line(170, 6, 186, 6, strokeColor=OTHER_START, strokeWidth=0.8))
    d.add(String(190, 3.6, f"the other {max(n_starts - 1, 0)} starts", fontName=FONT,
                 fontSize=6.8, fillColor=MUTED))
    d.add(Circle(283, 6, 1.6, fillColor=OTHER_START, strokeColor=None))
    d.add(String(288, 3.6, "start stopped early", fontName=FONT, fontSize=6.8, fillColor=MUTED))
    return d


def png_bytes(image: np.ndarray | bytes) -> bytes:
    """PNG bytes of a uint8 HxWx3 image (PNG bytes pass through)."""
    if isinstance(image, bytes):
        return image
    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(image), "RGB").save(buf, "PNG", optimize=False)
    return buf.getvalue()


def image_flowable(image: np.ndarray | bytes, max_w: float, max_h: float,
                   max_px: int = MAX_IMAGE_PX) -> Image:
    """The image scaled to fit ``max_w`` x ``max_h`` points, aspect kept.

    Images larger than ``max_px`` on a side are downsampled for display (the evidence itself is
    identified by its hash, not by the copy in the report).
    """
    data = png_bytes(image)
    with PILImage.open(io.BytesIO(data)) as im:
        w, h = im.size
        if max(w, h) > max_px:
            k = max_px / max(w, h)
            small = im.convert("RGB").resize((max(1, round(w * k)), max(1, round(h * k))),
                                             PILImage.Resampling.LANCZOS)
            data = png_bytes(np.asarray(small))
    scale = min(max_w / w, max_h / h)
    return Image(io.BytesIO(data), width=w * scale, height=h * scale)


def image_strip(images: list[tuple[str, np.ndarray | None]], width: float,
                max_side: float = 130.0) -> Table:
    """Images side by side with captions (each at most ``max_side`` points across)."""
    st = styles()
    gap = 10.0
    col = min((width - gap * (len(images) - 1)) / len(images), max_side)
    cells = [image_flowable(im, col, col) if im is not None
             else Paragraph("(not recorded)", st["cell_muted"]) for _, im in images]
    captions = [Paragraph(text, st["cell_muted"]) for text, _ in images]
    table = Table([cells, captions], colWidths=[col + gap] * (len(images) - 1) + [col],
                  hAlign="CENTER")
    set_style(table, [("ALIGN", (0, 0), (-1, 0), "CENTER"),
                      ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                      # captions of different lengths start on the same line
                      ("VALIGN", (0, 1), (-1, 1), "TOP"),
                      ("LEFTPADDING", (0, 0), (-1, -1), 0),
                      ("RIGHTPADDING", (0, 0), (-1, -1), gap),
                      ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
                      ("TOPPADDING", (0, 1), (-1, 1), 3)])
    return table
