"""One case: a folder holding ``case.sqlite``, read-only evidence copies and result files.

Layout::

    <case id>/case.sqlite            items, results, custody chain (audited SQLite)
    <case id>/evidence/<sha256>.<ext>   read-only copy of each evidence file's exact bytes
    <case id>/attachments/<sha256[:16]>-<name>   files stored with results (curves, images)

Files are written (and synced) before the transaction that records them, so a killed
process leaves either the whole record or none of it; an unrecorded file left behind is
harmless and listed by :meth:`Case.unreferenced_files`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from lfp_desktop.audit import AuditedDatabase, AuditEntry, canonical_json, check_actor, now_stamps
from lfp_desktop.casework import intake
from lfp_desktop.casework.models import EvidenceItem, StoredResult
from lfp_desktop.casework.paths import display_path
from lfp_desktop.casework.schema import CASE_KIND
from lfp_desktop.errors import CaseError, EvidenceError

CASE_FILE = "case.sqlite"
EVIDENCE_DIR = "evidence"
ATTACHMENT_DIR = "attachments"
_ATTACHMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ITEM_COLUMNS = ("id, sha256, size_bytes, original_path, original_mtime, format, width, height, mode, "
                 "conversions, exif, frames_note, warnings, working_copy, intake_utc, intake_local, actor")
_ITEM_FIELDS = _ITEM_COLUMNS.split(", ", 1)[1]  # all but the id, which SQLite assigns
_RESULT_COLUMNS = ("id, item_id, created_utc, actor, verdict, user_id, user_name, engine_version, "
                   "checkpoint_sha256, scheme_sha256, registry_digest, result_json, result_sha256, attachments")
_RESULT_FIELDS = _RESULT_COLUMNS.split(", ", 1)[1]


class Case:
    """An open case. Get one from :class:`~lfp_desktop.casework.store.CaseStore`."""

    def __init__(self, db: AuditedDatabase, folder: Path):
        self._db = db
        self.folder = folder
        with db.reading() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        try:
            self.id, self.title, self.analyst = meta["case_id"], meta["title"], meta["analyst"]
            self.notes, self.created_utc = meta["notes"], meta["created_utc"]
        except KeyError as exc:
            raise CaseError(f"{db.path} is a damaged case database (missing {exc}); restore it "
                            "from a backup") from exc

    @classmethod
    def create(cls, folder: Path, *, case_id: str, title: str, analyst: str, notes: str) -> Case:
        """Make the case database in an existing, empty ``folder``."""
        utc, _ = now_stamps()
        meta = {"case_id": case_id, "title": title, "analyst": analyst, "notes": notes, "created_utc": utc}

        def populate(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))

        db = AuditedDatabase.create(folder / CASE_FILE, CASE_KIND, actor=analyst, details=meta,
                                    populate=populate)
        return cls._wrap(db, folder)

    @classmethod
    def open(cls, folder: str | os.PathLike[str], *, readonly: bool = False) -> Case:
        """Open the case in ``folder``; refuses a missing, foreign or damaged database."""
        folder = Path(folder)
        return cls._wrap(AuditedDatabase.open(folder / CASE_FILE, CASE_KIND, readonly=readonly), folder)

    @classmethod
    def _wrap(cls, db: AuditedDatabase, folder: Path) -> Case:
        try:
            return cls(db, folder)
        except BaseException:
            db.close()
            raise

    # -- evidence ------------------------------------------------------------------------
    def add_evidence(self, path: str | os.PathLike[str], actor: str, *,
                     max_pixels: int = intake.DEFAULT_MAX_PIXELS) -> EvidenceItem:
        """Take in one evidence file: read it once (never writing to it), hash it, decode it,
        keep a read-only copy and record it in the custody log.

        The same bytes added again return the existing item with ``duplicate=True`` (and a
        custody entry saying who presented them again, from where). A file that cannot be
        taken in raises EvidenceError after a custody entry records the refusal and why.
        """
        actor = check_actor(actor, CaseError)
        shown = display_path(path)
        try:
            data, st = intake.read_file(path)
        except EvidenceError as exc:
            self._refused(actor, {"path": shown, "reason": str(exc)})
            raise
        digest = hashlib.sha256(data).hexdigest()
        existing = self._item_by_sha(digest)
        if existing is not None:
            with self._db.transaction():
                self._db.append(actor, "evidence_presented_again", f"item/{existing.id}",
                                {"item_id": existing.id, "path": shown, "sha256": digest})
            return _replace_duplicate(existing)
        try:
            image = intake.decode_evidence(data, path=shown, max_pixels=max_pixels)
        except EvidenceError as exc:
            self._refused(actor, {"path": shown, "sha256": digest, "size_bytes": len(data),
                                  "reason": str(exc)})
            raise
        relative = f"{EVIDENCE_DIR}/{digest}{image.suffix}"
        write_once(self.folder / relative, data, digest)
        return self._record_item(image, relative, st, actor)

    def _record_item(self, image: intake.EvidenceImage, relative: str, st: os.stat_result,
                     actor: str) -> EvidenceItem:
        utc, local = now_stamps()
        mtime = _dt.datetime.fromtimestamp(st.st_mtime, _dt.timezone.utc).isoformat().replace("+00:00", "Z")
        row = (image.sha256, image.size_bytes, image.path, mtime, image.format, image.width,
               image.height, image.mode, json.dumps(list(image.conversions), ensure_ascii=False),
               json.dumps(image.exif_summary, ensure_ascii=False), image.frames_note,
               json.dumps(list(image.warnings), ensure_ascii=False), relative, utc, local, actor)
        with self._db.transaction() as conn:
            taken = conn.execute("SELECT id FROM items WHERE sha256 = ?", (image.sha256,)).fetchone()
            if taken:  # another program took the same bytes in since we looked
                item_id = int(taken[0])
                self._db.append(actor, "evidence_presented_again", f"item/{item_id}",
                                {"item_id": item_id, "path": image.path, "sha256": image.sha256})
            else:
                cur = conn.execute(f"INSERT INTO items ({_ITEM_FIELDS}) VALUES ({', '.join('?' * len(row))})", row)
                item_id = int(cur.lastrowid or 0)
                self._db.append(actor, "evidence_added", f"item/{item_id}", {
                    "item_id": item_id, "sha256": image.sha256, "size_bytes": image.size_bytes,
                    "original_path": image.path, "original_mtime": mtime, "format": image.format,
                    "width": image.width, "height": image.height, "mode": image.mode,
                    "conversions": list(image.conversions), "frames_note": image.frames_note,
                    "working_copy": relative})
        item = self.item(item_id)
        return _replace_duplicate(item) if taken else item

    def _refused(self, actor: str, details: dict[str, Any]) -> None:
        if not self._db.readonly:
            with self._db.transaction():
                self._db.append(actor, "evidence_refused", "intake", details)

    def items(self) -> list[EvidenceItem]:
        """Evidence items in intake order."""
        with self._db.reading() as conn:
            rows = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items ORDER BY id").fetchall()
        return [self._to_item(r) for r in rows]

    def item(self, item_id: int) -> EvidenceItem:
        """One item; CaseError when the case has no such item."""
        with self._db.reading() as conn:
            row = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ?", (int(item_id),)).fetchone()
        if row is None:
            raise CaseError(f"case {self.id} has no evidence item {item_id}; 'lfp case show {self.id}' "
                            "lists the items")
        return self._to_item(row)

    def _item_by_sha(self, digest: str) -> EvidenceItem | None:
        with self._db.reading() as conn:
            row = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE sha256 = ?", (digest,)).fetchone()
        return self._to_item(row) if row else None

    def _to_item(self, row: tuple[Any, ...]) -> EvidenceItem:
        (iid, sha, size, orig, mtime, fmt, w, h, mode, conv, exif, frames, warn, copy, utc, local,
         actor) = row
        return EvidenceItem(int(iid), sha, int(size), orig, mtime, fmt, int(w), int(h), mode,
                            tuple(json.loads(conv)), json.loads(exif), frames, tuple(json.loads(warn)),
                            self.folder / copy, utc, local, actor)

    def load_image(self, item_id: int, *, max_pixels: int = intake.DEFAULT_MAX_PIXELS) -> intake.EvidenceImage:
        """Decode an item from its working copy, after checking the copy's SHA-256."""
        item = self.item(item_id)
        try:
            data = item.working_copy.read_bytes()
        except OSError as exc:
            raise CaseError(f"the working copy of item {item_id} is missing or unreadable ({exc}); "
                            f"run 'lfp case verify {self.id}'") from exc
        if hashlib.sha256(data).hexdigest() != item.sha256:
            raise CaseError(f"the working copy of item {item_id} no longer matches its SHA-256; it was "
                            f"altered — run 'lfp case verify {self.id}'")
        return intake.decode_evidence(data, path=item.original_path, max_pixels=max_pixels)

    # -- results -------------------------------------------------------------------------
    def store_result(self, item_id: int, result: Mapping[str, Any], actor: str,
                     attachments: Mapping[str, bytes] | None = None) -> int:
        """Store an attribution result (a JSON-serialisable dict; numpy values are converted)
        with optional attachment files; returns the result id. Attachment names: letters,
        digits, '.', '_', '-' (e.g. 'loss_curves.npy'); their hashes go into the custody entry."""
        actor = check_actor(actor, CaseError)
        item = self.item(item_id)
        text = result_json(result)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        files = self._save_attachments(attachments or {})
        utc, _ = now_stamps()
        with self._db.transaction() as conn:
            cur = conn.execute(
                f"INSERT INTO results ({_RESULT_FIELDS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item.id, utc, actor, _opt_str(result.get("verdict")), _opt_int(result.get("user_id")),
                 _opt_str(result.get("user_name")), _opt_str(result.get("engine_version")),
                 _opt_str(result.get("checkpoint_sha256")), _opt_str(result.get("scheme_sha256")),
                 _opt_str(result.get("registry_digest")), text, digest, canonical_json(files)))
            rid = int(cur.lastrowid or 0)
            self._db.append(actor, "result_stored", f"item/{item.id}/result/{rid}", {
                "result_id": rid, "item_id": item.id, "result_sha256": digest,
                "verdict": _opt_str(result.get("verdict")), "user_id": _opt_int(result.get("user_id")),
                "attachments": {name: f["sha256"] for name, f in files.items()}})
        return rid

    def _save_attachments(self, attachments: Mapping[str, bytes]) -> dict[str, dict[str, Any]]:
        files = {}
        for name, data in attachments.items():
            if not isinstance(name, str) or not _ATTACHMENT_NAME.match(name):
                raise CaseError(f"attachment name {name!r} is not allowed; use letters, digits, '.', "
                                "'_' and '-' (e.g. 'loss_curves.npy')")
            if not isinstance(data, (bytes, bytearray)):
                raise CaseError(f"attachment {name!r} must be bytes, not {type(data).__name__}")
            digest = hashlib.sha256(data).hexdigest()
            relative = f"{ATTACHMENT_DIR}/{digest[:16]}-{name}"
            write_once(self.folder / relative, bytes(data), digest)
            files[name] = {"file": relative, "sha256": digest, "size": len(data)}
        return files

    def results(self, item_id: int | None = None) -> list[StoredResult]:
        """Stored results in order (of one item, or all)."""
        sql, args = f"SELECT {_RESULT_COLUMNS} FROM results", ()
        if item_id is not None:
            sql, args = sql + " WHERE item_id = ?", (int(item_id),)
        with self._db.reading() as conn:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        return [self._to_result(r) for r in rows]

    def latest_result(self, item_id: int) -> StoredResult | None:
        found = self.results(item_id)
        return found[-1] if found else None

    def model_results(self, checkpoint_sha256: str, scheme_sha256: str, registry_digest: str) -> dict[int, dict[str, Any]]:
        """Item id -> headline of its latest result made with exactly this model (checkpoint,
        scheme, registry state): verdict, user_name, model, hamming_distance, key_len, p_value,
        margin. Read without parsing whole records, so a resumed scan of many items stays quick."""
        fields = ("model", "hamming_distance", "key_len", "p_value", "margin")
        extract = ", ".join(f"json_extract(result_json, '$.{f}')" for f in fields)
        with self._db.reading() as conn:
            rows = conn.execute(f"SELECT item_id, verdict, user_name, {extract} FROM results WHERE checkpoint_sha256 = ? "
                                "AND scheme_sha256 = ? AND registry_digest = ? ORDER BY id",
                                (checkpoint_sha256, scheme_sha256, registry_digest)).fetchall()
        return {int(r[0]): dict(zip(("verdict", "user_name") + fields, r[1:])) for r in rows}

    def _to_result(self, row: tuple[Any, ...]) -> StoredResult:
        (rid, item_id, utc, actor, verdict, uid, uname, engine, ckpt, scheme, reg, text, digest,
         files) = row
        files = json.loads(files)
        return StoredResult(int(rid), int(item_id), utc, actor, verdict, uid, uname, engine, ckpt,
                            scheme, reg, json.loads(text), digest,
                            {n: self.folder / f["file"] for n, f in files.items()},
                            {n: f["sha256"] for n, f in files.items()})

    # -- custody -------------------------------------------------------------------------
    def custody(self, item_id: int | None = None) -> list[AuditEntry]:
        """The custody log in order: all of it, or what concerns one item and its results."""
        return self._db.entries(object_prefix=None if item_id is None else f"item/{int(item_id)}")

    def record(self, actor: str, action: str, details: Mapping[str, Any], *,
               item_id: int | None = None) -> AuditEntry:
        """Add a custody entry for another action on the case (e.g. 'report_signed')."""
        if not re.match(r"^[a-z][a-z0-9_]{0,63}$", action):
            raise CaseError(f"action {action!r} must be lower_case_words")
        obj = "case" if item_id is None else f"item/{self.item(item_id).id}"
        try:
            canonical_json(dict(details))
        except (TypeError, ValueError) as exc:
            raise CaseError(f"custody details must be JSON data ({exc})") from exc
        with self._db.transaction():
            return self._db.append(actor, action, obj, dict(details))

    def head(self) -> tuple[int, str]:
        """(number, hash) of the last custody entry; quote it in reports."""
        return self._db.head()

    def verify(self) -> list[str]:
        """Problems found (the custody chain's first broken entry first); empty when intact."""
        from lfp_desktop.casework.verify import verify_case

        return verify_case(self._db, self.folder, self.items(), self.results())

    def unreferenced_files(self) -> list[Path]:
        """Files in the evidence and attachment folders that no record points to (left by an
        interrupted intake or result write; harmless)."""
        used = {it.working_copy for it in self.items()}
        used |= {p for r in self.results() for p in r.attachments.values()}
        found = []
        for sub in (EVIDENCE_DIR, ATTACHMENT_DIR):
            folder = self.folder / sub
            if folder.is_dir():
                found += [p for p in sorted(folder.iterdir()) if p not in used]
        return found

    @property
    def path(self) -> Path:
        return self._db.path

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Case({self.id!r}, {self.title!r})"


def result_json(result: Mapping[str, Any]) -> str:
    """The stored text of a result: canonical JSON, numpy arrays/scalars as lists/numbers."""
    if not isinstance(result, Mapping):
        raise CaseError(f"a result must be a dict, not {type(result).__name__}")
    try:
        return json.dumps(dict(result), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=_plain)
    except (TypeError, ValueError) as exc:
        raise CaseError(f"the result cannot be stored as JSON ({exc})") from exc


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (Path, os.PathLike)):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


def write_once(path: Path, data: bytes, digest: str) -> None:
    """Write ``data`` read-only at ``path`` (tmp file, fsync, rename); an existing file with
    the right hash is kept as it is."""
    if path.exists():
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() == digest:
                return
        except OSError:
            pass
        path.chmod(0o600)  # a damaged leftover of ours: replace it
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CaseError(f"could not write {path} ({exc.strerror or exc}); is the disk full?") from exc


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the file itself is synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace_duplicate(item: EvidenceItem) -> EvidenceItem:
    return replace(item, duplicate=True)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
