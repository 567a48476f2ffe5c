"""The lab signing identity: first use, file modes, passphrases, PKCS#12."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from lfp_desktop import config
from lfp_desktop.errors import ReportError
from lfp_desktop.reports.signing import (CERT_FILE, KEY_FILE, PASSPHRASE_ENV, PASSPHRASE_FILE,
                                         ensure_lab_identity, format_fingerprint,
                                         load_pkcs12_identity, load_signing_identity,
                                         signing_dir)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_use_creates_a_private_key_in_the_data_dir(monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    identity = ensure_lab_identity(key_size=2048)  # the default folder; a small key is faster
    folder = signing_dir()
    assert folder.parent == config.data_dir()
    assert _mode(folder / KEY_FILE) == 0o600
    assert _mode(folder / PASSPHRASE_FILE) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in (folder / KEY_FILE).read_bytes()
    assert len(identity.fingerprint) == 64
    # Later uses (through the settings, as the application does) load the same identity.
    assert load_signing_identity(config.Settings()).fingerprint == identity.fingerprint


def test_passphrase_from_the_environment_is_not_stored(monkeypatch, tmp_path):
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    folder = tmp_path / "signing"
    first = ensure_lab_identity(folder, key_size=2048)
    assert not (folder / PASSPHRASE_FILE).exists()
    assert _mode(folder / KEY_FILE) == 0o600
    assert ensure_lab_identity(folder).fingerprint == first.fingerprint
    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    with pytest.raises(ReportError, match=PASSPHRASE_ENV):
        ensure_lab_identity(folder)
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(ReportError, match="no passphrase is available"):
        ensure_lab_identity(folder)


def test_half_an_identity_is_not_silently_replaced(lab_identity, tmp_path):
    folder = tmp_path / "signing"
    folder.mkdir()
    (folder / CERT_FILE).write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ReportError, match="incomplete"):
        ensure_lab_identity(folder)
    assert not (folder / KEY_FILE).exists()


def test_pkcs12_identity(lab_identity, tmp_path):
    path = tmp_path / "lab.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"lab", lab_identity.key, lab_identity.certificate, None,
        BestAvailableEncryption(b"p12-secret")))
    loaded = load_pkcs12_identity(path, "p12-secret")
    assert loaded.fingerprint == lab_identity.fingerprint
    with pytest.raises(ReportError, match="PKCS#12"):
        load_pkcs12_identity(path, "nope")
    with pytest.raises(ReportError, match="could not be read"):
        load_pkcs12_identity(tmp_path / "missing.p12", None)


def test_settings_select_the_pkcs12(lab_identity, tmp_path, monkeypatch):
    path = tmp_path / "lab.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"lab", lab_identity.key, lab_identity.certificate, None,
        BestAvailableEncryption(b"p12-secret")))
    monkeypatch.setenv(PASSPHRASE_ENV, "p12-secret")
    identity = load_signing_identity(config.Settings(signing_pkcs12=str(path)))
    assert identity.fingerprint == lab_identity.fingerprint
    assert not signing_dir().exists()  # no lab key is made when a PKCS#12 is configured


def test_fingerprint_format():
    assert format_fingerprint("0a1b2c") == "0A:1B:2C"
