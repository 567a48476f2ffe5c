"""User settings files: round trip, and clear refusals of bad values."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lfp_desktop.config import Settings, SettingsError, load_settings, save_settings


def test_settings_round_trip_through_the_file(tmp_path):
    path = tmp_path / "settings.json"
    chosen = dataclasses.replace(Settings(), starts=7, blur_radius=3, statistic="weighted", target_fpr=1e-4,
                                 jpeg_model=False)
    save_settings(chosen, path)
    assert load_settings(path) == chosen
    assert load_settings(tmp_path / "missing.json") == Settings()  # no file: the defaults


def test_the_jpeg_model_follows_the_setting_with_early_stopping_only():
    from lfp_desktop.scan.options import scan_options

    assert scan_options(Settings()).attribution.jpeg_model is True
    assert scan_options(dataclasses.replace(Settings(), jpeg_model=False)).attribution.jpeg_model is False
    assert scan_options(dataclasses.replace(Settings(), early_stopping=False)).attribution.jpeg_model is False


@pytest.mark.parametrize("field, value, message", [
    ("statistic", "cosine", "setting 'statistic' must be 'hamming' or 'weighted'"),
    ("statistic", 3, "setting 'statistic' has the wrong type (int); expected str"),
    ("blur_radius", 13, "setting 'blur_radius' must be between 0 (off) and 12 pixels"),
    ("early_stopping", 1, "setting 'early_stopping' has the wrong type (int); expected bool"),
    ("jpeg_model", "yes", "setting 'jpeg_model' has the wrong type (str); expected bool"),
])
def test_a_bad_value_names_the_setting_and_the_file_is_left_alone(tmp_path, field, value, message):
    path = tmp_path / "settings.json"
    text = json.dumps({**Settings().to_dict(), field: value})
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert str(info.value) == message
    assert path.read_text(encoding="utf-8") == text


def test_a_corrupt_file_says_how_to_recover(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(SettingsError, match="is not valid JSON .*delete it to return to the defaults"):
        load_settings(path)
