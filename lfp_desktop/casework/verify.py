"""Case verification: file integrity, custody chain, evidence copies and stored results."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lfp_desktop.audit import AuditedDatabase, AuditEntry
from lfp_desktop.casework.models import EvidenceItem, StoredResult


def verify_case(db: AuditedDatabase, folder: Path, items: list[EvidenceItem],
                results: list[StoredResult]) -> list[str]:
    """Every problem found, the custody chain's first broken entry first; empty when intact."""
    problems = db.verify_chain()
    with db.reading() as conn:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        texts = dict(conn.execute("SELECT id, result_json FROM results").fetchall())
    if integrity != ["ok"]:
        return problems + ["the case database is damaged: " + "; ".join(integrity[:5])]
    entries = db.entries()
    added = {e.details.get("item_id"): e for e in entries if e.action == "evidence_added"}
    stored = {e.details.get("result_id"): e for e in entries if e.action == "result_stored"}
    for item in items:
        problems += _check_item(item, added.pop(item.id, None))
    problems += [f"custody entry {e.seq} records evidence item {iid}, which is missing from the case"
                 for iid, e in added.items()]
    for res in results:
        problems += _check_result(res, texts.get(res.id, ""), stored.pop(res.id, None))
    problems += [f"custody entry {e.seq} records result {rid}, which is missing from the case"
                 for rid, e in stored.items()]
    return problems


def _check_item(item: EvidenceItem, entry: AuditEntry | None) -> list[str]:
    where = f"evidence item {item.id} ({item.original_name})"
    problems = []
    if entry is None:
        problems.append(f"{where} has no 'evidence_added' custody entry")
    elif entry.details.get("sha256") != item.sha256:
        problems.append(f"{where}: its SHA-256 differs from the one in custody entry {entry.seq}; "
                        "the record was altered")
    actual = _file_sha256(item.working_copy)
    if actual is None:
        problems.append(f"{where}: the working copy {item.working_copy.name} is missing")
    elif actual != item.sha256:
        problems.append(f"{where}: the working copy no longer matches the SHA-256 taken at intake; "
                        "it was altered")
    return problems


def _check_result(res: StoredResult, text: str, entry: AuditEntry | None) -> list[str]:
    where = f"result {res.id} (evidence item {res.item_id})"
    problems = []
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != res.result_sha256:
        problems.append(f"{where}: the stored result no longer matches its SHA-256; it was altered")
    if entry is None:
        problems.append(f"{where} has no 'result_stored' custody entry")
    else:
        if entry.details.get("result_sha256") != res.result_sha256:
            problems.append(f"{where}: its SHA-256 differs from custody entry {entry.seq}")
        if entry.details.get("attachments", {}) != res.attachment_sha256:
            problems.append(f"{where}: its attachments differ from custody entry {entry.seq}")
    for name, path in res.attachments.items():
        actual = _file_sha256(path)
        if actual is None:
            problems.append(f"{where}: attachment {name} is missing")
        elif actual != res.attachment_sha256.get(name):
            problems.append(f"{where}: attachment {name} no longer matches its SHA-256; it was altered")
    return problems


def _file_sha256(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None
