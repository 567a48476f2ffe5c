"""Benchmark the desktop application's responsiveness while it attributes images.

The real window is started (offscreen unless a display is given) with the bundled demo
workspace, or with a tiny random generator when the demo is not built (``--tiny`` forces it).
Demo evidence images are dropped on it as one drop; while the workers run, a 5 ms timer on the
interface thread records how late each tick arrives. A late tick is time the event loop could
not react to the user.

Usage (from the repository root):

    python tests/benchmarks/bench_gui_responsiveness.py                    # demo, 4 images, 8 starts, 300 steps
    python tests/benchmarks/bench_gui_responsiveness.py --images 8 --steps 500
    python tests/benchmarks/bench_gui_responsiveness.py --tiny             # no demo needed
    python tests/benchmarks/bench_gui_responsiveness.py --device cuda      # on a GPU

Figures: maximum event-loop stall in ms (target: max ≤ 50 ms) and when it happened (seconds
after the drop), the 99th percentile and median, the number of stalls over 50 ms and of ticks,
wall time of the whole attribution, optimisation steps per second summed over images, and
the verdicts reached. On a machine shared with other work, run it more than once.

On Linux each stall is also split using the interface thread's scheduler statistics: the time
it was ready to run but the system gave the processor to other threads or processes
(``cpu_wait``) and the rest (``own``: the thread busy, or blocked on the interpreter lock).
``max_own_stall_ms`` is the largest stall left once processor waiting is taken out, the part the
application controls; ``max_stall_cpu_wait_ms`` is how much of the largest stall was waiting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TICK_MS = 5


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=4, help="evidence images dropped at once (default 4)")
    p.add_argument("--starts", type=int, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--per-job", type=int, default=4, help="images per job (default 4)")
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="use a tiny random generator instead of the demo")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p.parse_args()


def workspace(tiny: bool, root: Path) -> tuple[Path, Path, list[Path]]:
    """(registry, checkpoint, evidence files) of the demo, or of a tiny workspace."""
    from lfp_desktop.resources import resource

    if not tiny:
        try:
            built = resource("demo", "generator.pt").is_file()
        except FileNotFoundError:
            built = False
        if built:
            from lfp_desktop.demo.workspace import ensure_demo_workspace

            ws = ensure_demo_workspace(root / "demo")
            files = [ws.evidence_dir / e["file"] for e in ws.manifest()]
            return ws.registry_path, ws.checkpoint_path, files
        print("the demo model is not built; using a tiny random generator", file=sys.stderr)
    from tests.gui.workspace import build_tiny_workspace

    ws = build_tiny_workspace(root / "tiny")
    return ws.registry_path, ws.checkpoint_path, sorted(ws.evidence_dir.glob("*.png"))


class RunQueueClock:
    """Milliseconds the calling thread has spent ready to run but not running (Linux
    /proc/thread-self/schedstat, second field); None elsewhere."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None

    def waited_ms(self) -> float | None:
        if self._fd is None:
            return None
        return int(os.pread(self._fd, 128, 0).split()[1]) / 1e6

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class StallMeter:
    """Records how late a fast QTimer's ticks arrive on the interface thread, and how much of
    each delay the thread spent waiting for a processor."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.waits: list[float] = []
        self.times: list[float] = []
        self._clock = RunQueueClock()  # created on the interface thread: it measures that thread
        self._waited = self._clock.waited_ms()
        self._start = self._last = time.perf_counter()
        self.timer = QTimer(interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        waited = self._clock.waited_ms()
        self.gaps.append((now - self._last) * 1000 - TICK_MS)
        self.waits.append(waited - self._waited if waited is not None else float("nan"))
        self.times.append(now - self._start)
        self._last, self._waited = now, waited

    def stop(self) -> None:
        self.timer.stop()
        self._clock.close()

    def figures(self) -> dict[str, float]:
        import numpy as np

        g = np.maximum(np.asarray(self.gaps), 0.0)
        w = np.asarray(self.waits)
        worst = int(g.argmax())
        out = {"max_stall_ms": round(float(g.max()), 1), "max_stall_at_s": round(self.times[worst], 2),
               "p99_stall_ms": round(float(np.percentile(g, 99)), 1), "median_stall_ms": round(float(np.median(g)), 2),
               "stalls_over_50ms": int((g > 50).sum()), "ticks": int(g.size)}
        if np.isfinite(w).all():
            own = np.maximum(g - w, 0.0)
            out.update({"max_stall_cpu_wait_ms": round(float(w[worst]), 1),
                        "max_own_stall_ms": round(float(own.max()), 1), "own_stalls_over_50ms": int((own > 50).sum())})
        return out


def main() -> int:
    args = parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    root = Path(tempfile.mkdtemp(prefix="lfp-bench-gui-"))
    os.environ["LFP_HOME"] = str(root / "home")
    from PySide6.QtWidgets import QApplication

    from lfp_desktop.config import Settings, save_settings
    from lfp_desktop.gui import window_state
    from lfp_desktop.gui.app import create_window
    from lfp_desktop.gui.jobs import ModelSpec

    app = QApplication.instance() or QApplication(sys.argv[:1])
    registry, checkpoint, files = workspace(args.tiny, root)
    files = (files * (args.images // max(1, len(files)) + 1))[:args.images]
    save_settings(Settings(device=args.device, starts=args.starts, steps=args.steps, early_stopping=False,
                           images_per_job=args.per_job))
    window_state.save_models([ModelSpec(registry, checkpoint)])
    window = create_window()
    window.show()
    window.commands.start()
    _wait(app, lambda: window.inv.models and window.inv.case and window.inv.pool.started, 600)
    meter = StallMeter()
    t0 = time.perf_counter()
    window.commands.add_paths([str(f) for f in files])
    _wait(app, lambda: len(window.inv.records) >= len(set(files)) and all(
        r.overall_status() in ("done", "error", "cancelled") for r in window.inv.records.values()), 3600)
    wall = time.perf_counter() - t0
    meter.stop()
    steps = sum(o.record["steps_run"] for r in window.inv.records.values() for o in r.outcomes.values())
    out = {**meter.figures(), "wall_s": round(wall, 2), "steps_per_s": round(steps / wall, 1),
           "images": len(window.inv.records), "devices": window.inv.pool.devices,
           "verdicts": sorted(r.verdict_text() or r.error_text() for r in window.inv.records.values())}
    window.close()
    print(json.dumps(out, indent=1) if args.json else "\n".join(f"{k:>16}: {v}" for k, v in out.items()))
    return 0


def _wait(app, cond, timeout_s: float) -> None:  # noqa: ANN001
    from tests.gui.make_screenshots import wait_until

    wait_until(cond, timeout_s, poll_ms=20, message="timed out")


if __name__ == "__main__":
    sys.exit(main())
