"""Live curves: the loss of every start (faint) and of the best start (bold), log scale, and
the best start's per-bit probabilities converging toward 0 or 1. Redrawn on a timer tick."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QWidget

from lfp_desktop.gui.curves import CurveBuffer
from lfp_desktop.gui.theme import BITS_ONE, BITS_ZERO, CURVE_BEST, CURVE_START

REDRAW_MS = 100
LEFT_AXIS_PX = 58  # room for the axis title and tick labels such as "0.0002" or "1e-10"


def log_ticks(lo: float, hi: float, most: int = 7) -> list[tuple[float, str]]:
    """(log10 position, label) ticks for a log axis spanning 10**lo … 10**hi: 1-2-5 steps
    within a decade or two, whole decades beyond, at most ``most`` of them."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return []
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        values = [m * 10.0 ** e for e in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in mantissas]
        ticks = [(float(np.log10(v)), f"{v:g}") for v in values if lo <= np.log10(v) <= hi]
        if len(ticks) <= most:
            return ticks
    step = int(np.ceil((hi - lo) / most))
    return [(float(e), f"1e{e}") for e in range(int(np.ceil(lo)), int(np.floor(hi)) + 1, step)]


def _plot(title: str, left: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background="w")
    w.setAcceptDrops(False)  # files dropped here go to the window
    item = w.getPlotItem()
    item.setTitle(title, color="#334155", size="10pt")
    item.setLabel("bottom", "step")
    item.setLabel("left", left)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setClipToView(True)
    item.setDownsampling(auto=True, mode="peak")
    item.getViewBox().disableAutoRange()  # ranges are set from the buffer: no data scan per paint
    for axis in ("left", "bottom"):
        item.getAxis(axis).setTextPen("#475569")
        item.getAxis(axis).setPen("#94a3b8")
        item.getAxis(axis).enableAutoSIPrefix(False)  # ticks carry their own units
    # Axes, grid and title are kept as pixmaps and drawn again only when they change: every
    # new curve repaints the whole plot, and replaying their text costs more than the curves.
    for part in [item.getAxis(a) for a in ("left", "bottom", "top", "right")] + [item.titleLabel]:
        part.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    # A fixed width for the tick labels: otherwise each change of their length ("0.5" → "0.02")
    # lays the whole plot out again and repaints it twice.
    item.getAxis("left").setWidth(LEFT_AXIS_PX)
    return w


