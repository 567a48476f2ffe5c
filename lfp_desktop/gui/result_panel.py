"""The verdict of the selected evidence item and the numbers behind it."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout,
                               QWidget)

from lfp_desktop.gui.bit_grid import BitGridWidget
from lfp_desktop.gui.curves import CurveBuffer
from lfp_desktop.gui.evidence import EvidenceRecord
from lfp_desktop.gui.jobs import ItemOutcome
from lfp_desktop.gui.theme import STATUS_COLOURS, VERDICT_COLOURS

FIELDS = ("Model", "User", "Hamming distance", "Runner-up", "Margin", "p-value", "Decision rule",
          "Bit confidence", "Run")


def format_p(p: float | None) -> str:
    if p is None:
        return "—"
    if p == 0:
        return "< 1e-300"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.4f}"


def verdict_sentence(o: ItemOutcome) -> str:
    """Plain sentences explaining the verdict."""
    r = o.record
    d, k, n = r.get("hamming_distance"), r.get("key_len"), r.get("registry_size")
    if d is None:
        return "No keys to compare with: the registry is empty."
    if o.verdict == "ATTRIBUTED":
        how = (" (counting each bit by the confidence it was read with)" if r.get("statistic") == "weighted"
               else "")
        return (f"The decoded key differs from {o.user_name}'s registered key in {d} of {k} bits. A key drawn "
                f"at random comes this close{how} to one of the {n} registered keys with probability "
                f"{format_p(o.p_value)}, below the target; the image is attributed to {o.user_name}.")
    reasons = "; ".join(r.get("reasons") or [])
    why = f"{o.verdict.capitalize()}: {reasons}." if reasons else ""
    return f"{why} Nearest registered user: {o.user_name} ({d} of {k} bits differ).".strip()


class ResultPanelWidget(QWidget):
    """Shows a record's outcome under one model (a selector appears when there are several)."""

    model_chosen = Signal(str)  # model key

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.banner = QLabel("No evidence selected", objectName="verdictBanner")
        self.banner.setWordWrap(True)
        self.sentence = QLabel("")
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_box = QComboBox()
        self.model_box.currentIndexChanged.connect(self._model_index_changed)
        self.values = {name: self._value_label() for name in FIELDS}
        self.bit_grid = BitGridWidget()
        self._set_banner("No evidence selected", "#5f6b7a")
        self._build()

    def _value_label(self) -> QLabel:
        lab = QLabel("—", objectName="fieldValue")
        lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lab.setWordWrap(True)
        return lab

    def _build(self) -> None:
        form_box = QGroupBox("Findings")
        form = QFormLayout(form_box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for name in FIELDS:
            form.addRow(name + ":", self.values[name])
        bits_box = QGroupBox("Decoded key against the registered key")
        bl = QVBoxLayout(bits_box)
        bl.addWidget(self.bit_grid)
        legend = QLabel("Dark = 1, light = 0; pale cells are uncertain bits; red outline = bits that differ.")
        legend.setStyleSheet("color: #5f6b7a;")
        legend.setWordWrap(True)
        bl.addWidget(legend)
        self.model_row = QWidget()
        top = QHBoxLayout(self.model_row)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Model:"))
        top.addWidget(self.model_box, 1)
        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.banner)
        lay.addWidget(self.sentence)
        lay.addWidget(self.model_row)
        lay.addWidget(form_box)
        lay.addWidget(bits_box)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _set_banner(self, text: str, colour: str) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(f"background: {colour};")

    # -- showing -----------------------------------------------------------------------------
    def show_record(self, rec: EvidenceRecord | None, model_key: str = "", model_names: dict[str, str] | None = None) -> None:
        """Show ``rec`` under ``model_key`` (default: its headline outcome)."""
        self._fill_models(rec, model_key, model_names or {})
        if rec is None:
            self._set_banner("No evidence selected", "#5f6b7a")
            self._clear()
            return
        out = rec.outcomes.get(self.current_model()) if self.current_model() else rec.headline()
        if out is not None:
            self.show_outcome(out)
            return
        self._clear()
        status = rec.overall_status()
        text = {"running": "Analysing…", "queued": "Queued", "cancelled": "Cancelled", "error": "Error"}.get(
            status, status.capitalize())
        self._set_banner(text, STATUS_COLOURS.get(status, "#5f6b7a"))
        self.sentence.setText(rec.error_text() or rec.note)

    def _fill_models(self, rec: EvidenceRecord | None, model_key: str, names: dict[str, str]) -> None:
        keys = list(rec.outcomes) if rec else []
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for k in keys:
            self.model_box.addItem(rec.outcomes[k].model_name or names.get(k, k), k)
        best = rec.headline() if rec else None
        chosen = model_key if model_key in keys else (best.model_key if best else "")
        if chosen:
            self.model_box.setCurrentIndex(keys.index(chosen))
        self.model_row.setVisible(len(keys) > 1)  # a choice only when several models judged the item
        self.model_box.blockSignals(False)

    def current_model(self) -> str:
        return self.model_box.currentData() or ""

    def _model_index_changed(self, _index: int) -> None:
        self.model_chosen.emit(self.current_model())

    def _clear(self) -> None:
        self.sentence.setText("")
        for lab in self.values.values():
            lab.setText("—")
        self.bit_grid.clear()

    def show_outcome(self, o: ItemOutcome) -> None:
        r = o.record
        colour = VERDICT_COLOURS.get(o.verdict, "#5f6b7a")
        self._set_banner(f"{o.verdict}: {o.user_name}" if o.verdict == "ATTRIBUTED" else o.verdict, colour)
        self.sentence.setText(verdict_sentence(o))
        k = r.get("key_len") or o.bits.size
        v = self.values
        v["Model"].setText(o.model_name)
        v["User"].setText(f"{o.user_name} (ID {r.get('user_id')})" if o.user_name else "—")
        d = r.get("hamming_distance")
        weighted = r.get("statistic") == "weighted"
        wd = f"; weighted {r.get('weighted_distance')} of {r.get('weight_total')}" if weighted else ""
        v["Hamming distance"].setText("—" if d is None else f"{d} of {k} bits{wd}")
        ru, rd = r.get("runner_up_name"), r.get("runner_up_distance")
        v["Runner-up"].setText(f"{ru} ({rd} bits)" if ru else "—")
        margin = r.get("margin_bits") if weighted else r.get("margin")
        v["Margin"].setText("—" if margin is None else f"{margin:g} bits{' (weighted)' if weighted else ''} "
                                                       f"(needs ≥ {r.get('min_margin')})")
        v["p-value"].setText(format_p(r.get("p_value")))
        rule = "confidence-weighted distance: " if weighted else ""
        v["Decision rule"].setText(f"{rule}p ≤ {r.get('target_fpr'):g} and margin ≥ {r.get('min_margin')}")
        conf = np.asarray(r.get("confidence") or np.abs(o.bit_probs - 0.5))
        weak = int((conf < 0.2).sum()) if conf.size else 0
        v["Bit confidence"].setText(f"min {conf.min():.2f}, mean {conf.mean():.2f} (of 0.50); {weak} weak bit(s)"
                                    if conf.size else "—")
        v["Run"].setText(f"{r.get('steps_run')} steps, {len(r.get('final_losses') or [])} starts, "
                         f"{_seconds(r.get('seconds'))} on {r.get('device')}, loss {r.get('loss')}")
        label = "registered" if o.verdict == "ATTRIBUTED" else "nearest"
        self.bit_grid.set_bits(o.bits, o.bit_probs, o.matched_bits, label)

    def show_live(self, buf: CurveBuffer) -> None:
        """Progress of a running analysis: the best start's current bits."""
        if buf.n_bits:
            probs = buf.bit_history[-1]
            self.bit_grid.set_bits((probs > 0.5).astype(np.uint8), probs, None)
        loss = buf.best_loss()
        self.sentence.setText(f"Step {buf.steps} of at most {buf.max_steps}; {buf.active_starts} start(s) active; "
                              f"best loss {loss:.4g}" if not math.isnan(loss) else "Starting…")


def _seconds(s: float | None) -> str:
    if s is None:
        return "?"
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"
