"""Plain data passed between the interface and the device workers (no Qt, no tensors)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_job_ids = itertools.count(1)


def next_job_id() -> int:
    """A process-unique job number (1, 2, …)."""
    return next(_job_ids)


@dataclass(frozen=True)
class ModelSpec:
    """A (registry, checkpoint) pair the user asked to load."""

    registry_path: Path
    checkpoint_path: Path

    @property
    def key(self) -> str:
        """Identity of the pair inside the application (the two resolved paths)."""
        return f"{Path(self.registry_path).resolve()}|{Path(self.checkpoint_path).resolve()}"


@dataclass(frozen=True)
class ModelInfo:
    """What the interface shows about a loaded pair; the live model stays on its worker."""

    spec: ModelSpec
    name: str
    size: int  # generator resolution in pixels (square)
    key_len: int
    n_users: int
    checkpoint_sha256: str
    scheme_sha256: str
    registry_digest: str
    devices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(frozen=True)
class RunOptions:
    """Attribution settings and decision policy of one run, as plain values.

    ``attribution`` is an engine AttributionSettings, ``policy`` a DecisionPolicy; both frozen.
    """

    attribution: Any
    policy: Any

    @property
    def group(self) -> tuple[Any, Any]:
        """Items share a job only when they are run with the same options."""
        return (self.attribution, self.policy)


@dataclass(frozen=True)
class WorkItem:
    """One image waiting for one model: uint8 (size, size, 3), fitted to the model."""

    item_id: str
    model_key: str
    image: np.ndarray
    options: RunOptions
    jpeg_grid: Any = None  # the evidence file's JPEG grid when ``image`` is its pixels unchanged


@dataclass(frozen=True)
class Job:
    """Several images for one model on one device, attributed as one batch."""

    job_id: int
    model_key: str
    items: tuple[WorkItem, ...]
    options: RunOptions

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(w.item_id for w in self.items)


@dataclass(frozen=True)
class StepBatch:
    """Progress of one image since the previous batch (at most one per ~50 ms per image).

    ``steps`` int64 (n,) step numbers from 1; ``losses`` float32 (n, starts), NaN where a
    start was dropped; ``best_loss`` float64 (n,); ``bit_probs`` float64 (K,) of the best
    start at the last step in the batch.
    """

    job_id: int
    item_id: str
    model_key: str
    steps: np.ndarray
    losses: np.ndarray
    best_loss: np.ndarray
    best_start: int
    bit_probs: np.ndarray
    active_starts: int
    done: bool
    max_steps: int


@dataclass(frozen=True)
class ItemOutcome:
    """The finished analysis of one image under one model (plain data).

    ``record`` is ``Analysis.to_dict()`` (JSON-ready); arrays: ``image`` the analysed uint8
    (H, W, 3), ``reconstruction`` uint8 (H, W, 3), ``loss_curves`` float32 (steps, starts),
    ``bit_probs`` float64 (K,), ``bits`` uint8 (K,), ``matched_bits`` uint8 (K,) or None.
    """

    item_id: str
    model_key: str
    model_name: str
    record: dict[str, Any]
    image: np.ndarray
    reconstruction: np.ndarray
    loss_curves: np.ndarray
    bit_probs: np.ndarray
    bits: np.ndarray
    matched_bits: np.ndarray | None
    winning_start: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return str(self.record.get("verdict", "NOT MATCHED"))

    @property
    def user_name(self) -> str | None:
        return self.record.get("user_name")

    @property
    def p_value(self) -> float:
        p = self.record.get("p_value")
        return 1.0 if p is None else float(p)
