"""Registry benchmark (a script, not a test): enrol many users, open and load the keys, look up
the nearest key per decoded image.

    python tests/benchmarks/bench_registry.py [--users 1000000] [--key-len 64]

Targets (issue 5, two CPU cores): enrol 1 M users ≤ 60 s; open + load all keys ≤ 2 s;
nearest-key lookup ≤ 50 ms per image.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lfp_desktop.registry import Registry, default_min_distance  # noqa: E402


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> str:
    wall, cpu = clock()
    return f"{wall - start[0]:7.2f} s wall, {cpu - start[1]:7.2f} s CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--key-len", type=int, default=64)
    parser.add_argument("--min-distance", type=int, default=None)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--flips", type=int, default=6, help="wrong bits in each decoded key")
    args = parser.parse_args()
    min_distance = default_min_distance(args.key_len) if args.min_distance is None else args.min_distance
    print(f"registry benchmark: {args.users:,} users, {args.key_len}-bit keys, minimum distance "
          f"{min_distance}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.lfpreg"
        names = [f"user-{i:07d}" for i in range(args.users)]
        start = clock()
        with Registry.create(path, scheme_bytes=os.urandom(2_000_000), scheme_name="bench",
                             key_len=args.key_len, actor="bench", min_distance=min_distance) as reg:
            reg.enroll_many(names, actor="bench")
        print(f"enrol {args.users:,} users:            {since(start)}  (target ≤ 60 s)")
        print(f"registry file size:              {path.stat().st_size / 2**20:7.1f} MiB")

        start = clock()
        with Registry.open(path, readonly=True) as reg:
            keys = reg.load_keys()
        print(f"open + load all keys:            {since(start)}  (target ≤ 2 s)")

        rng = np.random.default_rng(0)
        times = []
        hits = 0
        for _ in range(args.lookups):
            row = int(rng.integers(len(keys)))
            bits = np.unpackbits(keys.packed[row], count=args.key_len)
            bits[rng.choice(args.key_len, args.flips, replace=False)] ^= 1
            t0 = time.perf_counter()
            found = keys.nearest(keys.pack(bits), 2)
            times.append((time.perf_counter() - t0) * 1000)
            hits += found[0][0] == int(keys.user_ids[row])
        print(f"nearest key (+runner-up) lookup: median {statistics.median(times):6.1f} ms, "
              f"max {max(times):6.1f} ms over {args.lookups}  (target ≤ 50 ms); "
              f"{hits}/{args.lookups} found the right user with {args.flips} wrong bits")

        start = clock()
        with Registry.open(path) as reg:
            reg.enroll("one more", actor="bench")
        print(f"open + enrol 1 more user:        {since(start)}")
        start = clock()
        with Registry.open(path, readonly=True) as reg:
            problems = reg.verify()
        print(f"verify (chain, rows, snapshot):  {since(start)}  -> {len(problems)} problem(s)")


if __name__ == "__main__":
    main()
