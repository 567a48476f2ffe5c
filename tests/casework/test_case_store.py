"""Cases on disk: intake with working copies, results with attachments, custody, verification."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lfp_desktop import config
from lfp_desktop.casework import CaseStore
from lfp_desktop.errors import CaseError, EvidenceError

RESULT = {"verdict": "ATTRIBUTED", "user_id": 17, "user_name": "Ada", "engine_version": "0.1.0",
          "checkpoint_sha256": "c" * 64, "scheme_sha256": "s" * 64, "registry_digest": "r" * 64,
          "settings": {"starts": 20, "steps": 2000, "loss": "pixel"}, "d1": 2, "d2": 29,
          "p_value": 3.1e-12, "bits": np.array([0, 1, 1, 0], np.uint8), "loss": np.float32(0.125)}


def png_file(path: Path, colour: tuple[int, int, int] = (10, 20, 30), size: tuple[int, int] = (12, 8)) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def state(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, stat.S_IMODE(st.st_mode)


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    return CaseStore(tmp_path / "cases")


def test_default_root_is_under_the_data_folder(_fresh_home: Path) -> None:
    store = CaseStore()
    assert store.root == config.data_dir() / "cases"
    assert str(store.root).startswith(str(_fresh_home))


def test_new_cases_get_dated_sequential_ids(store: CaseStore) -> None:
    first = store.new_case("Leaked portraits", "ana", notes="from the tip line")
    second = store.new_case("Second", "ben")
    assert first.id[:8] == second.id[:8] and first.id.endswith("-001") and second.id.endswith("-002")
    assert (first.title, first.analyst, first.notes) == ("Leaked portraits", "ana", "from the tip line")
    first.close()
    second.close()
    with store.open_case(first.id) as again:
        assert again.title == "Leaked portraits" and again.custody()[0].action == "created"
    listed = store.list_cases()
    assert [(c.case_id, c.title, c.items) for c in listed] == [(first.id, "Leaked portraits", 0),
                                                                (second.id, "Second", 0)]


def test_open_case_refuses_bad_or_missing_ids(store: CaseStore) -> None:
    with pytest.raises(CaseError, match="is not a case id"):
        store.open_case("../../etc")
    with pytest.raises(CaseError, match="there is no case 20990101-001"):
        store.open_case("20990101-001")


def test_list_cases_reports_broken_folders_without_failing(store: CaseStore) -> None:
    store.new_case("fine", "ana").close()
    (store.root / "20000101-001").mkdir()
    (store.root / "20000101-002").mkdir()
    (store.root / "20000101-002" / "case.sqlite").write_text("garbage")
    by_id = {c.case_id: c for c in store.list_cases()}
    assert "creation was interrupted" in by_id["20000101-001"].problem
    assert "not a case database" in by_id["20000101-002"].problem
    assert sum(1 for c in by_id.values() if not c.problem) == 1


def test_add_evidence_keeps_a_read_only_copy_and_never_touches_the_original(store: CaseStore,
                                                                           tmp_path: Path) -> None:
    original = png_file(tmp_path / "suspect.png")
    os.utime(original, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = state(original)
    with store.new_case("c", "ana") as case:
        item = case.add_evidence(original, "ana")
        assert state(original) == before
        assert item.sha256 == before[0] and item.size_bytes == original.stat().st_size
        assert (item.format, item.width, item.height, item.mode) == ("PNG", 12, 8, "RGB")
        assert item.original_path == str(original) and item.original_mtime.startswith("2020-09-13T12:26:40")
        assert item.working_copy.read_bytes() == original.read_bytes()
        assert stat.S_IMODE(item.working_copy.stat().st_mode) == 0o444
        assert not item.duplicate
        assert np.array_equal(case.load_image(item.id).rgb, np.full((8, 12, 3), (10, 20, 30), np.uint8))
        entry = case.custody(item.id)[-1]
        assert (entry.action, entry.actor, entry.details["sha256"]) == ("evidence_added", "ana", item.sha256)
        assert case.verify() == []


def test_the_same_bytes_are_recognised_by_hash(store: CaseStore, tmp_path: Path) -> None:
    a = png_file(tmp_path / "a.png")
    b = tmp_path / "renamed-copy.jpg"
    b.write_bytes(a.read_bytes())
    with store.new_case("c", "ana") as case:
        first = case.add_evidence(a, "ana")
        again = case.add_evidence(b, "ben")
        assert again.duplicate and again.id == first.id and len(case.items()) == 1
        entry = case.custody(first.id)[-1]
        assert (entry.action, entry.actor, entry.details["path"]) == ("evidence_presented_again", "ben", str(b))
        other = case.add_evidence(png_file(tmp_path / "c.png", (1, 1, 1)), "ana")
        assert other.id == 2 and not other.duplicate


def test_refused_evidence_is_logged_and_raises(store: CaseStore, tmp_path: Path) -> None:
    bad = tmp_path / "photo.png"
    bad.write_text("not really a photo")
    with store.new_case("c", "ana") as case:
        with pytest.raises(EvidenceError, match="it holds text"):
            case.add_evidence(bad, "ana")
        with pytest.raises(EvidenceError, match="does not exist"):
            case.add_evidence(tmp_path / "missing.png", "ana")
        refusals = [e for e in case.custody() if e.action == "evidence_refused"]
        assert [r.details["path"] for r in refusals] == [str(bad), str(tmp_path / "missing.png")]
        assert refusals[0].details["sha256"] == hashlib.sha256(bad.read_bytes()).hexdigest()
        assert case.items() == [] and case.verify() == []


def test_results_are_stored_whole_with_their_attachments(store: CaseStore, tmp_path: Path) -> None:
    curves = np.linspace(1, 0, 50, dtype=np.float32)
    buf = io.BytesIO()
    np.save(buf, curves)
    with store.new_case("c", "ana") as case:
        item = case.add_evidence(png_file(tmp_path / "x.png"), "ana")
        first = case.store_result(item.id, {"verdict": "INCONCLUSIVE", "user_id": None}, "ana")
        rid = case.store_result(item.id, RESULT, "ben", attachments={"loss_curves.npy": buf.getvalue(),
                                                                    "reconstruction.png": b"\x89PNG..."})
        assert rid == first + 1
        latest = case.latest_result(item.id)
        assert latest is not None and latest.id == rid
        assert (latest.verdict, latest.user_id, latest.user_name) == ("ATTRIBUTED", 17, "Ada")
        assert latest.registry_digest == "r" * 64 and latest.engine_version == "0.1.0"
        assert latest.result["settings"] == RESULT["settings"] and latest.result["bits"] == [0, 1, 1, 0]
        assert latest.result["loss"] == 0.125
        assert np.array_equal(np.load(latest.attachments["loss_curves.npy"]), curves)
        assert [r.verdict for r in case.results(item.id)] == ["INCONCLUSIVE", "ATTRIBUTED"]
        entry = case.custody(item.id)[-1]
        assert entry.object == f"item/{item.id}/result/{rid}" and entry.actor == "ben"
        assert entry.details["attachments"]["loss_curves.npy"] == hashlib.sha256(buf.getvalue()).hexdigest()
        assert case.verify() == []


@pytest.mark.parametrize("bad, message", [
    ({"verdict": object()}, "cannot be stored as JSON"),
    (["not", "a", "dict"], "must be a dict"),
])
def test_results_that_are_not_json_data_are_refused(store: CaseStore, tmp_path: Path, bad, message: str) -> None:
    with store.new_case("c", "ana") as case:
        item = case.add_evidence(png_file(tmp_path / "x.png"), "ana")
        with pytest.raises(CaseError, match=message):
            case.store_result(item.id, bad, "ana")
        with pytest.raises(CaseError, match="attachment name '../evil' is not allowed"):
            case.store_result(item.id, {}, "ana", attachments={"../evil": b"x"})
        with pytest.raises(CaseError, match="no evidence item 9"):
            case.store_result(9, {}, "ana")
        assert case.results() == [] and case.unreferenced_files() == []


def test_other_components_can_add_custody_entries(store: CaseStore, tmp_path: Path) -> None:
    with store.new_case("c", "ana") as case:
        item = case.add_evidence(png_file(tmp_path / "x.png"), "ana")
        case.record("ana", "report_signed", {"report_sha256": "f" * 64}, item_id=item.id)
        case.record("ana", "case_exported", {"to": "usb"})
        assert [e.action for e in case.custody(item.id)] == ["evidence_added", "report_signed"]
        assert case.custody()[-1].object == "case"
        with pytest.raises(CaseError, match="lower_case_words"):
            case.record("ana", "Drop Table", {})
        assert case.verify() == []


def tamper(db: Path, statement: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute(statement)
    conn.commit()
    conn.close()


def test_verify_finds_altered_copies_results_and_custody(store: CaseStore, tmp_path: Path) -> None:
    case = store.new_case("c", "ana")
    item = case.add_evidence(png_file(tmp_path / "x.png"), "ana")
    rid = case.store_result(item.id, RESULT, "ana", attachments={"curve.npy": b"123"})
    case.close()
    folder = case.folder
    item.working_copy.chmod(0o644)
    item.working_copy.write_bytes(b"swapped")
    (folder / "attachments").joinpath(next((folder / "attachments").iterdir()).name).unlink()
    tamper(folder / "case.sqlite", f"UPDATE results SET result_json = replace(result_json, 'Ada', 'Eve') WHERE id = {rid}")
    tamper(folder / "case.sqlite", "UPDATE audit SET actor = 'eve' WHERE seq = 2")
    with store.open_case(case.id, readonly=True) as again:
        found = again.verify()
    assert found[0].startswith("audit entry 2 (evidence_added on item/1 by eve")
    joined = "\n".join(found)
    assert "the working copy no longer matches the SHA-256 taken at intake" in joined
    assert f"result {rid} (evidence item 1): the stored result no longer matches its SHA-256" in joined
    assert "attachment curve.npy is missing" in joined
