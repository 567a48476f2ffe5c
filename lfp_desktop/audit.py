"""Audited SQLite stores: one file, ordered schema migrations and an append-only hash chain.

The key registry and every case are such stores. Each change runs in one transaction that
also appends an :class:`AuditEntry`; entry ``n`` carries the SHA-256 of entry ``n-1``, so
editing, removing or reordering an entry breaks the chain at a point :meth:`verify_chain`
names.

Entry hash (hex SHA-256) = SHA-256 of the UTF-8 JSON array
``[seq, utc, local_time, actor, action, object, details, prev_hash]`` written with
``separators=(",", ":")`` and ``ensure_ascii=False``, where ``details`` is the stored JSON
text of the details object (keys sorted) and ``prev_hash`` of entry 1 is 64 zeros.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lfp_desktop import __version__
from lfp_desktop.errors import LFPError

GENESIS_HASH = "0" * 64
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000

Migration = Sequence[str] | Callable[[sqlite3.Connection], None]

_AUDIT_SCHEMA = (
    """CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        utc TEXT NOT NULL,
        local_time TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        object TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        entry_hash TEXT NOT NULL)""",
    "CREATE INDEX audit_object ON audit(object)",
    # Guards against accidental edits; a deliberate edit still shows up in verify_chain().
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
)


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain; ``details`` is the decoded JSON object."""

    seq: int
    utc: str
    local_time: str
    actor: str
    action: str
    object: str
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class StoreKind:
    """What kind of store a file must be: its SQLite ``application_id`` and its schema.

    ``migrations[i]`` takes the schema from version ``i`` to ``i + 1`` (SQL statements or a
    function of the connection); the audit table is added before the first migration.
    """

    label: str  # "key registry", "case database": used in messages
    application_id: int
    migrations: tuple[Migration, ...]
    error: type[LFPError]

    @property
    def version(self) -> int:
        return len(self.migrations)


# SQLite application_id of each kind of LFP file ("LFPR", "LFPC"), so that opening a file as
# the wrong kind can say what it is.
REGISTRY_APPLICATION_ID = 0x4C465052
CASE_APPLICATION_ID = 0x4C465043
KNOWN_APPLICATION_IDS: dict[int, str] = {REGISTRY_APPLICATION_ID: "key registry",
                                         CASE_APPLICATION_ID: "case database"}


def now_stamps() -> tuple[str, str]:
    """(UTC ISO-8601 with 'Z', local ISO-8601 with UTC offset) for the same instant."""
    now = _dt.datetime.now(_dt.timezone.utc)
    utc = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return utc, now.astimezone().isoformat(timespec="seconds")


