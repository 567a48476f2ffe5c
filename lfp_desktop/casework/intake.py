"""Safe intake of evidence images: read once, hash, decode defensively, convert to RGB.

The file is opened read-only and read in full once; the same bytes are hashed and decoded,
so the hash always describes what was analysed. Only the decoders of PNG, JPEG, WebP, BMP,
TIFF and GIF are allowed (files are data: no format plugin that runs external programs).
Every change to the pixels is recorded in ``conversions``:

* EXIF orientation is applied (rotation/mirroring);
* alpha is dropped (stored colours kept, no compositing), with the share of non-opaque pixels;
* palette, greyscale, 1-bit, CMYK (Pillow's formula, no colour management), YCbCr, LAB, HSV
  become RGB; 16-bit samples are scaled ``round(v * 255 / 65535)``; 16-bit RGB PNGs are
  reduced by Pillow to their high byte; 32-bit integer and float images are scaled from their
  own range (documented per file);
* animated or multi-page files: the first frame is used (``frames_note``).
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lfp_desktop.casework.exif import exif_summary
from lfp_desktop.casework.paths import display_path
from lfp_desktop.engine.jpeg_grid import JpegGrid, jpeg_grid
from lfp_desktop.errors import EvidenceError

DEFAULT_MAX_PIXELS = 1 << 26  # 67 megapixels: every common camera, far below a bomb
DEFAULT_MAX_BYTES = 512 << 20
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF", "MPO")
_EXTENSIONS = {"PNG": {".png"}, "JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"}, "WEBP": {".webp"},
               "BMP": {".bmp", ".dib"}, "TIFF": {".tif", ".tiff"}, "GIF": {".gif"},
               "MPO": {".mpo", ".jpg", ".jpeg"}}
_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif",
           "GIF": ".gif", "MPO": ".mpo"}


@dataclass(frozen=True)
class EvidenceImage:
    """A decoded evidence file. ``width``/``height`` are as stored in the file; ``rgb`` is
    uint8 HxWx3 after the recorded conversions (EXIF rotation may swap H and W)."""

    path: str
    sha256: str
    size_bytes: int
    format: str
    width: int
    height: int
    mode: str
    conversions: tuple[str, ...]
    exif_summary: dict[str, str]
    rgb: np.ndarray = field(repr=False)
    frames_note: str = ""
    warnings: tuple[str, ...] = ()
    # The quantisation grid of a JPEG whose pixels are used as decoded (no rotation or other
    # conversion); the attribution compares such evidence where the file stored it.
    jpeg_grid: JpegGrid | None = None

    def grid_for(self, fitted: np.ndarray) -> JpegGrid | None:
        """The JPEG grid if ``fitted`` is these pixels unchanged (no resize, crop or pad)."""
        return self.jpeg_grid if fitted.shape == self.rgb.shape and np.array_equal(fitted, self.rgb) else None

    @property
    def suffix(self) -> str:
        """Usual file suffix of the detected format, e.g. '.png'."""
        return _SUFFIX.get(self.format, ".img")


def read_file(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[bytes, os.stat_result]:
    """All bytes of a regular file, opened read-only, and its status; EvidenceError says why not."""
    shown = display_path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise EvidenceError(f"{shown} does not exist (or is a broken symbolic link)") from None
    except PermissionError:
        raise EvidenceError(f"{shown} cannot be read: permission denied; ask for read access "
                            "or a readable copy") from None
    except IsADirectoryError:
        raise EvidenceError(f"{shown} is a folder, not an image file") from None
    except OSError as exc:
        raise EvidenceError(_os_problem(shown, exc)) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise EvidenceError(f"{shown} is a folder, not an image file")
        if not stat.S_ISREG(st.st_mode):
            raise EvidenceError(f"{shown} is not a regular file (a device, pipe or socket)")
        if st.st_size > max_bytes:
            raise EvidenceError(f"{shown} is {st.st_size / 2**20:.0f} MiB, larger than the "
                                f"{max_bytes / 2**20:.0f} MiB limit for an image; check it is an image")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise EvidenceError(_os_problem(shown, exc)) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise EvidenceError(f"{shown} grew past the {max_bytes >> 20} MiB limit while it was read")
    return data, st


def read_evidence(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> EvidenceImage:
    """Read, hash and decode one evidence file (never writes to it); EvidenceError with a
    human-readable message for every file that is not a usable image."""
    data, _ = read_file(path, max_bytes=max_bytes)
    return decode_evidence(data, path=display_path(path), max_pixels=max_pixels)


def decode_evidence(data: bytes, *, path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> EvidenceImage:
    """Decode image bytes (see :func:`read_evidence`); ``path`` is used in messages only."""
    fmt = sniff_format(data, path)
    try:
        return _decode(data, path, fmt, max_pixels)
    except EvidenceError:
        raise
    except MemoryError:
        raise EvidenceError(f"{path}: not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file must never crash a batch
        raise EvidenceError(f"{path}: the {fmt} decoder failed on this file ({type(exc).__name__}: "
                            f"{exc}); it is probably malformed — ask for another copy") from None


def _decode(data: bytes, path: str, fmt: str, max_pixels: int) -> EvidenceImage:
    digest = hashlib.sha256(data).hexdigest()
    notes = _suffix_warning(path, fmt)
    img = _open(data, fmt, path, max_pixels)
    width, height, mode = img.width, img.height, img.mode
    frames_note = _first_frame(img, fmt)
    rawmode = _rawmode(img)  # Pillow forgets it once the pixels are loaded
    _load(img, path)
    summary, exif_notes = exif_summary(img)
    grid = jpeg_grid(img) if fmt == "JPEG" else None
    conversions: list[str] = []
    img = _orient(img, conversions, exif_notes)
    if img.info.get("icc_profile"):
        notes.append("embedded ICC colour profile not applied (pixel values used as stored)")
    rgb = to_rgb(img, conversions, rawmode)
    return EvidenceImage(path=path, sha256=digest, size_bytes=len(data), format=fmt, width=width,
                         height=height, mode=mode, conversions=tuple(conversions),
                         exif_summary=summary, rgb=rgb, frames_note=frames_note,
                         warnings=tuple(notes + exif_notes), jpeg_grid=None if conversions else grid)


def sniff_format(data: bytes, path: str) -> str:
    """The image format from the first bytes; EvidenceError names what the file is instead."""
    if not data:
        raise EvidenceError(f"{path} is empty (0 bytes), not an image; the copy may have failed — "
                            "ask for the original file")
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:2] == b"BM" and len(data) >= 26:
        return "BMP"
    raise EvidenceError(f"{path} is not a supported image: {_what_is_it(data)}; supported are "
                        "PNG, JPEG, WebP, BMP, TIFF and GIF")


def _what_is_it(data: bytes) -> str:
    head = data[:64]
    known = {b"%PDF": "it is a PDF document", b"PK\x03\x04": "it is a ZIP archive (or an Office file)",
             b"8BPS": "it is a Photoshop document", b"\x00\x00\x00\x0cjP": "it is a JPEG 2000 image"}
    for magic, what in known.items():
        if head.startswith(magic):
            return what
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "it is a HEIF/AVIF image (convert it to PNG losslessly first)"
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return "it is an SVG/XML drawing, not a photograph-like image"
    try:
        text = data[:256].decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(c.isprintable() or c in "\r\n\t" for c in text):
        start = " ".join(text.split())[:40]
        return f"it holds text (it starts with {start!r})"
    return f"its first bytes ({data[:8].hex(' ')}) match no known image format"


def _suffix_warning(path: str, fmt: str) -> list[str]:
    suffix = os.path.splitext(path)[1].lower()
    if suffix and suffix not in _EXTENSIONS.get(fmt, set()):
        return [f"the file name ends in {suffix} but the content is {fmt}; decoded as {fmt}"]
    return []


def _open(data: bytes, fmt: str, path: str, max_pixels: int) -> Image.Image:
    try:
        with _pillow_limit(max_pixels):
            img = Image.open(io.BytesIO(data), formats=[fmt, "MPO"] if fmt == "JPEG" else [fmt])
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        claim = f"claims {int(found.group(1)) / 1e6:.1f} megapixels" if found else "claims too many pixels"
        raise EvidenceError(f"{path} {claim}, over the limit of {max_pixels / 1e6:.1f}: refused as a "
                            "decompression bomb (nothing was decoded)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise EvidenceError(f"{path} looks like {fmt} but its header is damaged or truncated "
                            f"({exc}); ask for a complete copy of the file") from None
    w, h = img.size
    if w < 1 or h < 1:
        raise EvidenceError(f"{path} claims an empty image ({w}×{h} pixels)")
    if w * h > max_pixels:
        raise EvidenceError(
            f"{path} claims {w}×{h} = {w * h / 1e6:.1f} megapixels, over the limit of "
            f"{max_pixels / 1e6:.1f}: refused as a decompression bomb or an unusually large image "
            "(nothing was decoded); if it is genuine, raise the pixel limit")
    return img


_LIMIT_LOCK = threading.Lock()


@contextmanager
def _pillow_limit(max_pixels: int) -> Iterator[None]:
    """Let Pillow open images up to our own limit when it is above Pillow's (our check after
    opening is the one that counts; Pillow's global only ever goes up, briefly)."""
    if Image.MAX_IMAGE_PIXELS is None or max_pixels <= Image.MAX_IMAGE_PIXELS:
        yield
        return
    with _LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _first_frame(img: Image.Image, fmt: str) -> str:
    try:
        frames = int(getattr(img, "n_frames", 1))
    except (OSError, SyntaxError, ValueError, EOFError):
        frames = 1  # a damaged later frame does not matter: only the first is used
    if frames <= 1:
        return ""
    img.seek(0)
    kind = {"GIF": "animated GIF", "WEBP": "animated WebP", "PNG": "animated PNG",
            "TIFF": "multi-page TIFF", "MPO": "multi-picture JPEG"}.get(fmt, f"multi-frame {fmt}")
    unit = "pages" if fmt == "TIFF" else "frames"
    return f"{kind} with {frames} {unit}: the first was used"


