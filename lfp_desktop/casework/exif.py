"""A short, JSON-safe summary of an image's metadata for the case record."""

from __future__ import annotations

from typing import Any

from PIL import Image

MAX_VALUE_CHARS = 200
_IFD0 = {0x010F: "Make", 0x0110: "Model", 0x0131: "Software", 0x0132: "DateTime",
         0x0112: "Orientation", 0x013B: "Artist", 0x010E: "ImageDescription", 0x8298: "Copyright"}
_EXIF_IFD = {0x9003: "DateTimeOriginal", 0x9004: "DateTimeDigitized", 0x9010: "OffsetTime",
             0xA434: "LensModel"}
_GPS_IFD = 0x8825
_EXIF_POINTER = 0x8769
# Text chunks generators and editors write into PNGs (prompts, settings, software).
_PNG_TEXT_KEYS = 12


def exif_summary(img: Image.Image) -> tuple[dict[str, str], list[str]]:
    """(summary, notes): selected EXIF tags, GPS presence and PNG text, as short strings."""
    summary: dict[str, str] = {}
    notes: list[str] = []
    try:
        exif = img.getexif()
        for tag, name in _IFD0.items():
            if tag in exif:
                summary[name] = _text(exif[tag])
        sub = exif.get_ifd(_EXIF_POINTER)
        for tag, name in _EXIF_IFD.items():
            if tag in sub:
                summary[name] = _text(sub[tag])
        if exif.get_ifd(_GPS_IFD) or _GPS_IFD in exif:
            summary["GPS"] = "present"
    except Exception as exc:  # noqa: BLE001 - damaged metadata must never stop intake
        notes.append(f"EXIF metadata could not be read ({type(exc).__name__}); ignored")
    if img.format == "PNG":
        texts = [(k, v) for k, v in img.info.items() if isinstance(v, str) and k not in ("icc_profile",)]
        for key, value in texts[:_PNG_TEXT_KEYS]:
            summary[f"PNG text: {_text(key)[:40]}"] = _text(value)
    return summary, notes


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = "".join(c if c.isprintable() else " " for c in str(value)).strip()
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
