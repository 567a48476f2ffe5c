"""Scanning on a Ray cluster: connecting, and a pool of ScanWorker actors (one per GPU, or
one per CPU worker where there is none) that analyse batches and survive lost workers.

Ray is optional (``pip install "lfp-desktop[cluster]"``); it is imported only here and in
ray_worker.py, and only when a cluster is asked for.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfp_desktop.errors import LFPError
from lfp_desktop.scan.executor import Done
from lfp_desktop.scan.model import ModelBundle
from lfp_desktop.scan.work import Batch, WorkerInfo

INSTALL_HINT = 'pip install "lfp-desktop[cluster]"'
LOCAL = "local"


def ray_installed() -> bool:
    """True when Ray can be imported (found without importing it, which takes a while)."""
    if "ray" in sys.modules:
        return sys.modules["ray"] is not None  # None: imports of it are blocked
    return importlib.util.find_spec("ray") is not None


def import_ray() -> Any:
    """The ray module, or an LFPError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise LFPError(f"scanning on a Ray cluster needs Ray, which is not installed here; install it "
                       f"with: {INSTALL_HINT}") from exc
    return ray


@contextmanager
def ray_connection(address: str, *, num_cpus: int | None = None) -> Iterator[str]:
    """Connected to Ray for the duration of the block; yields a description of the cluster.

    ``address``: 'local' starts Ray on this computer (``num_cpus`` caps it) and stops it
    afterwards; otherwise the address of a running cluster, 'HOST:6379' from a cluster node
    or 'ray://HOST:10001' from elsewhere. A connection this program already has is reused
    and left open.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield _describe(ray, "the connected Ray cluster")
        return
    try:
        if address == LOCAL:
            # address="local": a new instance, even where a cluster already runs on this computer
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)
        else:
            # Workers run this program's own code, whatever lfp-desktop version their nodes have.
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                     runtime_env={"py_modules": [str(Path(__file__).resolve().parents[1])]})
    except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; all mean "not connected"
        if address == LOCAL:
            raise LFPError(f"a local Ray instance could not be started ({_first_line(exc)}); check the Ray "
                           f"installation ({INSTALL_HINT}) and the free space in the temporary folder") from exc
        raise LFPError(f"could not connect to the Ray cluster at {address} ({_first_line(exc)}); check that "
                       "'ray start --head' runs there, that the address and port are right and that this computer "
                       "has the cluster's Ray version (and its token, where token authentication is on)") from exc
    try:
        yield _describe(ray, "a local Ray instance" if address == LOCAL else f"the Ray cluster at {address}")
    finally:
        ray.shutdown()


def _describe(ray: Any, what: str) -> str:
    res = ray.cluster_resources()
    gpus = int(res.get("GPU", 0))
    return f"{what}: {len(ray.nodes())} node(s), {int(res.get('CPU', 0))} CPU(s)" + (f", {gpus} GPU(s)" if gpus else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


@dataclass
class _Slot:
    actor: Any
    info: WorkerInfo
    runs: set = field(default_factory=set)  # object refs of batches sent to it
    state: str = "ok"  # 'ok', 'starting' (a replacement loads the model) or 'dead'
    replaced: int = 0


class RayExecutor:
    """A pool of ScanWorker actors on the connected cluster.

    ``workers``: how many (default: one per GPU, else one per ``cpus_per_worker`` CPUs);
    ``queue_per_worker``: batches sent ahead to each, so none waits for the driver. A worker
    that dies is replaced by a new actor (at most ``max_replacements`` times per place in the
    pool), wherever the cluster has room; its batches come back as failures for the scan to
    send again, preferably to another worker.
    """

    def __init__(self, bundle: ModelBundle, *, workers: int | None = None, cpus_per_worker: int = 1,
                 queue_per_worker: int = 2, max_replacements: int = 3, start_timeout: float = 600.0):
        ray = import_ray()
        if not ray.is_initialized():
            raise LFPError("not connected to Ray; connect first (ray_connection)")
        self._ray, self._queue_per_worker, self._max_replacements = ray, max(1, queue_per_worker), max_replacements
        res = ray.cluster_resources()
        gpus, cpus = int(res.get("GPU", 0)), int(res.get("CPU", 0))
        threads = max(1, cpus_per_worker)
        if gpus:
            count, self._device, self._resources = workers or gpus, "cuda", {"num_gpus": 1, "num_cpus": 1}
        else:
            count, self._device, self._resources = workers or max(1, cpus // threads), "cpu", {"num_cpus": threads}
        self._threads = threads
        self._bundle_ref = ray.put(bundle)  # shared by every worker, replacements included
        actors = [self._new_actor() for _ in range(count)]
        infos = self._start(actors, start_timeout, cpus, gpus)
        self._slots = [_Slot(a, i) for a, i in zip(actors, infos)]
        self._refs: dict[Any, tuple[str, _Slot, Batch | None]] = {}
        self._waiting: deque[Batch] = deque()
        self._options_ref: Any = None
        self._token = ""
        self.target = f"Ray: {count} {'GPU' if gpus else 'CPU'} worker(s) on {len({i.node for i in infos})} node(s)"

    def _new_actor(self) -> Any:
        from lfp_desktop.scan.ray_worker import ScanWorker

        return ScanWorker.options(**self._resources).remote(self._bundle_ref, self._device, self._threads)

    def _start(self, actors: list[Any], timeout: float, cpus: int, gpus: int) -> list[WorkerInfo]:
        ray = self._ray
        try:
            return ray.get([a.describe.remote() for a in actors], timeout=timeout)
        except ray.exceptions.GetTimeoutError as exc:
            self._kill(actors)
            raise LFPError(f"the cluster did not start {len(actors)} worker(s) within {timeout:.0f} s (it has "
                           f"{cpus} CPU(s) and {gpus} GPU(s)); ask for fewer workers or add nodes") from exc
        except ray.exceptions.RayError as exc:
            self._kill(actors)
            raise LFPError(f"the Ray workers could not load the model ({_first_line(exc)}); every node needs "
                           f"Python with lfp-desktop's dependencies ({INSTALL_HINT})") from exc

    # -- the Executor protocol -------------------------------------------------------------
    def workers(self) -> list[WorkerInfo]:
        """The live workers."""
        return [s.info for s in self._slots if s.state == "ok"]

    def begin(self, options: Any, cancel: threading.Event) -> None:
        self._forget_runs()  # left by a scan that ended with an error
        self._waiting.clear()
        self._options_ref = self._ray.put(options)
        self._token = uuid.uuid4().hex  # a later scan is not stopped by this one's cancel

    def room(self) -> int:
        free = sum(self._queue_per_worker - len(s.runs) for s in self._slots if s.state == "ok")
        return max(0, free - len(self._waiting))

    def in_flight(self) -> int:
        return len(self._waiting) + sum(len(s.runs) for s in self._slots)

    def submit(self, batch: Batch) -> None:
        self._waiting.append(batch)
        self._dispatch()

    def poll(self, timeout: float) -> list[Done]:
        self._dispatch()
        refs = list(self._refs)
        if not refs:
            time.sleep(min(timeout, 0.05))
            return []
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        done = [d for d in (self._collect(ref) for ref in ready) if d is not None]
        if all(s.state == "dead" for s in self._slots):
            raise LFPError("every Ray worker of this scan has died; the case keeps the results stored so far — "
                           "check the cluster's nodes and run the scan again to resume")
        self._dispatch()
        return done

    def cancel(self, wait: float = 10.0) -> list[Done]:
        """Stop every batch between two optimisation steps; returns those that had finished."""
        self._waiting.clear()
        for s in self._slots:
            if s.state == "ok":
                s.actor.cancel.remote(self._token)
        runs = [r for r, (kind, _, _) in self._refs.items() if kind == "run"]
        ready = self._ray.wait(runs, num_returns=len(runs), timeout=wait)[0] if runs else []
        done = [d for d in (self._collect(r) for r in ready) if d is not None and d.outcome is not None]
        self._forget_runs()  # any still running stop at their next step; a later scan must not see them
        return [d for d in done if not d.outcome.cancelled]

    def _forget_runs(self) -> None:
        for ref in [r for r, (kind, _, _) in self._refs.items() if kind == "run"]:
            self._refs.pop(ref)[1].runs.discard(ref)

    def close(self) -> None:
        self._kill([s.actor for s in self._slots])
        self._refs.clear()
        self._waiting.clear()

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside ----------------------------------------------------------------------------
    def _dispatch(self) -> None:
        while self._waiting:
            free = [s for s in self._slots if s.state == "ok" and len(s.runs) < self._queue_per_worker]
            if not free:
                return
            batch = self._waiting.popleft()
            preferred = [s for s in free if s.info.name not in batch.avoid] or free
            slot = min(preferred, key=lambda s: len(s.runs))
            ref = slot.actor.run.remote(batch, self._options_ref, self._token)
            slot.runs.add(ref)
            self._refs[ref] = ("run", slot, batch)

    def _collect(self, ref: Any) -> Done | None:
        kind, slot, batch = self._refs.pop(ref)
        ray = self._ray
        if kind == "start":
            try:
                slot.info, slot.state = ray.get(ref), "ok"
            except ray.exceptions.RayError:
                slot.state = "dead"  # a new worker that cannot even load the model: give up this place
            return None
        slot.runs.discard(ref)
        try:
            return Done(batch, ray.get(ref))
        except ray.exceptions.RayActorError as exc:
            self._replace(slot)
            return Done(batch, None, f"worker {slot.info.name} was lost ({_first_line(exc)[:160]})", slot.info.name)
        except ray.exceptions.RayError as exc:
            return Done(batch, None, f"batch lost on worker {slot.info.name} ({_first_line(exc)[:160]})", slot.info.name)

    def _replace(self, slot: _Slot) -> None:
        """A lost worker's place gets a new actor (once per loss, however many batches it held)."""
        if slot.state != "ok":
            return
        self._kill([slot.actor])
        if slot.replaced >= self._max_replacements:
            slot.state = "dead"
            return
        slot.actor, slot.state = self._new_actor(), "starting"
        slot.replaced += 1
        self._refs[slot.actor.describe.remote()] = ("start", slot, None)

    def _kill(self, actors: list[Any]) -> None:
        for a in actors:
            try:
                self._ray.kill(a, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