def with_breaks(x: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Several curves sharing x, as one polyline broken by NaN: x (n,), ys (n, m) →
    (x', y') of length m·(n + 1), for a single PlotDataItem drawn with connect="finite"."""
    n, m = ys.shape
    xs = np.empty((m, n + 1), dtype=np.float64)
    xs[:, :n], xs[:, n] = x, np.nan
    yv = np.empty((m, n + 1), dtype=np.float64)
    yv[:, :n], yv[:, n] = ys.T, np.nan
    return xs.reshape(-1), yv.reshape(-1)


class PlotPanelWidget(QWidget):
    """Shows one CurveBuffer; ``show_buffer`` switches, the timer redraws when it changed.

    The faint curves of all starts form one item and the key bits two (bits heading to 1, to 0):
    a handful of items keeps each redraw to a few milliseconds with 20 starts and 64 bits.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss_plot = _plot("Loss per start", "loss")
        self.loss_plot.getPlotItem().setLogMode(y=True)
        self.loss_plot.getPlotItem().getViewBox().sigYRangeChanged.connect(self._log_ticks)
        self.bit_plot = _plot("Key bits of the leading start", "P(bit = 1)")
        self.bit_plot.getPlotItem().setYRange(0, 1, padding=0.02)
        self.bit_plot.getPlotItem().getViewBox().setMouseEnabled(x=True, y=False)
        self.bit_plot.getPlotItem().addLine(y=0.5, pen=pg.mkPen("#94a3b8", style=pg.QtCore.Qt.PenStyle.DashLine))
        self.starts_item = self.loss_plot.plot(pen=pg.mkPen(CURVE_START, width=1), connect="finite")
        self.starts_item.setZValue(-1)
        self.best_item = self.loss_plot.plot(pen=pg.mkPen(CURVE_BEST, width=2.5))
        # Thin curves use one-pixel pens: Qt draws those directly, while any other width (even
        # 1.2) is stroked into polygons first, ten times slower for 64 bit curves.
        self.ones_item = self.bit_plot.plot(pen=pg.mkPen(BITS_ONE, width=1), connect="finite")
        self.zeros_item = self.bit_plot.plot(pen=pg.mkPen(BITS_ZERO, width=1), connect="finite")
        self._buffer: CurveBuffer | None = None
        self._drawn = (-1, -1)
        self._x_span = 0
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.loss_plot, 1)
        lay.addWidget(self.bit_plot, 1)
        self.timer = QTimer(self, interval=REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        # A newly shown buffer is drawn on the next pass of the event loop, not inside the
        # handler that switched to it: the first drawing of a run (new ranges, new axis
        # labels) is the longest, and it then no longer adds to that handler's time.
        self._soon = QTimer(self, singleShot=True, interval=0)
        self._soon.timeout.connect(self.redraw)

    def _log_ticks(self, _view, y_range) -> None:  # noqa: ANN001 - ViewBox, [lo, hi] in log10
        self.loss_plot.getPlotItem().getAxis("left").setTicks([log_ticks(*y_range)])

    def show_buffer(self, buf: CurveBuffer | None) -> None:
        """Follow ``buf`` (None clears the plots); drawn as soon as the event loop is free,
        then on each tick."""
        if buf is not self._buffer:
            self._buffer = buf
            self._drawn = (-1, -1)
            self._soon.start()

    def redraw(self) -> None:
        buf = self._buffer
        stamp = (id(buf), buf.version) if buf is not None else (0, 0)
        if stamp == self._drawn:
            return
        self._drawn = stamp
        if buf is None or not buf.steps:
            for item in (self.starts_item, self.best_item, self.ones_item, self.zeros_item):
                item.setData([], [])
            return
        self._fix_x_range(buf.steps if buf.done else max(buf.max_steps, buf.steps))
        losses = buf.losses.astype(np.float64)
        x = np.arange(1, losses.shape[0] + 1, dtype=np.float64)
        self.starts_item.setData(*with_breaks(x, losses), connect="finite")
        self._fit_loss_range(losses)
        self.best_item.setData(x, buf.best_curve().astype(np.float64), connect="finite")
        recent = buf.since_best_changed()  # one start's trajectory: no jumps between starts
        self._draw_bits(buf.bit_steps[recent:].astype(np.float64), buf.bit_history[recent:])

    def _fit_loss_range(self, losses: np.ndarray) -> None:
        """Keep the log loss axis around the data; it only moves when the data leave it or
        fill well under half of it, so the axis is not laid out again at every tick."""
        finite = losses[np.isfinite(losses) & (losses > 0)]
        if not finite.size:
            return
        lo, hi = float(np.log10(finite.min())), float(np.log10(finite.max()))
        span = max(hi - lo, 0.1)
        a, b = self.loss_plot.getPlotItem().getViewBox().viewRange()[1]
        if lo < a or hi > b or (b - a) > 2.0 * span + 0.2:
            self.loss_plot.getPlotItem().setYRange(lo - 0.08 * span, hi + 0.08 * span, padding=0)

    def _fix_x_range(self, steps: int) -> None:
        """The x axis spans the whole run from the start, so axes are not re-laid out each tick."""
        if steps and steps != self._x_span:
            self._x_span = steps
            for plot in (self.loss_plot, self.bit_plot):
                plot.getPlotItem().setXRange(0, steps, padding=0.01)

    def _draw_bits(self, x: np.ndarray, history: np.ndarray) -> None:
        if not history.size:
            self.ones_item.setData([], [])
            self.zeros_item.setData([], [])
            return
        heading_one = history[-1] > 0.5
        symbol = "o" if x.size == 1 else None  # a stored result has only its final probabilities
        for item, cols, colour in ((self.ones_item, heading_one, BITS_ONE), (self.zeros_item, ~heading_one, BITS_ZERO)):
            item.setData(*with_breaks(x, history[:, cols]), connect="finite", symbol=symbol, symbolSize=5,
                         symbolBrush=colour, symbolPen=None)
