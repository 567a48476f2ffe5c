"""Growing buffers of one image's optimisation progress, filled from StepBatches."""

from __future__ import annotations

import math

import numpy as np

from lfp_desktop.gui.jobs import ItemOutcome, StepBatch


class CurveBuffer:
    """Loss of every start per step and the best start's bit probabilities over time.

    ``losses`` float32 (steps, starts), NaN where a start did not run; ``bit_steps`` int64 (n,)
    and ``bit_history`` float64 (n, K): probabilities sampled at each received batch.
    Capacity doubles as steps arrive, so appending is amortised O(1).
    """

    def __init__(self, starts: int = 1, key_len: int = 0, capacity: int = 256):
        self._losses = np.full((capacity, max(1, starts)), np.nan, dtype=np.float32)
        self._bits = np.full((64, key_len), np.nan, dtype=np.float64)
        self._bit_steps = np.zeros(64, dtype=np.int64)
        self._bit_starts = np.zeros(64, dtype=np.int64)  # the best start each sample came from
        self.steps = 0  # highest step recorded
        self.n_bits = 0
        self.best_start = 0
        self.active_starts = 0
        self.max_steps = 0
        self.done = False
        self.version = 0  # bumped on every change, so views redraw only when needed

    @classmethod
    def from_outcome(cls, outcome: ItemOutcome) -> "CurveBuffer":
        """A finished buffer from stored curves (final bit probabilities only)."""
        curves = np.asarray(outcome.loss_curves, dtype=np.float32)
        steps, starts = curves.shape if curves.ndim == 2 and curves.size else (0, 1)
        buf = cls(starts, outcome.bit_probs.size, capacity=max(1, steps))
        if steps:
            buf._losses[:steps] = curves
        buf.steps = buf.max_steps = steps
        buf.best_start, buf.done = outcome.winning_start, True
        if outcome.bit_probs.size:
            buf._append_bits(max(1, steps), outcome.bit_probs)
        return buf

    def add(self, batch: StepBatch) -> None:
        """Record a batch; steps are 1-based; a closing batch may carry none (state only)."""
        steps = np.asarray(batch.steps, dtype=np.int64)
        losses = np.asarray(batch.losses, dtype=np.float32)
        if losses.shape[1] != self._losses.shape[1]:
            self._widen(losses.shape[1])
        top = int(steps.max()) if steps.size else self.steps
        self._grow(top)
        self._losses[steps - 1] = losses
        self.steps = max(self.steps, top)
        self.best_start, self.active_starts = batch.best_start, batch.active_starts
        self.max_steps, self.done = batch.max_steps, batch.done
        self._append_bits(top, batch.bit_probs)
        self.version += 1

    def _grow(self, steps: int) -> None:
        cap = self._losses.shape[0]
        if steps > cap:
            new = np.full((max(steps, 2 * cap), self._losses.shape[1]), np.nan, dtype=np.float32)
            new[:cap] = self._losses
            self._losses = new

    def _widen(self, starts: int) -> None:
        new = np.full((self._losses.shape[0], starts), np.nan, dtype=np.float32)
        k = min(starts, self._losses.shape[1])
        new[:, :k] = self._losses[:, :k]
        self._losses = new

    def _append_bits(self, step: int, probs: np.ndarray) -> None:
        probs = np.asarray(probs, dtype=np.float64)
        if self._bits.shape[1] != probs.size:
            self._bits = np.full((self._bits.shape[0], probs.size), np.nan)
            self.n_bits = 0
        if self.n_bits and self._bit_steps[self.n_bits - 1] == step:
            self.n_bits -= 1  # same step again: replace it
        if self.n_bits == self._bits.shape[0]:
            self._bits = np.concatenate([self._bits, np.full_like(self._bits, np.nan)])
            self._bit_steps = np.concatenate([self._bit_steps, np.zeros_like(self._bit_steps)])
            self._bit_starts = np.concatenate([self._bit_starts, np.zeros_like(self._bit_starts)])
        self._bits[self.n_bits], self._bit_steps[self.n_bits] = probs, step
        self._bit_starts[self.n_bits] = self.best_start
        self.n_bits += 1

    @property
    def starts(self) -> int:
        return self._losses.shape[1]

    @property
    def losses(self) -> np.ndarray:
        """View of the recorded steps: float32 (steps, starts)."""
        return self._losses[:self.steps]

    @property
    def bit_steps(self) -> np.ndarray:
        return self._bit_steps[:self.n_bits]

    @property
    def bit_history(self) -> np.ndarray:
        return self._bits[:self.n_bits]

    def since_best_changed(self) -> int:
        """Index of the first bit sample of the current leading start's unbroken run."""
        starts = self._bit_starts[:self.n_bits]
        if not starts.size:
            return 0
        changed = np.flatnonzero(starts != starts[-1])
        return int(changed[-1] + 1) if changed.size else 0

    def best_curve(self) -> np.ndarray:
        """Loss of the current best start, float32 (steps,)."""
        return self.losses[:, self.best_start] if self.steps else np.zeros(0, np.float32)

    def best_loss(self) -> float:
        """Lowest loss seen at the last step (NaN before any step)."""
        if not self.steps:
            return math.nan
        last = self.losses[self.steps - 1]
        return float(np.nanmin(last)) if np.isfinite(last).any() else math.nan
