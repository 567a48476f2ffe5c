"""Import and export of users as CSV or JSON, validated row by row.

CSV: a header row, then one user per row. Columns (case-insensitive): ``name`` and ``key``
(required), ``contact``, ``external_ref``, ``revoked_utc``, ``revoked_reason`` (optional);
``id`` and ``created_utc`` are written by export and ignored by import (the registry gives
ids and stamps the import time). JSON: ``{"users": [{...}, ...]}`` with the same fields, or a
bare list. Keys are their 0/1 text form. Problems are reported by CSV line or JSON entry.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lfp_desktop.errors import RegistryError
from lfp_desktop.registry.keys import close_pairs, parse_key_string
from lfp_desktop.registry.models import MAX_NAME_CHARS, MAX_TEXT_CHARS, User, clean_text

EXPORT_FORMAT = "lfp-registry-export"
EXPORT_VERSION = 1
CSV_COLUMNS = ("id", "name", "contact", "external_ref", "key", "created_utc", "revoked_utc",
               "revoked_reason")
MAX_IMPORT_BYTES = 1 << 30
MAX_SHOWN_PROBLEMS = 25


@dataclass(frozen=True)
class ImportRow:
    """One validated user from a file; ``where`` is 'line N' or 'entry N'."""

    where: str
    order: int  # position in the file, for sorting problems
    name: str
    contact: str
    external_ref: str
    key: bytes
    revoked_utc: str | None
    revoked_reason: str


def read_import_file(path: str | os.PathLike[str], key_len: int) -> tuple[list[ImportRow], list[tuple[int, str]], str]:
    """(valid rows, [(position, problem)] of the other rows, the file's SHA-256); a file that
    cannot be read as a whole raises RegistryError."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise RegistryError(f"{path} is larger than 1 GiB; split it into smaller files")
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"{path} could not be read ({exc.strerror or exc})") from exc
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RegistryError(f"{path}: line {line} is not UTF-8 text; save the file as UTF-8 "
                            "(nothing was imported)") from exc
    if _looks_json(path, text):
        records, problems = _json_records(text, path)
    else:
        records, problems = _csv_records(text, path)
    rows: list[ImportRow] = []
    for order, (where, record) in enumerate(records):
        try:
            rows.append(_row(where, order, record, key_len))
        except ValueError as exc:
            problems.append((order, f"{where}: {exc}"))
    if not records and not problems:
        raise RegistryError(f"{path}: the file holds no users; nothing was imported")
    return rows, problems, digest


def find_conflicts(rows: Sequence[ImportRow], existing: Sequence[tuple[int, str]],
                   existing_keys: np.ndarray, key_len: int, min_distance: int) -> list[tuple[int, str]]:
    """Duplicate names and keys, and keys closer than ``min_distance`` bits, between the rows
    and against registered users ``existing`` [(id, name)] with packed keys (N, B), as
    [(position in the file, problem)]."""
    found = _name_conflicts([r.name for r in rows], existing, lambda i: rows[i].where)
    found += _key_conflicts(rows, existing, existing_keys, key_len, min_distance)
    return [(rows[i].order, text) for i, text in found]


def name_conflicts(names: Sequence[str], existing: Sequence[tuple[int, str]],
                   label: Callable[[int], str]) -> list[str]:
    """Names used twice (ignoring case) among ``names`` or by registered users; ``label(i)``
    names row i in messages."""
    return [text for _, text in _name_conflicts(names, existing, label)]


def _name_conflicts(names: Sequence[str], existing: Sequence[tuple[int, str]],
                    label: Callable[[int], str]) -> list[tuple[int, str]]:
    # values: row index in `names`, or -1 - position in `existing`
    taken = {name.casefold(): -1 - j for j, (_, name) in enumerate(existing)}
    found = []
    for i, name in enumerate(names):
        other = taken.setdefault(name.casefold(), i)
        if other != i:
            where = label(other) if other >= 0 else "registered user {} ({})".format(*existing[-1 - other])
            found.append((i, f"{label(i)}: the name {name!r} is already used by {where}"))
    return found


def _key_conflicts(rows: Sequence[ImportRow], existing: Sequence[tuple[int, str]],
                   existing_keys: np.ndarray, key_len: int, min_distance: int) -> list[tuple[int, str]]:
    if not rows:
        return []
    new = np.frombuffer(b"".join(r.key for r in rows), np.uint8).reshape(len(rows), -1)
    pairs = close_pairs(new, existing_keys, key_len, max(min_distance, 1))
    found, seen = [], set()
    for i, j, d in zip(pairs.new_index.tolist(), pairs.other_index.tolist(), pairs.distance.tolist()):
        if i in seen:
            continue  # one message per row is enough
        seen.add(i)
        other = (f"registered user {existing[j][0]} ({existing[j][1]})" if j < len(existing)
                 else rows[j - len(existing)].where)
        if d == 0:
            text = f"{rows[i].where}: the key is the same as the key of {other}"
        else:
            text = (f"{rows[i].where}: the key is only {d} bit(s) from the key of {other}; this "
                    f"registry keeps keys at least {min_distance} bits apart (create the registry "
                    f"with a lower --min-distance to accept such keys)")
        found.append((i, text))
    return found


