"""`lfp registry …` end to end, in process, on real files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lfp_desktop.cli import main
from lfp_desktop.registry import Registry

scheme_module = pytest.importorskip("lfp_desktop.engine.scheme",
                                    reason="the scheme module (engine/scheme.py) is not importable yet")


@pytest.fixture
def scheme_file(tmp_path: Path) -> Path:
    """A real (tiny) scheme file: 16-dimensional latents, 12-bit keys."""
    d = 16
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(d, d)))
    scheme = scheme_module.Scheme(mean=np.zeros(d), components=q.T.copy(), stds=np.linspace(2, 0.1, d),
                                  key_len=12, shift=4, sigma=1.0, checkpoint_sha256="ab" * 32)
    path = tmp_path / "tiny.scheme"
    scheme_module.save_scheme(scheme, path)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_registry_workflow(tmp_path: Path, scheme_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reg = str(tmp_path / "lab.lfpreg")
    code, out, _ = run(capsys, "registry", "create", reg, "--scheme", str(scheme_file), "--actor", "lead",
                       "--min-distance", "3")
    assert code == 0 and "12-bit keys, minimum distance 3 bits" in out
    with Registry.open(reg, readonly=True) as r:
        assert r.scheme_bytes() == scheme_file.read_bytes() and r.key_len == 12

    code, out, _ = run(capsys, "registry", "enroll", reg, "Ada Lovelace", "--contact", "ada@example.org",
                       "--actor", "clerk")
    assert code == 0 and "enrolled user 1: Ada Lovelace" in out
    code, out, _ = run(capsys, "registry", "enroll", reg, "--count", "30", "--prefix", "bulk-")
    assert code == 0 and "30 users enrolled in all (ids 2–31)" in out
    code, out, _ = run(capsys, "registry", "revoke", reg, "2", "--reason", "left the lab")
    assert code == 0 and "revoked user 2 (bulk-0001)" in out

    code, out, _ = run(capsys, "registry", "list", reg, "--json")
    listing = json.loads(out)
    assert code == 0 and listing["user_count"] == len(listing["users"]) == 31
    assert "key" not in listing["users"][0]  # keys only on request
    assert listing["users"][1]["revoked_reason"] == "left the lab"
    code, out, _ = run(capsys, "registry", "list", reg, "--keys", "--active-only")
    assert code == 0 and "bulk-0001" not in out and out.count("key ") == 30

    exported = tmp_path / "users.csv"
    assert run(capsys, "registry", "export", reg, str(exported))[0] == 0
    other = str(tmp_path / "copy.lfpreg")
    assert run(capsys, "registry", "create", other, "--scheme", str(scheme_file), "--min-distance", "3")[0] == 0
    code, out, _ = run(capsys, "registry", "import", other, str(exported))
    assert code == 0 and "imported 31 user(s)" in out

    code, out, _ = run(capsys, "registry", "verify", reg)
    assert code == 0 and "OK — 31 user(s), audit chain of 4 entries intact" in out
    with Registry.open(reg, readonly=True) as r:
        assert f"registry digest {r.digest()}" in out


def test_verify_reports_tampering_with_exit_1(tmp_path: Path, scheme_file: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    reg = tmp_path / "lab.lfpreg"
    run(capsys, "registry", "create", str(reg), "--scheme", str(scheme_file))
    run(capsys, "registry", "enroll", str(reg), "a", "b")
    conn = sqlite3.connect(reg)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET action = 'nothing' WHERE seq = 2")
    conn.commit()
    conn.close()
    code, out, _ = run(capsys, "registry", "verify", str(reg))
    assert code == 1
    assert out.splitlines()[1].startswith("  - audit entry 2 (nothing on users/1-2")


def test_errors_are_one_clear_line(tmp_path: Path, scheme_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_registry = tmp_path / "notes.txt"
    not_a_registry.write_text("hello")
    code, _, err = run(capsys, "registry", "list", str(not_a_registry))
    assert code == 1 and err.startswith("lfp: error: ") and "not a key registry" in err
    code, _, err = run(capsys, "registry", "create", str(tmp_path / "x.lfpreg"), "--scheme", str(not_a_registry))
    assert code == 1 and err.startswith("lfp: error: ") and not (tmp_path / "x.lfpreg").exists()
    reg = str(tmp_path / "lab.lfpreg")
    run(capsys, "registry", "create", reg, "--scheme", str(scheme_file))
    code, _, err = run(capsys, "registry", "revoke", reg, "7", "--reason", "x")
    assert code == 1 and "there is no user 7" in err
