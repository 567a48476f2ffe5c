"""Scan benchmark (a script, not a test): the demo evidence scanned in this process and on a
local Ray instance with two single-thread workers, at equal settings.

    python tests/benchmarks/bench_scan.py [--starts 2] [--steps 100] [--batch-size 2] [--cpus 2] [--threads 1]

Prints images per second of each, their ratio, the one-time start-up costs, and the
pipeline overhead per image (intake, transfer to the workers, storing results), measured
with one optimisation step so the attribution itself costs next to nothing.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the lfp command sets it, before torch loads
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lfp_desktop.config import Settings  # noqa: E402
from lfp_desktop.scan import open_scan_case, read_model, run_scan, scan_options  # noqa: E402


def scan(executor, model, folder: Path, root: Path, name: str, options) -> tuple[float, int]:  # noqa: ANN001
    """(wall seconds, images analysed) of one scan into a new case."""
    with open_scan_case(str(root / name), analyst="bench") as case:
        t0 = time.perf_counter()
        report = run_scan([folder], case=case, model=model, executor=executor, options=options, actor="bench")
        wall = time.perf_counter() - t0
    assert report.summary.errors == 0, report.summary.text()
    return wall, report.progress.analysed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance (= its workers)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the in-process scan (each Ray worker has one)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)

    from lfp_desktop.demo.workspace import build_demo_workspace
    from lfp_desktop.scan.cluster import RayExecutor, ray_connection
    from lfp_desktop.scan.local import LocalExecutor

    print(f"scan benchmark: {args.starts} starts × {args.steps} steps, batches of {args.batch_size}, "
          f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    full = scan_options(Settings(starts=args.starts, steps=args.steps, early_stopping=False), batch_size=args.batch_size)
    tiny = scan_options(Settings(starts=1, steps=1, early_stopping=False), batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = build_demo_workspace(root / "demo")
        folder = ws.evidence_dir
        model = read_model(ws.registry_path, ws.checkpoint_path)
        results = {}
        t0 = time.perf_counter()
        with LocalExecutor(model, "cpu") as local:
            print(f"in-process worker start (model load):  {time.perf_counter() - t0:6.2f} s")
            results["in-process, overhead"] = scan(local, model, folder, root, "local-tiny", tiny)
            results["in-process"] = scan(local, model, folder, root, "local-full", full)
        t0 = time.perf_counter()
        with ray_connection("local", num_cpus=args.cpus):
            t1 = time.perf_counter()
            with RayExecutor(model) as ray_ex:
                t2 = time.perf_counter()
                print(f"Ray start: {t1 - t0:6.2f} s; {len(ray_ex.workers())} workers start: {t2 - t1:6.2f} s")
                results["Ray, overhead"] = scan(ray_ex, model, folder, root, "ray-tiny", tiny)
                results["Ray"] = scan(ray_ex, model, folder, root, "ray-full", full)
    for name, (wall, n) in results.items():
        print(f"{name:22s} {n:3d} images in {wall:7.2f} s: {n / wall:7.3f} images/s, {wall / n * 1000:8.1f} ms/image")
    ratio = (results["Ray"][1] / results["Ray"][0]) / (results["in-process"][1] / results["in-process"][0])
    print(f"throughput Ray ({args.cpus} workers) / in-process: {ratio:.2f}")
    for name in ("in-process", "Ray"):
        wall, n = results[f"{name}, overhead"]
        print(f"pipeline overhead per image ({name}, 1 step): {wall / n * 1000:.1f} ms")


if __name__ == "__main__":
    main()