def _load(img: Image.Image, path: str) -> None:
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise EvidenceError(f"{path}: the {img.format or 'image'} data is damaged or truncated "
                            f"({exc}); ask for a complete copy of the file") from None


def _orient(img: Image.Image, conversions: list[str], notes: list[str]) -> Image.Image:
    try:
        orientation = int(img.getexif().get(0x0112, 1))
    except (OSError, SyntaxError, ValueError, TypeError):
        return img
    if orientation in (0, 1):
        return img
    what = {2: "mirrored left-right", 3: "rotated 180°", 4: "mirrored top-bottom",
            5: "mirrored and rotated 90° counter-clockwise", 6: "rotated 90° clockwise",
            7: "mirrored and rotated 90° clockwise", 8: "rotated 90° counter-clockwise"}
    if orientation not in what:
        notes.append(f"EXIF orientation {orientation} is invalid and was ignored")
        return img
    turned = ImageOps.exif_transpose(img)
    conversions.append(f"EXIF orientation {orientation} applied: {what[orientation]} "
                       f"({img.width}×{img.height} → {turned.width}×{turned.height})")
    return turned


def to_rgb(img: Image.Image, conversions: list[str], rawmode: str = "") -> np.ndarray:
    """uint8 HxWx3 from any Pillow mode, appending what was done to ``conversions``;
    ``rawmode``: the file's sample layout as Pillow read it (e.g. 'RGB;16B')."""
    mode = img.mode
    if mode == "RGB":
        if ";16" in rawmode:
            conversions.append("16-bit-per-channel RGB reduced to 8 bits by Pillow (high byte kept)")
        return np.asarray(img, dtype=np.uint8).copy()
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _wide_grey(np.asarray(img), mode, conversions)
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        conversions.append("palette colours expanded to RGB")
        img = img.convert("RGBA" if has_alpha else "RGB")
        if not has_alpha:
            return np.asarray(img, dtype=np.uint8).copy()
        mode = img.mode
    if mode in ("RGBA", "LA", "La", "RGBa"):
        _note_alpha(np.asarray(img.getchannel("A")), conversions)
        if mode in ("LA", "La"):
            conversions.append("greyscale copied to R, G and B")
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    notes = {"L": "greyscale copied to R, G and B",
             "1": "1-bit black and white expanded to 0/255 and copied to R, G and B",
             "CMYK": "CMYK converted to RGB with Pillow's formula (no colour management)",
             "YCbCr": "YCbCr converted to RGB", "LAB": "CIELAB converted to RGB",
             "HSV": "HSV converted to RGB", "RGBX": "padding channel of RGBX dropped"}
    conversions.append(notes.get(mode, f"{mode} converted to RGB by Pillow"))
    try:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (ValueError, OSError) as exc:
        raise EvidenceError(f"pixel mode {mode} cannot be converted to RGB ({exc})") from None


