"""What a finished scan amounts to: counts per verdict and user, and one CSV row per file."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

CSV_COLUMNS = ("file", "sha256", "state", "verdict", "user", "model", "hamming_distance", "key_len",
               "p_value", "margin", "error")
# Row states: 'queued' and 'running' while pending, then one of FINAL_STATES.
FINAL_STATES = ("analysed", "skipped", "error", "cancelled", "not analysed")


def scan_user(verdict: str | None, user_name: str | None) -> str:
    """The user a scan row names: the attributed or nearest-but-inconclusive user; none for
    NO MATCH (the nearest key is then as close as chance)."""
    return (user_name or "") if verdict in ("ATTRIBUTED", "INCONCLUSIVE") else ""


@dataclass
class ScanSummary:
    """Counts of a scan: ``per_user`` ATTRIBUTED rows per user name."""

    total: int = 0
    per_user: Counter = field(default_factory=Counter)
    inconclusive: int = 0
    no_match: int = 0
    errors: int = 0
    cancelled: int = 0
    not_analysed: int = 0
    skipped: int = 0

    def add(self, state: str, verdict: str | None, user_name: str | None) -> None:
        """Count one row: its state (see FINAL_STATES) and its best verdict, if any."""
        self.total += 1
        if state == "error":
            self.errors += 1
        elif state == "cancelled":
            self.cancelled += 1
        elif not verdict:
            self.not_analysed += 1
        elif verdict == "ATTRIBUTED":
            self.per_user[user_name or ""] += 1
        elif verdict == "INCONCLUSIVE":
            self.inconclusive += 1
        else:
            self.no_match += 1
        self.skipped += state == "skipped"

    def html(self, most_users: int = 30) -> str:
        """The summary as two short lines of rich text."""
        users = sorted(self.per_user.items())
        named = ", ".join(f"{escape(u)}&nbsp;({n})" for u, n in users[:most_users])
        if len(users) > most_users:
            named += f" and {len(users) - most_users} more users"
        parts = [f"<b>Attributed {sum(self.per_user.values())}</b>" + (f": {named}" if named else ""),
                 f"<b>Inconclusive {self.inconclusive}</b>", f"<b>No match {self.no_match}</b>",
                 f"<b>Errors {self.errors}</b>"]
        parts += [f"<b>{k} {v}</b>" for k, v in (("Cancelled", self.cancelled), ("Not analysed", self.not_analysed)) if v]
        note = f"<br>{self.skipped} file(s) had been analysed before (same SHA-256 and model) and were skipped." \
            if self.skipped else ""
        return f"{self.total} file(s) — " + " · ".join(parts) + note

    def text(self) -> str:
        users = ", ".join(f"{u}: {n}" for u, n in sorted(self.per_user.items())) or "none"
        return (f"{self.total} file(s): attributed {sum(self.per_user.values())} ({users}); "
                f"inconclusive {self.inconclusive}; no match {self.no_match}; errors {self.errors}"
                + (f"; cancelled {self.cancelled}" if self.cancelled else "")
                + (f"; not analysed {self.not_analysed}" if self.not_analysed else "")
                + (f" — {self.skipped} already analysed before, skipped" if self.skipped else ""))


def write_csv(rows: Iterable[Mapping[str, object]], path: str | Path) -> Path:
    """Write rows (dicts with the CSV_COLUMNS keys) as UTF-8 CSV with a header row."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)
