"""``lfp registry``: create a key registry, enrol, import, export, list, revoke, verify."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from lfp_desktop.audit import default_actor
from lfp_desktop.errors import RegistryError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("registry", help="manage a key registry (users and their keys)",
                                   description="Manage a key registry: one file per fingerprint scheme.")
    sub = parser.add_subparsers(dest="registry_command", metavar="ACTION", required=True)

    p = _action(sub, "create", "make a new registry file for a scheme", _create)
    p.add_argument("--scheme", type=Path, required=True, help="scheme file ('lfp scheme create' makes one)")
    p.add_argument("--name", default="", help="scheme name shown in reports (default: the file name)")
    p.add_argument("--min-distance", type=int, default=None,
                   help="bits every new key keeps from every other key (default: key length / 8)")

    p = _action(sub, "enroll", "register users with fresh random keys", _enroll)
    p.add_argument("names", nargs="*", metavar="NAME", help="display names of the new users")
    p.add_argument("--contact", default="", help="contact (with one NAME)")
    p.add_argument("--ref", default="", help="external reference (with one NAME)")
    p.add_argument("--count", type=int, default=0, help="enrol COUNT users named PREFIX0001, …")
    p.add_argument("--prefix", default="user-", help="name prefix for --count (default: user-)")

    p = _action(sub, "import", "add users from a CSV or JSON file (all rows or none)", _import)
    p.add_argument("file", type=Path, help="CSV (columns name,key[,contact,external_ref,…]) or JSON")

    p = _action(sub, "export", "write users and keys to a CSV or JSON file", _export, actor=False)
    p.add_argument("file", type=Path, help="output file; .json writes JSON, anything else CSV")
    p.add_argument("--active-only", action="store_true", help="leave out revoked users")

    p = _action(sub, "list", "show the users", _list, actor=False)
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--keys", action="store_true", help="include the keys (secrets!)")
    p.add_argument("--active-only", action="store_true", help="leave out revoked users")

    p = _action(sub, "revoke", "mark a user revoked (the key is kept)", _revoke)
    p.add_argument("user_id", type=int, help="id of the user ('lfp registry list' shows them)")
    p.add_argument("--reason", required=True, help="why the user is revoked")

    _action(sub, "verify", "check the file, its audit chain and its users", _verify, actor=False)


def _action(sub: Any, name: str, help_text: str, handler: Any, *, actor: bool = True) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
    p.add_argument("registry", type=Path, help="registry file")
    if actor:
        p.add_argument("--actor", default=None, help="who makes the change (default: the OS user name)")
    p.set_defaults(handler=handler)
    return p


def _open(args: argparse.Namespace, *, readonly: bool = False) -> Any:
    from lfp_desktop.registry import Registry

    return Registry.open(args.registry, readonly=readonly)


def _actor(args: argparse.Namespace) -> str:
    return args.actor if args.actor is not None else default_actor()


def _create(args: argparse.Namespace) -> int:
    from lfp_desktop.engine.scheme import load_scheme_metadata
    from lfp_desktop.registry import Registry

    meta = load_scheme_metadata(args.scheme)
    data = args.scheme.read_bytes()
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise RegistryError(f"{args.scheme} changed while it was read; try again")
    with Registry.create(args.registry, scheme_bytes=data, scheme_name=args.name or args.scheme.name,
                         key_len=int(meta["key_len"]), actor=_actor(args),
                         min_distance=args.min_distance) as reg:
        print(f"created {reg.path}: {reg.key_len}-bit keys, minimum distance {reg.min_distance} bits, "
              f"scheme {reg.scheme_name} (sha256 {reg.scheme_sha256})")
    return 0


def _enroll(args: argparse.Namespace) -> int:
    names = list(args.names)
    if args.count:
        if names:
            raise RegistryError("give names or --count, not both")
        if args.count < 0:
            raise RegistryError("--count must be positive")
        width = max(4, len(str(args.count)))
        names = [f"{args.prefix}{i:0{width}d}" for i in range(1, args.count + 1)]
    if not names:
        raise RegistryError("name at least one user to enrol (or use --count N)")
    if (args.contact or args.ref) and len(names) != 1:
        raise RegistryError("--contact and --ref go with exactly one NAME")
    with _open(args) as reg:
        users = reg.enroll_many(names, contacts=[args.contact] * len(names),
                                external_refs=[args.ref] * len(names), actor=_actor(args))
        for user in users[:20]:
            print(f"enrolled user {user.id}: {user.name}")
        if len(users) > 20:
            print(f"… {len(users)} users enrolled in all (ids {users[0].id}–{users[-1].id})")
    return 0


def _import(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        users = reg.import_file(args.file, _actor(args))
        print(f"imported {len(users)} user(s) from {args.file}"
              + (f" (ids {users[0].id}–{users[-1].id})" if users else ""))
    return 0


def _export(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as reg:
        n = reg.export_file(args.file, include_revoked=not args.active_only)
    print(f"wrote {n} user(s) to {args.file} (it holds secret keys: keep it safe)")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as reg:
        users = reg.users(include_revoked=not args.active_only)
        header = {"registry": str(reg.path), "scheme_name": reg.scheme_name,
                  "scheme_sha256": reg.scheme_sha256, "key_len": reg.key_len,
                  "min_distance": reg.min_distance, "user_count": len(users)}
    rows = []
    for user in users:
        row = user.to_dict()
        if not args.keys:
            row.pop("key")
        rows.append(row)
    if args.json:
        json.dump({**header, "users": rows}, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(f"{header['registry']}: scheme {header['scheme_name']}, {reg.key_len}-bit keys, "
          f"{len(users)} user(s)")
    for row in rows:
        status = f"revoked {row['revoked_utc']}: {row['revoked_reason']}" if row["revoked_utc"] else "active"
        extra = f"  key {row['key']}" if args.keys else ""
        print(f"{row['id']:>8}  {row['name']}  [{status}]  {row['contact']}  {row['external_ref']}{extra}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        user = reg.revoke(args.user_id, _actor(args), args.reason)
    print(f"revoked user {user.id} ({user.name}) at {user.revoked_utc}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    with _open(args, readonly=True) as reg:
        problems = reg.verify()
        seq, head = reg.head()
        count = reg.count()
        digest = reg.digest() if not problems else ""
    if problems:
        print(f"{args.registry}: {len(problems)} problem(s); the first broken entry comes first:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{args.registry}: OK — {count} user(s), audit chain of {seq} entries intact")
    print(f"  last entry hash {head}")
    print(f"  registry digest {digest}")
    return 0
