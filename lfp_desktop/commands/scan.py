"""``lfp scan``: scan evidence folders into a case, in this process or on a Ray cluster."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from lfp_desktop.engine.settings import STATISTICS
from lfp_desktop.errors import LFPError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="scan evidence folders into a case (optionally on a Ray cluster)",
                       description="Take every image of the folders into a case and attribute it, in batches. "
                                   "Results are stored as they come; run the same command again to resume "
                                   "(files already analysed by this model, found by SHA-256, are skipped). "
                                   "Ctrl-C cancels cleanly; press it twice to stop at once.")
    p.add_argument("folders", nargs="+", type=Path, metavar="FOLDER", help="evidence folders (or files)")
    p.add_argument("--registry", type=Path, required=True, help="key registry (.lfpreg) with the scheme and keys")
    p.add_argument("--checkpoint", type=Path, required=True, help="generator checkpoint (.pt or .pkl)")
    p.add_argument("--scheme", type=Path, default=None, help="scheme file to check against the registry's own")
    p.add_argument("--out", required=True, metavar="CASE",
                   help="case id in the case folder (see --root), or a case folder path; created when new")
    p.add_argument("--cluster", metavar="ADDRESS|local", default=None,
                   help="run on Ray: 'local' starts Ray on this computer; HOST:6379 or ray://HOST:10001 joins a "
                        "running cluster (needs pip install \"lfp-desktop[cluster]\"); default: this process")
    _add_scan_options(p)
    p.set_defaults(handler=_scan)


def _add_scan_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scan", "defaults come from the desktop app's settings")
    g.add_argument("--root", type=Path, default=None, help="case folder (default: the LFP data folder)")
    g.add_argument("--title", default="", help="title of a new case")
    g.add_argument("--actor", default=None, help="who runs the scan (default: the OS user name)")
    g.add_argument("--no-recursive", action="store_true", help="do not look into subfolders")
    g.add_argument("--types", default="", help="file types to take in, e.g. '*.png *.jpg' (default: all images)")
    g.add_argument("--batch-size", type=int, default=None, help="images per batch (default: images per job)")
    g.add_argument("--csv", type=Path, default=None, help="also write one CSV row per file here")
    g.add_argument("--device", default=None, help="device of an in-process scan: auto, cpu, cuda, cuda:N")
    g.add_argument("--workers", type=int, default=None,
                   help="Ray workers (default: one per GPU, else one per --cpus-per-worker CPUs)")
    g.add_argument("--cpus-per-worker", type=int, default=1, help="CPU threads of each Ray CPU worker (default 1)")
    g.add_argument("--local-cpus", type=int, default=None, help="CPUs a '--cluster local' Ray may use")
    a = p.add_argument_group("attribution", "defaults come from the desktop app's settings")
    a.add_argument("--starts", type=int, default=None)
    a.add_argument("--steps", type=int, default=None)
    a.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=None)
    a.add_argument("--blur-radius", type=int, default=None, metavar="R",
                   help="fit a blur of up to R pixels in front of the loss (0 = off)")
    a.add_argument("--jpeg-model", action=argparse.BooleanOptionalAction, default=None,
                   help="compare JPEG evidence through the file's quantisation grid (with early stopping)")
    a.add_argument("--seed", type=int, default=None)
    a.add_argument("--fpr", type=float, default=None, help="target false-attribution probability")
    a.add_argument("--statistic", choices=STATISTICS, default=None,
                   help="key comparison: differing bits (hamming) or bits weighted by their confidence")


def _scan(args: argparse.Namespace) -> int:
    from lfp_desktop.audit import default_actor
    from lfp_desktop.scan import open_scan_case, read_model, run_scan, scan_options
    from lfp_desktop.scan.files import parse_types

    settings = _settings(args)
    extra = {} if args.seed is None else {"seed": args.seed}
    options = scan_options(settings, batch_size=args.batch_size, **extra)
    missing = [str(f) for f in args.folders if not f.exists()]
    if missing:
        raise LFPError(f"{', '.join(missing)} does not exist; name the evidence folders to scan")
    model = read_model(args.registry, args.checkpoint, args.scheme)
    actor = args.actor or default_actor()
    console = Console(sys.stderr)
    with contextlib.ExitStack() as stack:
        executor = _executor(stack, args, model, settings.device)
        console.note(f"scanning on {executor.target}")
        case = stack.enter_context(open_scan_case(args.out, root=args.root, analyst=actor,
                                                  title=args.title or f"Scan of {args.folders[0]}"))
        cancel = stack.enter_context(_ctrl_c_cancels(console))
        report = run_scan(args.folders, case=case, model=model, executor=executor, options=options, actor=actor,
                          recursive=not args.no_recursive, suffixes=parse_types(args.types),
                          cancel=cancel, on_progress=console.progress, on_item=console.item)
    console.done()
    print(f"case {report.case_id} ({report.case_folder}): {report.summary.text()}")
    if report.cancelled:
        print(f"cancelled: {report.not_reached} file(s) not reached; run the same command again to resume")
    if args.csv:
        print(f"CSV written to {report.write_csv(args.csv)}")
    return 130 if report.cancelled else 0


def _settings(args: argparse.Namespace) -> Any:
    from lfp_desktop.config import load_settings

    changes = {k: v for k, v in (("starts", args.starts), ("steps", args.steps), ("target_fpr", args.fpr),
                                 ("early_stopping", args.early_stopping), ("device", args.device),
                                 ("blur_radius", args.blur_radius), ("statistic", args.statistic),
                                 ("jpeg_model", args.jpeg_model)) if v is not None}
    settings = dataclasses.replace(load_settings(), **changes)
    settings.validate()
    return settings


def _executor(stack: contextlib.ExitStack, args: argparse.Namespace, model: Any, device: str) -> Any:
    if args.cluster is None:
        from lfp_desktop.scan.local import LocalExecutor

        return stack.enter_context(LocalExecutor(model, device))
    from lfp_desktop.scan.cluster import RayExecutor, ray_connection

    stack.enter_context(ray_connection(args.cluster, num_cpus=args.local_cpus))
    return stack.enter_context(RayExecutor(model, workers=args.workers, cpus_per_worker=args.cpus_per_worker))


@contextlib.contextmanager
def _ctrl_c_cancels(console: "Console") -> Iterator[threading.Event]:
    """The first Ctrl-C cancels the scan cleanly; a second one interrupts at once."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        console.note("cancelling: stopping the workers and storing what has finished (Ctrl-C again stops at once)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


class Console:
    """Progress on one line rewritten in place on a terminal, a line every 10 s elsewhere;
    errors and notes on lines of their own."""

    def __init__(self, stream: TextIO):
        self.stream, self.tty = stream, stream.isatty()
        self._shown = ""
        self._last = 0.0

    def progress(self, p: Any) -> None:
        now = time.monotonic()
        if self.tty:
            self._write("\r" + p.line().ljust(len(self._shown)))
            self._shown = p.line()
        elif now - self._last >= 10 or p.finished:
            self._write(p.line() + "\n")
            self._last = now

    def item(self, it: Any) -> None:
        if it.state == "error":
            self.note(f"ERROR {it.shown}: {it.error}")

    def note(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")

    def done(self) -> None:
        if self.tty and self._shown:
            self._write("\n")
            self._shown = ""

    def _clear(self) -> None:
        if self.tty and self._shown:
            self._write("\r" + " " * len(self._shown) + "\r")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
