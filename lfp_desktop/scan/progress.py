"""Progress of a scan: counts, throughput and time left, as one line of text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScanProgress:
    """Counts of files (``total`` candidates, ``seen`` looked at so far), images ``pending``
    on workers, batches ``retried`` after a lost worker; ``images_per_second`` counts only
    images analysed in this run (None before the first); ``eta_s`` in seconds or None."""

    total: int
    seen: int
    analysed: int
    skipped: int
    errors: int
    not_analysed: int
    cancelled: int
    pending: int
    retried: int
    workers: int
    elapsed_s: float
    images_per_second: float | None
    eta_s: float | None
    finished: bool = False

    @property
    def done(self) -> int:
        """Files with a final state."""
        return self.analysed + self.skipped + self.errors + self.not_analysed + self.cancelled

    def line(self) -> str:
        """E.g. '37/120 files: 30 analysed, 5 skipped, 2 errors · 2 workers · 1.80 images/s · ETA 0:45'."""
        parts = [f"{n} {label}" for n, label in ((self.analysed, "analysed"), (self.skipped, "skipped"),
                                                 (self.errors, "error" if self.errors == 1 else "errors"),
                                                 (self.not_analysed, "not analysed"), (self.cancelled, "cancelled"),
                                                 (self.pending, "in progress")) if n]
        text = f"{self.done}/{self.total} files: {', '.join(parts) or 'starting'} · {self.workers} worker(s)"
        if self.retried:
            text += f" · {self.retried} batch(es) retried"
        if self.images_per_second:
            text += f" · {self.images_per_second:.3g} images/s"
        if self.finished:
            return text + f" · took {duration(self.elapsed_s)}"
        return text + (f" · ETA {duration(self.eta_s)}" if self.eta_s is not None else "")


def duration(seconds: float) -> str:
    """'0:45', '12:03' or '3:04:05' (hours:minutes:seconds)."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
