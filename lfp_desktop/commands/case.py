"""``lfp case``: cases with evidence, results and a custody log."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lfp_desktop.audit import default_actor
from lfp_desktop.casework.intake import DEFAULT_MAX_PIXELS
from lfp_desktop.errors import EvidenceError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("case", help="manage cases: evidence, results, custody log",
                                   description="Manage cases (kept under the LFP data folder).")
    sub = parser.add_subparsers(dest="case_command", metavar="ACTION", required=True)

    p = _action(sub, "new", "open a new case", _new)
    p.add_argument("title", help="case title")
    p.add_argument("--analyst", default=None, help="analyst responsible (default: the OS user name)")
    p.add_argument("--notes", default="", help="free notes")

    p = _action(sub, "add", "take in evidence files (folders recursively)", _add)
    p.add_argument("case_id", help="case id ('lfp case list' shows them)")
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="evidence files or folders")
    p.add_argument("--actor", default=None, help="who takes the evidence in (default: the OS user name)")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help=f"refuse images with more pixels (default {DEFAULT_MAX_PIXELS})")

    p = _action(sub, "list", "list the cases", _list)
    p.add_argument("--json", action="store_true", help="JSON output")

    p = _action(sub, "show", "show a case: evidence, latest results, custody log", _show)
    p.add_argument("case_id", help="case id")
    p.add_argument("--json", action="store_true", help="JSON output")

    p = _action(sub, "verify", "check a case's files, evidence copies and custody chain", _verify)
    p.add_argument("case_id", help="case id")


def _action(sub: Any, name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
    p.add_argument("--root", type=Path, default=None, help="case folder (default: the LFP data folder)")
    p.set_defaults(handler=handler)
    return p


def _store(args: argparse.Namespace) -> Any:
    from lfp_desktop.casework import CaseStore

    return CaseStore(args.root)


def _new(args: argparse.Namespace) -> int:
    with _store(args).new_case(args.title, args.analyst or default_actor(), args.notes) as case:
        print(f"created case {case.id}: {case.title} (analyst {case.analyst}) in {case.folder}")
    return 0


def _add(args: argparse.Namespace) -> int:
    from lfp_desktop.casework.paths import walk_files

    actor = args.actor or default_actor()
    added = refused = 0
    with _store(args).open_case(args.case_id) as case:
        for found in walk_files(args.paths):
            if found.path is None:
                refused += 1
                print(f"REFUSED: {found.error}")
                case.record(actor, "evidence_refused", {"path": found.shown, "reason": found.error})
                continue
            try:
                item = case.add_evidence(found.path, actor, max_pixels=args.max_pixels)
            except EvidenceError as exc:
                refused += 1
                print(f"REFUSED: {exc}")
                continue
            added += 1
            what = "already in the case as" if item.duplicate else "added as"
            print(f"{what} item {item.id}: {found.shown} ({item.format} {item.width}×{item.height}, "
                  f"sha256 {item.sha256})")
    print(f"{added} file(s) taken in, {refused} refused")
    return 1 if refused else 0


def _list(args: argparse.Namespace) -> int:
    cases = _store(args).list_cases()
    if args.json:
        json.dump([{"case_id": c.case_id, "title": c.title, "analyst": c.analyst,
                    "created_utc": c.created_utc, "items": c.items, "results": c.results,
                    "folder": str(c.folder), "problem": c.problem} for c in cases],
                  sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not cases:
        print("no cases yet; 'lfp case new TITLE' opens one")
    for c in cases:
        if c.problem:
            print(f"{c.case_id}  PROBLEM: {c.problem}")
        else:
            print(f"{c.case_id}  {c.title}  (analyst {c.analyst}, {c.items} item(s), {c.results} result(s))")
    return 0


def _show(args: argparse.Namespace) -> int:
    with _store(args).open_case(args.case_id, readonly=True) as case:
        items = case.items()
        latest = {it.id: case.latest_result(it.id) for it in items}
        custody = case.custody()
        info = {"case_id": case.id, "title": case.title, "analyst": case.analyst, "notes": case.notes,
                "created_utc": case.created_utc, "folder": str(case.folder)}
    if args.json:
        json.dump({**info, "items": [_item_json(it, latest[it.id]) for it in items],
                   "custody": [{"seq": e.seq, "utc": e.utc, "local_time": e.local_time,
                                "actor": e.actor, "action": e.action, "object": e.object,
                                "details": e.details, "entry_hash": e.entry_hash} for e in custody]},
                  sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(f"case {info['case_id']}: {info['title']} — analyst {info['analyst']}, opened {info['created_utc']}")
    if info["notes"]:
        print(f"  notes: {info['notes']}")
    for it in items:
        res = latest[it.id]
        verdict = f"{res.verdict} ({res.user_name or '-'})" if res else "not analysed"
        print(f"  item {it.id}: {it.original_path}  {it.format} {it.width}×{it.height}  "
              f"sha256 {it.sha256[:16]}…  {verdict}")
    print(f"  custody log: {len(custody)} entries, last at {custody[-1].utc if custody else '-'}")
    return 0


def _item_json(item: Any, result: Any) -> dict[str, Any]:
    return {"id": item.id, "sha256": item.sha256, "size_bytes": item.size_bytes,
            "original_path": item.original_path, "format": item.format, "width": item.width,
            "height": item.height, "mode": item.mode, "conversions": list(item.conversions),
            "frames_note": item.frames_note, "exif_summary": item.exif_summary,
            "intake_utc": item.intake_utc, "working_copy": str(item.working_copy),
            "latest_result": None if result is None else {
                "id": result.id, "verdict": result.verdict, "user_id": result.user_id,
                "user_name": result.user_name, "created_utc": result.created_utc}}


def _verify(args: argparse.Namespace) -> int:
    with _store(args).open_case(args.case_id, readonly=True) as case:
        problems = case.verify()
        seq, head = case.head()
        leftovers = case.unreferenced_files()
    if problems:
        print(f"case {args.case_id}: {len(problems)} problem(s); the first broken entry comes first:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"case {args.case_id}: OK — custody chain of {seq} entries intact; last entry hash {head}")
    if leftovers:
        print(f"  note: {len(leftovers)} unrecorded file(s) left by an interrupted write (harmless): "
              + ", ".join(p.name for p in leftovers[:5]))
    return 0
