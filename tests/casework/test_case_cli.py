"""`lfp case …` and `lfp inspect` end to end, in process, on real files."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from lfp_desktop.casework import CaseStore
from lfp_desktop.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    folder = tmp_path / "seized"
    (folder / "sub").mkdir(parents=True)
    for name, colour in (("a.png", (1, 2, 3)), ("sub/b.png", (4, 5, 6))):
        buf = io.BytesIO()
        Image.new("RGB", (6, 6), colour).save(buf, "PNG")
        (folder / name).write_bytes(buf.getvalue())
    (folder / "readme.txt").write_text("inventory list")
    return folder


def test_case_workflow(tmp_path: Path, evidence: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "cases")
    code, out, _ = run(capsys, "case", "new", "Portrait leak", "--analyst", "ana", "--notes", "tip 42",
                       "--root", root)
    assert code == 0 and "created case " in out
    case_id = out.split()[2].rstrip(":")

    code, out, _ = run(capsys, "case", "add", case_id, str(evidence), "--actor", "ben", "--root", root)
    assert code == 1  # one file was refused: the exit code says so, after the whole batch
    assert "added as item 1" in out and "added as item 2" in out
    assert "REFUSED: " in out and "readme.txt is not a supported image: it holds text" in out
    assert "2 file(s) taken in, 1 refused" in out
    code, out, _ = run(capsys, "case", "add", case_id, str(evidence / "a.png"), "--root", root)
    assert code == 0 and "already in the case as item 1" in out

    code, out, _ = run(capsys, "case", "list", "--json", "--root", root)
    assert code == 0 and json.loads(out)[0]["items"] == 2
    code, out, _ = run(capsys, "case", "show", case_id, "--json", "--root", root)
    shown = json.loads(out)
    assert shown["title"] == "Portrait leak" and shown["notes"] == "tip 42"
    assert [it["original_path"] for it in shown["items"]] == [str(evidence / "a.png"), str(evidence / "sub/b.png")]
    actions = [e["action"] for e in shown["custody"]]
    assert actions == ["created", "evidence_added", "evidence_refused", "evidence_added",
                       "evidence_presented_again"]
    code, out, _ = run(capsys, "case", "show", case_id, "--root", root)
    assert code == 0 and "item 2: " in out and "custody log: 5 entries" in out

    code, out, _ = run(capsys, "case", "verify", case_id, "--root", root)
    assert code == 0 and "OK — custody chain of 5 entries intact" in out


def test_case_verify_names_the_first_broken_entry(tmp_path: Path, evidence: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    store = CaseStore(tmp_path / "cases")
    with store.new_case("c", "ana") as case:
        case.add_evidence(evidence / "a.png", "ana")
        case.add_evidence(evidence / "sub" / "b.png", "ana")
    conn = sqlite3.connect(case.path)
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("DELETE FROM audit WHERE seq = 2")
    conn.commit()
    conn.close()
    code, out, _ = run(capsys, "case", "verify", case.id, "--root", str(store.root))
    assert code == 1
    assert out.splitlines()[1].startswith("  - audit entry 3 (evidence_added on item/2 by ana")


def test_case_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "case", "show", "20990101-001", "--root", str(tmp_path))
    assert code == 1 and err.startswith("lfp: error: there is no case 20990101-001")


def test_inspect_prints_one_line_per_file_and_exits_0(evidence: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", str(evidence), str(evidence / "missing.png"))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4
    assert lines[0].startswith(f"{evidence / 'a.png'}: PNG 6×6 RGB")
    assert "readme.txt: ERROR: " in lines[1] and "holds text" in lines[1]
    assert lines[3] == f"{evidence / 'missing.png'}: ERROR: {evidence / 'missing.png'} does not exist"
