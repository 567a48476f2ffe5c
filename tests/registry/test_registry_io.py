"""Import and export: round trips, and row-level problems reported by line with nothing imported."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import numpy as np
import pytest

from lfp_desktop.errors import RegistryError
from lfp_desktop.registry import Registry

SCHEME = b"scheme bytes for io tests"


def new_registry(path: Path, key_len: int = 16, min_distance: int = 2) -> Registry:
    return Registry.create(path, scheme_bytes=SCHEME, scheme_name="s", key_len=key_len, actor="ops",
                           min_distance=min_distance)


def key_text(bits: str) -> str:
    return bits.replace(" ", "")


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_export_then_import_reproduces_the_users(tmp_path: Path, suffix: str) -> None:
    with new_registry(tmp_path / "a.lfpreg") as src:
        src.enroll("Ada", contact="ada@example.org", external_ref="X-1", actor="ops")
        src.enroll_many(["Bé", "Çem"], actor="ops")
        src.revoke(2, "ops", "left, with notice")
        out = tmp_path / f"users{suffix}"
        assert src.export_file(out) == 3
        original = src.users()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # keys are secrets
    with new_registry(tmp_path / "b.lfpreg") as dst:
        imported = dst.import_file(out, "ops2")
        assert [(u.name, u.contact, u.external_ref, u.key, u.revoked_reason) for u in imported] == \
               [(u.name, u.contact, u.external_ref, u.key, u.revoked_reason) for u in original]
        assert [u.revoked_utc for u in imported] == [u.revoked_utc for u in original]
        assert dst.load_keys(include_revoked=True).packed.tobytes() == b"".join(u.key for u in original)
        log = dst.audit_log()
        assert [e.action for e in log] == ["created", "imported", "revoked"]
        assert log[1].details["source_file"] == out.name and len(log[1].details["source_sha256"]) == 64
        assert dst.verify() == []


def test_export_json_carries_the_registry_identity(tmp_path: Path) -> None:
    with new_registry(tmp_path / "a.lfpreg") as reg:
        reg.enroll("a", actor="ops")
        reg.export_file(tmp_path / "u.json")
        doc = json.loads((tmp_path / "u.json").read_text(encoding="utf-8"))
        assert doc["format"] == "lfp-registry-export" and doc["key_len"] == 16
        assert doc["registry_digest"] == reg.digest() and doc["scheme_sha256"] == reg.scheme_sha256
        assert doc["users"][0]["key"] == reg.user(1).key_string


def write_csv(path: Path, rows: list[list[str]], header: tuple[str, ...] = ("name", "key", "contact")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_every_bad_row_is_reported_by_line_and_nothing_is_imported(tmp_path: Path) -> None:
    with new_registry(tmp_path / "a.lfpreg", min_distance=3) as reg:
        taken = reg.enroll("Taken", actor="ops", rng=np.random.default_rng(0))
        near = list(taken.key_string)
        near[0] = "1" if near[0] == "0" else "0"  # 1 bit from Taken's key
        rows = [
            ["good one", "0000000000000000", ""],            # line 2: fine
            ["short", "0101", ""],                           # line 3
            ["letters", "01010101010x0101", ""],             # line 4
            ["GOOD ONE", "1111111111111111", ""],            # line 5: name used on line 2
            ["copy", "0000000000000000", ""],                # line 6: key of line 2
            ["near", "".join(near), ""],                     # line 7: 1 bit from Taken
            ["taken", "1111000011110000", ""],               # line 8: name of user 1
            ["", "1010101010101010", ""],                    # line 9: no name
            ["tabbed\tname", "1100110011001100", ""],        # line 10
        ]
        path = write_csv(tmp_path / "in.csv", rows)
        before = (reg.count(), reg.head(), reg.digest())
        with pytest.raises(RegistryError) as err:
            reg.import_file(path, "ops")
        message = str(err.value)
        for expected in [
            "line 3: the key has 4 bits; this registry's keys have 16",
            "line 4: the key may only contain 0 and 1, but contains 'x'",
            "line 5: the name 'GOOD ONE' is already used by line 2",
            "line 6: the key is the same as the key of line 2",
            "line 7: the key is only 1 bit(s) from the key of registered user 1 (Taken)",
            "line 8: the name 'taken' is already used by registered user 1 (Taken)",
            "line 9: the name is empty",
            "line 10: the name contains control characters",
            "nothing was imported",
        ]:
            assert expected in message
        assert "line 2" not in message.replace("by line 2", "").replace("of line 2", "")
        assert (reg.count(), reg.head(), reg.digest()) == before


def test_json_problems_are_reported_by_entry(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"users": [{"name": "a", "key": "0" * 16}, ["not", "an", "object"],
                                          {"name": "b", "key": "1" * 16, "colour": "red"},
                                          {"name": "c"}]}), encoding="utf-8")
    with new_registry(tmp_path / "a.lfpreg") as reg:
        with pytest.raises(RegistryError) as err:
            reg.import_file(path, "ops")
        assert reg.count() == 0
    message = str(err.value)
    assert "entry 2: expected an object" in message
    assert "entry 3: unknown field(s) 'colour'" in message
    assert "entry 4: the key is missing" in message


@pytest.mark.parametrize("content, message", [
    (b"nom,clef\nx,0101\n", "line 1 must be a header with columns name, key"),
    (b"name,key\n\xff\xfe,0000000000000000\n", "line 2 is not UTF-8 text"),
    (b"name,key\nx\n", "line 2: has 1 fields; the header has 2"),
    (b"name,key\n", "the file holds no users"),
    (b'{"users": 5}', "expected a list of users"),
    (b"{not json", "is not valid JSON"),
])
def test_malformed_files_are_refused_with_a_reason(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / ("in.json" if content.startswith(b"{") else "in.csv")
    path.write_bytes(content)
    with new_registry(tmp_path / "a.lfpreg") as reg:
        with pytest.raises(RegistryError, match=message):
            reg.import_file(path, "ops")
        assert reg.count() == 0 and len(reg.audit_log()) == 1


def test_import_accepts_a_utf8_bom_blank_lines_and_header_case(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes("\ufeffName , KEY\nZoë,0000111100001111\n\n".encode("utf-8"))
    with new_registry(tmp_path / "a.lfpreg") as reg:
        users = reg.import_file(path, "ops")
        assert [(u.name, u.key_string) for u in users] == [("Zoë", "0000111100001111")]