def entry_hash(seq: int, utc: str, local_time: str, actor: str, action: str, obj: str,
               details_json: str, prev_hash: str) -> str:
    """Hex SHA-256 of one entry, as defined in the module docstring."""
    record = [seq, utc, local_time, actor, action, obj, details_json, prev_hash]
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys (the stored form of details and results)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def default_actor() -> str:
    """The operating-system user name, used when no actor is named."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. in a container)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def check_actor(actor: str, error: type[LFPError]) -> str:
    """The actor name cleaned (see :func:`clean_text`); refuses an empty one: every change
    must say who made it."""
    if not isinstance(actor, str) or not actor.strip():
        raise error("say who is making this change: the actor name must not be empty "
                    "(on the command line: --actor NAME)")
    try:
        return clean_text(actor, "the actor name", required=True, limit=200)
    except ValueError as exc:
        raise error(str(exc)) from None


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: Any, what: str, *, required: bool, limit: int) -> str:
    """Validated free text: NFC, stripped, no control characters; ValueError says why."""
    if not value:
        if required:
            raise ValueError(f"{what} is empty")
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    text = value.strip()
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if required and not text:
        raise ValueError(f"{what} is empty")
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text)} characters long; at most {limit} are allowed")
    if _CONTROL.search(text):
        raise ValueError(f"{what} contains control characters (such as line breaks or tabs)")
    return text


class AuditedDatabase:
    """An open store file. Use :meth:`create` or :meth:`open`, then :meth:`transaction`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, kind: StoreKind, readonly: bool):
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self.kind = kind
        self.readonly = readonly

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], kind: StoreKind, *, actor: str,
               details: dict[str, Any], populate: Callable[[sqlite3.Connection], None]) -> AuditedDatabase:
        """Make a new store at ``path`` atomically (built beside it, then renamed into place).

        ``populate`` fills the fresh schema; the "created" audit entry gets ``details``.
        Refuses to overwrite an existing file.
        """
        path = Path(path)
        if path.exists() or path.is_symlink():
            raise kind.error(f"{path} already exists; choose a new file name (nothing was changed)")
        if not path.parent.is_dir():
            raise kind.error(f"folder {path.parent} does not exist; create it first")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.creating")
        leftovers = (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal"))
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        db = None
        try:
            db = cls(_connect(tmp, readonly=False, create=True), tmp, kind, readonly=False)
            db.conn.execute(f"PRAGMA application_id = {kind.application_id}")
            db._migrate(actor, initial=True)
            with db.transaction() as c:
                populate(c)
                db.append(actor, "created", kind.label, details)
            db.close()  # checkpoints the WAL into the file
            _move_into_place(tmp, path)
        except (sqlite3.Error, OSError) as exc:
            if isinstance(exc, FileExistsError):
                raise kind.error(f"{path} already exists; choose a new file name") from exc
            raise kind.error(f"could not create {path} ({exc})") from exc
        finally:
            if db is not None:
                db.close()
            for leftover in leftovers:
                leftover.unlink(missing_ok=True)
        return cls.open(path, kind)

    @classmethod
    def open(cls, path: str | os.PathLike[str], kind: StoreKind, *, readonly: bool = False) -> AuditedDatabase:
        """Open an existing store; a file of another kind, corrupt or from a newer version is
        refused with ``kind.error`` before anything is written."""
        path = Path(path)
        check_header(path, kind)
        try:
            conn = _connect(path, readonly=readonly, create=False)
        except sqlite3.Error as exc:
            raise kind.error(f"{path} could not be opened as a {kind.label}: it is damaged or unreadable "
                             f"({exc}); restore it from a backup (nothing was changed)") from exc
        db = cls(conn, path, kind, readonly)
        try:
            db._check_openable()
            if db.schema_version() < kind.version:
                db._migrate(f"lfp-desktop {__version__} (automatic upgrade)", initial=False)
        except BaseException:
            db.close()
            raise
        return db

    def _check_openable(self) -> None:
        label, path = self.kind.label, self.path
        try:
            problems = [r[0] for r in self.conn.execute("PRAGMA quick_check").fetchall()]
            version = self.schema_version()
        except sqlite3.DatabaseError as exc:
            raise self.kind.error(f"{path} is a damaged {label} ({exc}); restore it from a backup "
                                  "(nothing was changed)") from exc
        if problems != ["ok"]:
            raise self.kind.error(f"{path} is a damaged {label}: {'; '.join(problems[:3])}; "
                                  "restore it from a backup (nothing was changed)")
        if version > self.kind.version:
            raise self.kind.error(f"{path} was written by a newer LFP Desktop (schema version {version}, "
                                  f"this version reads up to {self.kind.version}); update the application")
        if version < 1:
            raise self.kind.error(f"{path} is not a complete {label} (no schema); it was never finished")

    def _migrate(self, actor: str, *, initial: bool) -> None:
        start = self.schema_version()
        if self.readonly and start < self.kind.version:
            raise self.kind.error(f"{self.path} needs a schema upgrade; open it writable once")
        for version in range(start, self.kind.version):
            with self.transaction() as c:
                if version == 0:
                    for statement in _AUDIT_SCHEMA:
                        c.execute(statement)
                step = self.kind.migrations[version]
                if callable(step):
                    step(c)
                else:
                    for statement in step:
                        c.execute(statement)
                c.execute(f"PRAGMA user_version = {version + 1}")
                if not initial:
                    self.append(actor, "schema_migrated", self.kind.label,
                                {"from_version": version, "to_version": version + 1})

    # -- use -----------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise self.kind.error(f"{self.path} is closed")
        return self._conn

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT); any exception rolls it back."""
        if self.readonly:
            raise self.kind.error(f"{self.path} was opened read-only; open it writable to change it")
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self.kind.error(f"{self.path} is busy or cannot be written ({exc}); "
                                  "close other programs using it and try again") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise self.kind.error(f"could not save the change to {self.path} ({exc}); "
                                  "nothing was changed") from exc
        except BaseException:
            _rollback(conn)
            raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Turn SQLite errors met while reading into ``kind.error``; reads see one snapshot."""
        try:
            yield self.conn
        except sqlite3.DatabaseError as exc:
            raise self.kind.error(f"{self.path} could not be read ({exc}); it may be damaged — "
                                  f"run verify and restore it from a backup") from exc

    def append(self, actor: str, action: str, obj: str, details: dict[str, Any]) -> AuditEntry:
        """Append one chain entry; call inside :meth:`transaction` so it commits with the change."""
        conn = self.conn
        if not conn.in_transaction:
            raise RuntimeError("audit entries are appended inside a transaction")
        actor = check_actor(actor, self.kind.error)
        last = conn.execute("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        utc, local = now_stamps()
        details_json = canonical_json(details)
        digest = entry_hash(seq, utc, local, actor, action, obj, details_json, prev)
        conn.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?)",
                     (seq, utc, local, actor, action, obj, details_json, prev, digest))
        return AuditEntry(seq, utc, local, actor, action, obj, details, prev, digest)

    def entries(self, *, object_prefix: str | None = None) -> list[AuditEntry]:
        """Entries in order; ``object_prefix`` keeps those whose object starts with it."""
        sql, args = "SELECT * FROM audit", ()
        if object_prefix is not None:
            sql, args = sql + " WHERE object = ? OR object LIKE ? ESCAPE '\\'", (
                object_prefix, _like_prefix(object_prefix))
        with self.reading() as conn:
            rows = conn.execute(sql + " ORDER BY seq", args).fetchall()
        return [_entry_from_row(r) for r in rows]

    def verify_chain(self) -> list[str]:
        """Problems with the chain, the first broken entry first; empty when intact."""
        problems: list[str] = []
        prev, expected_seq = GENESIS_HASH, 1
        with self.reading() as conn:
            for row in conn.execute("SELECT * FROM audit ORDER BY seq"):
                seq, utc, local, actor, action, obj, details, prev_hash, digest = row
                where = f"audit entry {seq} ({action} on {obj} by {actor} at {utc})"
                if seq != expected_seq:
                    problems.append(f"{where}: expected entry {expected_seq} here — "
                                    f"{seq - expected_seq} entr(y/ies) missing before it")
                if prev_hash != prev:
                    problems.append(f"{where}: its link to the previous entry is broken "
                                    "(an earlier entry was removed, altered or reordered)")
                if entry_hash(seq, utc, local, actor, action, obj, details, prev_hash) != digest:
                    problems.append(f"{where}: its contents do not match its hash (altered after writing)")
                prev, expected_seq = digest, seq + 1
        return problems

    def head(self) -> tuple[int, str]:
        """(sequence number, hash) of the last entry: quote it to pin the chain in a report."""
        with self.reading() as conn:
            row = conn.execute("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def check_header(path: Path, kind: StoreKind) -> None:
    """Refuse a missing file, a non-SQLite file or an SQLite file of another kind, reading only
    the 100-byte header (SQLite is not involved, so nothing can be written)."""
    label = kind.label
    if not path.exists():
        raise kind.error(f"{path} does not exist; check the path or create a new {label}")
    if not path.is_file():
        raise kind.error(f"{path} is not a file; give the path of a {label} file")
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise kind.error(f"{path} could not be read ({exc.strerror or exc})") from exc
    if not header:
        raise kind.error(f"{path} is empty (0 bytes), not a {label}; it may have been truncated — "
                         "restore it from a backup")
    if not header.startswith(SQLITE_MAGIC) or len(header) < 100:
        raise kind.error(f"{path} is not a {label} (not an SQLite database file)")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id != kind.application_id:
        other = KNOWN_APPLICATION_IDS.get(app_id)
        what = f"an LFP {other}" if other else "an SQLite database of another program"
        raise kind.error(f"{path} is {what}, not a {label}")


def _connect(path: Path, *, readonly: bool, create: bool) -> sqlite3.Connection:
    mode = "ro" if readonly else ("rwc" if create else "rw")
    uri = f"{path.resolve().as_uri()}?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if create:
        conn.execute("PRAGMA journal_mode = WAL")  # persistent in the file
    if not readonly:
        conn.execute("PRAGMA synchronous = FULL")  # a committed change survives power loss
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
        conn.execute("ROLLBACK")


def _move_into_place(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)  # fails if path appeared meanwhile, so never overwrites
    except FileExistsError:
        raise
    except OSError:
        # Some file systems (FAT, exFAT) have no hard links.
        if path.exists():
            raise FileExistsError(str(path)) from None
        os.rename(tmp, path)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def _entry_from_row(row: tuple[Any, ...]) -> AuditEntry:
    seq, utc, local, actor, action, obj, details, prev_hash, digest = row
    try:
        decoded = json.loads(details)
    except ValueError:
        decoded = {"unreadable_details": details}
    return AuditEntry(int(seq), utc, local, actor, action, obj, decoded, prev_hash, digest)
