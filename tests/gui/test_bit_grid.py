"""The bit grid and the live plots as drawn: colours of confident, uncertain and differing bits,
and curve pens that Qt can draw without stroking."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from lfp_desktop.gui.bit_grid import CELL, GAP, LABEL_W, SHADE_LEVELS, BitGridWidget, shade, shade_levels
from lfp_desktop.gui.plot_panel import PlotPanelWidget
from lfp_desktop.gui.theme import BIT_ONE, BIT_WRONG, BIT_ZERO


def _pixel(image, j: int, row: int, dx: int = CELL // 2, dy: int = CELL // 2) -> str:  # noqa: ANN001 - QImage
    """Colour name at an offset inside cell j of ``row`` (first block)."""
    x = LABEL_W + j * (CELL + GAP) + dx
    y = 12 + row * (CELL + GAP) + dy
    return QColor(image.pixel(x, y)).name()


def test_grid_paints_confidence_registered_key_and_differences(qtbot):
    grid = BitGridWidget()
    qtbot.addWidget(grid)
    grid.resize(600, 120)
    decoded = np.array([1, 0, 1, 0, 1, 1, 0, 0], np.uint8)
    probs = np.array([0.999, 0.001, 0.55, 0.02, 0.98, 0.97, 0.03, 0.01])
    registered = np.array([1, 0, 1, 1, 1, 1, 0, 0], np.uint8)  # bit 3 differs
    grid.set_bits(decoded, probs, registered)
    image = grid.grab().toImage()
    assert _pixel(image, 0, 0) == QColor(BIT_ONE).name()  # confident 1: full dark
    assert _pixel(image, 1, 0) == QColor(BIT_ZERO).name()  # confident 0: full light
    got, want = QColor(_pixel(image, 2, 0)), shade(1, 0.05)  # uncertain 1: toward grey (shades are stepped)
    assert max(abs(a - b) for a, b in zip(got.getRgb()[:3], want.getRgb()[:3])) <= 10
    assert _pixel(image, 2, 0) not in (QColor(BIT_ONE).name(), QColor(BIT_ZERO).name())
    assert _pixel(image, 3, 1) == QColor(BIT_ONE).name()  # the registered row shows the registered key
    assert _pixel(image, 3, 0, dx=1, dy=CELL // 2) == QColor(BIT_WRONG).name()  # a differing bit is outlined
    assert _pixel(image, 4, 0, dx=1, dy=CELL // 2) != QColor(BIT_WRONG).name()
    assert grid.bit_at(grid._cell(3, 1).center().toPoint()) == 3


def test_shade_levels_span_the_confidence_range():
    levels = shade_levels(np.array([0.0, 0.5, 0.25, np.nan, 0.7]))
    assert levels.tolist() == [0, SHADE_LEVELS, SHADE_LEVELS // 2, 0, SHADE_LEVELS]


def test_live_curves_use_one_pixel_pens_except_the_best_start(qtbot):
    panel = PlotPanelWidget()
    qtbot.addWidget(panel)
    # Any other width makes Qt stroke the many thin curves into polygons, ten times slower.
    for item in (panel.starts_item, panel.ones_item, panel.zeros_item):
        assert item.opts["pen"].widthF() <= 1.0
    assert panel.best_item.opts["pen"].widthF() > 1.0  # the bold curve is a single one
