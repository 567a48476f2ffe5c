"""Benchmark one attribution step through the generator: forward + backward to w.

Each case runs in a fresh Python process so its peak resident memory is its own. The step
is the one attribution repeats thousands of times: a frozen generator, w (B, style_dim)
with requires_grad, synthesis with the stored noise, an MSE loss against a fixed target,
and the gradient with respect to w.

Usage (from the repository root):

    python tests/benchmarks/bench_generator.py                      # 256 px cm=2 random, batch 1
    python tests/benchmarks/bench_generator.py --batch 1 20         # also batch 20 (11-15 GB on CPU)
    python tests/benchmarks/bench_generator.py --checkpoint g.pt    # adds the given checkpoint
    python tests/benchmarks/bench_generator.py --json               # machine-readable output

Figures: seconds per step (median over --steps after --warmup), peak RSS in GB of the
whole process (model + activations), and on CUDA the peak allocated device memory.
On a machine busy with other work, OpenMP threads that spin while waiting slow every op
down; compare --threads 1 or OMP_WAIT_POLICY=PASSIVE in the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _peak_rss_gb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / 1e9 if sys.platform == "darwin" else peak * 1024 / 1e9


def _build(case: dict[str, Any]):
    import torch

    from lfp_desktop.engine.checkpoint import load_generator
    from lfp_desktop.engine.stylegan2 import Generator, GeneratorConfig

    if case["checkpoint"]:
        return load_generator(case["checkpoint"], device=case["device"])
    torch.manual_seed(0)
    config = GeneratorConfig.from_multiplier(case["size"], style_dim=512, n_mlp=8,
                                             channel_multiplier=case["cm"])
    return Generator(config).eval().requires_grad_(False).to(case["device"])


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Time the step in this process; returns the figures as a dict."""
    import torch

    if case["threads"]:
        torch.set_num_threads(case["threads"])
    sys.path.insert(0, str(REPO))
    gen = _build(case)
    device = gen.device
    gen_rss = _peak_rss_gb()
    batch = case["batch"]
    z = torch.randn(batch, gen.config.style_dim, generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        w0 = gen.mapping(z)
        target = gen.synthesis(gen.mapping(torch.randn_like(z)))
    w = w0.clone().requires_grad_(True)
    times = []
    for i in range(case["warmup"] + case["steps"]):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = (gen.synthesis(w) - target).square().mean()
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        assert w.grad is not None and torch.isfinite(w.grad).all()
        w.grad = None
        if i >= case["warmup"]:
            times.append(elapsed)
    result = {
        "case": case["name"], "size": gen.config.size, "channels": list(gen.config.channels),
        "params_m": sum(p.numel() for p in gen.parameters()) / 1e6, "batch": batch,
        "device": str(device), "threads": torch.get_num_threads(),
        "s_per_step": statistics.median(times), "s_per_step_min": min(times),
        "steps": len(times), "rss_after_load_gb": gen_rss, "peak_rss_gb": _peak_rss_gb(),
    }
    if device.type == "cuda":
        result["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 1e9
    return result


def _run_in_subprocess(case: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(case)],
                          capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        return {"case": case["name"], "batch": case["batch"], "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _print_header() -> None:
    print(f"{'case':28s} {'batch':>5s} {'params':>8s} {'thr':>4s} {'s/step':>8s} {'min':>8s} "
          f"{'RSS load':>9s} {'RSS peak':>9s}", flush=True)


def _print_row(r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"{r['case']:28s} {r['batch']:5d}  failed: {' '.join(r['error'])}", flush=True)
        return
    extra = f"  cuda peak {r['peak_cuda_gb']:.2f} GB" if "peak_cuda_gb" in r else ""
    print(f"{r['case']:28s} {r['batch']:5d} {r['params_m']:7.1f}M {r['threads']:4d} "
          f"{r['s_per_step']:8.3f} {r['s_per_step_min']:8.3f} {r['rss_after_load_gb']:7.2f}GB "
          f"{r['peak_rss_gb']:7.2f}GB{extra}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="also benchmark this .pt/.pkl generator")
    parser.add_argument("--skip-random", action="store_true", help="only the --checkpoint cases")
    parser.add_argument("--size", type=int, default=256, help="random generator size (px)")
    parser.add_argument("--cm", type=int, default=2, help="random generator channel multiplier")
    parser.add_argument("--batch", type=int, nargs="+", default=[1], help="batch sizes to run")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per case")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_case(json.loads(args.worker))))
        return 0

    common = {"steps": args.steps, "warmup": args.warmup, "threads": args.threads,
              "device": args.device, "size": args.size, "cm": args.cm}
    cases = []
    for batch in args.batch:
        if not args.skip_random:
            cases.append({**common, "name": f"random {args.size}px cm={args.cm}", "checkpoint": None,
                          "batch": batch})
        if args.checkpoint:
            cases.append({**common, "name": args.checkpoint.name[:28], "batch": batch,
                          "checkpoint": str(args.checkpoint.resolve())})
    # Other processes on the machine change these figures a lot; say how busy it was.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if not args.json:
        print(f"{os.cpu_count()} CPUs, 1-min load average {load:.1f} at start", flush=True)
        _print_header()
    results = []
    for case in cases:
        results.append({**_run_in_subprocess(case), "load_avg_at_start": load})
        if not args.json:
            _print_row(results[-1])
    if args.json:
        print(json.dumps(results, indent=2))
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
