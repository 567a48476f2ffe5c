"""Batches of fitted images and the worker-side call that analyses them (plain data in and
out, so a batch can travel to another process or machine)."""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lfp_desktop.engine.jpeg_grid import JpegGrid
from lfp_desktop.errors import LFPError


@dataclass(frozen=True)
class BatchItem:
    """One evidence item to analyse: ``image`` uint8 (size, size, 3), already fitted."""

    item_id: int
    sha256: str
    image: np.ndarray = field(repr=False)
    fit_note: str = ""
    jpeg_grid: JpegGrid | None = None  # the evidence file's, when ``image`` is its pixels unchanged


@dataclass(frozen=True)
class Batch:
    """Items analysed together by one worker; ``attempt`` counts from 1 (a batch whose worker
    died is sent again); ``avoid``: workers it should not go back to."""

    batch_id: int
    items: tuple[BatchItem, ...]
    attempt: int = 1
    avoid: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ItemAnalysis:
    """The outcome for one item: a record and attachments to store, or an error."""

    item_id: int
    sha256: str
    record: dict[str, Any] | None = None
    attachments: dict[str, bytes] = field(default_factory=dict, repr=False)
    error: str = ""


@dataclass(frozen=True)
class BatchOutcome:
    """A batch as the worker finished it (``cancelled``: stopped on request, nothing to store)."""

    batch_id: int
    items: tuple[ItemAnalysis, ...]
    worker: str
    seconds: float
    cancelled: bool = False


@dataclass(frozen=True)
class WorkerInfo:
    """Where a worker runs: ``name`` is unique in a scan, e.g. 'host:1234'."""

    name: str
    node: str
    pid: int
    device: str


def this_worker(device: str) -> WorkerInfo:
    """WorkerInfo of the current process."""
    node, pid = socket.gethostname(), os.getpid()
    return WorkerInfo(name=f"{node}:{pid}", node=node, pid=pid, device=device)


def analyse_batch(ctx: Any, batch: Batch, options: Any, *, worker: str,
                  cancel: Callable[[], bool] | None = None) -> BatchOutcome:
    """Attribute every image of the batch with :func:`lfp_desktop.analysis.analyse` (the app's
    call and settings) and build the records to store. When the batch as a whole fails, each
    image is tried alone, so one bad item does not take the others with it."""
    from lfp_desktop.engine.attribution import AttributionCancelled

    t0 = time.perf_counter()
    try:
        items = _analyse(ctx, batch.items, options, cancel)
    except AttributionCancelled:
        return BatchOutcome(batch.batch_id, (), worker, time.perf_counter() - t0, cancelled=True)
    except Exception as exc:  # noqa: BLE001 - isolated per item below, reported, the worker lives on
        if len(batch.items) == 1:
            items = (_failed(batch.items[0], exc),)
        else:
            try:
                items = tuple(_alone(ctx, it, options, cancel) for it in batch.items)
            except AttributionCancelled:
                return BatchOutcome(batch.batch_id, (), worker, time.perf_counter() - t0, cancelled=True)
    return BatchOutcome(batch.batch_id, items, worker, time.perf_counter() - t0)


def _analyse(ctx: Any, items: tuple[BatchItem, ...], options: Any,
             cancel: Callable[[], bool] | None) -> tuple[ItemAnalysis, ...]:
    from lfp_desktop.analysis import analyse
    from lfp_desktop.engine.ldm import with_model_penalty
    from lfp_desktop.scan.records import matched_bits, result_record

    settings = with_model_penalty(options.attribution, ctx.generator)
    analyses = analyse(ctx, [it.image for it in items], settings=settings, policy=options.policy, cancel=cancel,
                       jpeg=[it.jpeg_grid for it in items])
    out = []
    for it, a in zip(items, analyses):
        record, attachments = result_record(a.to_dict(arrays=True), matched=matched_bits(ctx, a),
                                            item_sha256=it.sha256, fit_note=it.fit_note, image=it.image,
                                            reconstruction=a.attribution.reconstruction)
        out.append(ItemAnalysis(it.item_id, it.sha256, record, attachments))
    return tuple(out)


def _alone(ctx: Any, item: BatchItem, options: Any, cancel: Callable[[], bool] | None) -> ItemAnalysis:
    from lfp_desktop.engine.attribution import AttributionCancelled

    try:
        return _analyse(ctx, (item,), options, cancel)[0]
    except AttributionCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - this item's error, the others go on
        return _failed(item, exc)


def _failed(item: BatchItem, exc: BaseException) -> ItemAnalysis:
    if isinstance(exc, LFPError):
        text = str(exc)
    else:
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        text = f"unexpected error ({last}); please report it with the scan's log"
    return ItemAnalysis(item.item_id, item.sha256, error=text)
