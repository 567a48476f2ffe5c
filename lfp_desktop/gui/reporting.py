"""Signed reports from the window: export the selected item's report, verify a report file.
Both run off the interface thread (rendering and signing take a moment)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from lfp_desktop.gui.tasks import BackgroundTask

EXPORT_UNAVAILABLE = ("Report export needs the case-to-report module (lfp_desktop.reports.from_case), "
                      "which this build does not include")


def export_available() -> bool:
    """True when reports can be built from a case in this build."""
    return importlib.util.find_spec("lfp_desktop.reports.from_case") is not None


def export_signed_report(case_id: str, item_id: int | None, out: Path, actor: str) -> Path:
    """Render, sign and write the report of one case item (``item_id`` None: the case summary),
    then record it in the custody log, as ``lfp report export``/``batch`` do. Runs off the
    interface thread. The user already confirmed replacing an existing file."""
    from lfp_desktop.errors import LFPError, ReportError
    from lfp_desktop.reports.export import export_report
    from lfp_desktop.reports.from_case import batch_report_data_from_case, record_report, report_data_from_case
    from lfp_desktop.reports.signing import load_signing_identity

    data = report_data_from_case(case_id, item_id) if item_id is not None else batch_report_data_from_case(case_id)
    identity = load_signing_identity()
    written = export_report(data, out, identity=identity, overwrite=True)
    try:
        record_report(case_id, written, identity.fingerprint, actor, item_id=item_id)
    except LFPError as exc:
        raise ReportError(f"the report {written} was written, but recording it in the custody log "
                          f"failed ({exc})") from exc
    return written


def verification_text(result: Any) -> str:
    """Plain-text account of a VerificationResult."""
    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    lines = [result.summary, "", f"Intact: {yes(result.intact)}", f"Valid signature: {yes(result.valid)}",
             f"Unchanged since signing: {yes(result.whole_file)}", f"Signer: {result.signer_subject or '-'}",
             f"Certificate SHA-256: {result.cert_sha256 or '-'}"]
    lines += [f"Problem: {p}" for p in result.problems]
    m = result.manifest or {}
    res, ev = m.get("result", {}), m.get("evidence", {})
    if res:
        lines += ["", f"Verdict: {res.get('verdict')}  user: {res.get('user_name') or '-'}",
                  f"Evidence: {ev.get('file_name', '-')} (SHA-256 {ev.get('sha256', '-')})"]
    return "\n".join(lines)


class ReportActions(QObject):
    """Runs the two report actions for a window and shows their outcome in message boxes."""

    exported = Signal(object)  # item id, or None for a case summary

    def __init__(self, parent: QWidget, log: Any, actor: str):
        super().__init__(parent)
        self.window, self.log, self.actor = parent, log, actor
        self.tasks: list[BackgroundTask] = []

    def export(self, case_id: str, item_id: int | None, suggested: str) -> None:
        """Ask where to save, then export in the background (item_id None: case summary)."""
        title = "Export signed report" if item_id is not None else "Export signed case summary"
        path, _ = QFileDialog.getSaveFileName(self.window, title, suggested, "PDF files (*.pdf)")
        if not path:
            return
        task = BackgroundTask(lambda: export_signed_report(case_id, item_id, Path(path), self.actor), self,
                              "lfp-report")
        task.succeeded.connect(lambda out: self._exported(item_id, out))
        task.failed.connect(lambda msg: self._warn("Report not exported", msg))
        self._start(task)

    def _exported(self, item_id: int | None, out: Path) -> None:
        self.exported.emit(item_id)
        self._info("Report exported", f"Signed report written to {out} and recorded in the custody log.")

    def verify(self, start_dir: str = "") -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Verify report", start_dir, "PDF files (*.pdf)")
        if not path:
            return
        from lfp_desktop.reports.verify import verify_report

        task = BackgroundTask(lambda: verify_report(Path(path)), self, "lfp-verify")
        task.succeeded.connect(lambda r: (self._info if r.ok else self._warn)("Report verification",
                                                                               verification_text(r)))
        task.failed.connect(lambda msg: self._warn("Report verification", msg))
        self._start(task)

    def _start(self, task: BackgroundTask) -> None:
        self.tasks.append(task)
        task.finished.connect(lambda: self.tasks.remove(task) if task in self.tasks else None)
        task.start()

    def _info(self, title: str, text: str) -> None:
        self.log("info", text.splitlines()[0])
        QMessageBox.information(self.window, title, text)

    def _warn(self, title: str, text: str) -> None:
        self.log("warning", f"{title}: {text.splitlines()[0]}")
        QMessageBox.warning(self.window, title, text)