def raise_problems(path: Path | str, found: list[tuple[int, str]]) -> None:
    """RegistryError listing up to 25 problems in file order, when there are any."""
    if not found:
        return
    problems = [text for _, text in sorted(found, key=lambda p: p[0])]
    shown = "\n  ".join(problems[:MAX_SHOWN_PROBLEMS])
    more = f"\n  … and {len(problems) - MAX_SHOWN_PROBLEMS} more" if len(problems) > MAX_SHOWN_PROBLEMS else ""
    raise RegistryError(f"{path}: {len(problems)} problem(s), nothing was imported; fix them and "
                        f"import again:\n  {shown}{more}")


def write_export(path: str | os.PathLike[str], users: Sequence[User], header: dict[str, Any]) -> int:
    """Write users to ``path`` (.json: JSON with ``header``; otherwise CSV) atomically;
    returns the number of users written."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        body = json.dumps({"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION, **header,
                           "users": [u.to_dict() for u in users]}, indent=1, ensure_ascii=False)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(u.to_dict() for u in users)
        body = buf.getvalue()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # keys are secrets: the export is readable by its owner only
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(body)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RegistryError(f"could not write {path} ({exc.strerror or exc})") from exc
    return len(users)


def _looks_json(path: Path, text: str) -> bool:
    if path.suffix.lower() == ".json":
        return True
    if path.suffix.lower() == ".csv":
        return False
    return text.lstrip()[:1] in ("{", "[")


def _json_records(text: str, path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[int, str]]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise RegistryError(f"{path} is not valid JSON ({exc}); nothing was imported") from exc
    users = doc.get("users") if isinstance(doc, dict) else doc
    if not isinstance(users, list):
        raise RegistryError(f"{path}: expected a list of users or an object with a 'users' list")
    records, problems = [], []
    for n, item in enumerate(users, start=1):
        if isinstance(item, dict):
            records.append((f"entry {n}", {str(k).strip().lower(): v for k, v in item.items()}))
        else:
            problems.append((len(records), f"entry {n}: expected an object with 'name' and 'key', "
                                           f"got {type(item).__name__}"))
    return records, problems


def _csv_records(text: str, path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[int, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    records, problems = [], []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        unknown = [h for h in header if h not in CSV_COLUMNS]
        missing = [h for h in ("name", "key") if h not in header]
        if unknown or missing:
            raise RegistryError(f"{path}: line 1 must be a header with columns name, key (and "
                                f"optionally {', '.join(c for c in CSV_COLUMNS if c not in ('name', 'key'))}); "
                                + (f"unknown: {', '.join(map(repr, unknown))}; " if unknown else "")
                                + (f"missing: {', '.join(missing)}" if missing else ""))
        line = reader.line_num
        for cells in reader:
            where, line = f"line {line + 1}", reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines are harmless
            if len(cells) != len(header):
                problems.append((len(records), f"{where}: has {len(cells)} fields; the header has {len(header)}"))
                continue
            records.append((where, dict(zip(header, cells))))
    except csv.Error as exc:
        raise RegistryError(f"{path}: line {reader.line_num} is not valid CSV ({exc}); nothing was "
                            "imported") from exc
    return records, problems


def _row(where: str, order: int, record: dict[str, Any], key_len: int) -> ImportRow:
    extra = set(record) - set(CSV_COLUMNS)
    if extra:
        raise ValueError(f"unknown field(s) {', '.join(sorted(map(repr, extra)))}")
    key = parse_key_string(record.get("key"), key_len)  # type: ignore[arg-type]
    revoked = clean_text(record.get("revoked_utc"), "revoked_utc", required=False, limit=64)
    if revoked:
        try:
            _dt.datetime.fromisoformat(revoked)
        except ValueError:
            raise ValueError(f"revoked_utc {revoked!r} is not a date and time such as "
                             "2024-05-01T12:00:00Z") from None
    return ImportRow(
        where=where, order=order,
        name=clean_text(record.get("name"), "the name", required=True, limit=MAX_NAME_CHARS),
        contact=clean_text(record.get("contact"), "the contact", required=False, limit=MAX_TEXT_CHARS),
        external_ref=clean_text(record.get("external_ref"), "the external reference", required=False,
                                limit=MAX_TEXT_CHARS),
        key=key, revoked_utc=revoked or None,
        revoked_reason=clean_text(record.get("revoked_reason"), "the revocation reason",
                                  required=False, limit=MAX_TEXT_CHARS))