def _rawmode(img: Image.Image) -> str:
    tile = getattr(img, "tile", None) or []
    if tile:
        args = tile[0].args if hasattr(tile[0], "args") else tile[0][3]
        if isinstance(args, str):
            return args
        if isinstance(args, tuple) and args and isinstance(args[0], str):
            return args[0]
    return ""


def _note_alpha(alpha: np.ndarray, conversions: list[str]) -> None:
    partial = float(np.mean(alpha < 255)) if alpha.size else 0.0
    if partial == 0:
        conversions.append("alpha channel dropped (fully opaque)")
    else:
        conversions.append(f"alpha channel dropped: {partial:.1%} of pixels are not fully opaque; "
                           "their stored colours were kept (no compositing)")


def _wide_grey(a: np.ndarray, mode: str, conversions: list[str]) -> np.ndarray:
    a = a.astype(np.float64)
    if mode.startswith("I;16"):
        grey = np.rint(a * 255.0 / 65535.0)
        conversions.append("16-bit greyscale scaled to 8 bits (v × 255 / 65535, rounded) and "
                           "copied to R, G and B")
    else:
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        if mode == "F" and lo >= 0.0 and hi <= 1.0:
            grey, how = np.rint(a * 255.0), "0–1 scaled to 0–255"
        elif lo >= 0 and hi <= 255:
            grey, how = np.rint(a), "values 0–255 used as they are"
        elif lo >= 0 and hi <= 65535 and mode == "I":
            grey, how = np.rint(a * 255.0 / 65535.0), "0–65535 scaled to 0–255"
        else:
            span = hi - lo if hi > lo else 1.0
            grey, how = np.rint((a - lo) * 255.0 / span), f"its range {lo:g}…{hi:g} stretched to 0–255"
        kind = "32-bit float" if mode == "F" else "32-bit integer"
        conversions.append(f"{kind} greyscale: {how}, copied to R, G and B")
    grey = np.clip(np.nan_to_num(grey), 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _os_problem(shown: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{shown} is a symbolic link loop (it points back to itself); skipped"
    if exc.errno == errno.EACCES:
        return f"{shown} cannot be read: permission denied; ask for read access or a readable copy"
    return f"{shown} could not be read ({exc.strerror or exc})"


def fit_to_resolution(rgb: np.ndarray, size: int, policy: str = "center-crop") -> tuple[np.ndarray, str]:
    """Bring uint8 HxWx3 to uint8 size×size×3 for the generator; returns it and what was done.

    Policies: ``center-crop`` (default) crops the centred square, then resizes;
    ``pad`` resizes the longer side to ``size`` and pads the rest with black;
    ``stretch`` resizes both sides to ``size`` (changes the aspect ratio);
    ``exact`` refuses anything but size×size. Downscaling averages pixel areas
    (cv2.INTER_AREA), upscaling is bicubic (cv2.INTER_CUBIC, clipped to 0–255).
    """
    from lfp_desktop.casework.resize import fit

    return fit(rgb, size, policy)


__all__ = ["EvidenceImage", "EvidenceError", "read_evidence", "decode_evidence", "read_file",
           "fit_to_resolution", "sniff_format", "to_rgb", "DEFAULT_MAX_PIXELS", "ALLOWED_FORMATS"]
