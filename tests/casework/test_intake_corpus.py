"""The bad-input corpus, made here: every file gets a specific error or a documented conversion,
nothing crashes or stops a batch, and no evidence file is ever written to."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lfp_desktop.casework.intake import fit_to_resolution, read_evidence
from lfp_desktop.cli import main
from lfp_desktop.errors import EvidenceError

NON_UTF8 = b"\xff\xfe-evidence.png"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    """A PNG written by hand, so headers can claim whatever a hostile file claims."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def bomb_png(side: int) -> bytes:
    """A real, valid 1-bit PNG of side×side zeros: a few kB that would decode to side² pixels."""
    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    parts = [packer.compress(row * 1000) for _ in range(side // 1000)]
    parts.append(packer.flush())
    return png_bytes(side, side, 1, 0, b"".join(parts))


def encoded(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def noise(w: int, h: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def build_corpus(folder: Path) -> None:
    folder.mkdir()
    w = lambda name, data: (folder / name).write_bytes(data)  # noqa: E731
    w("zero-bytes.png", b"")
    full_png = encoded(noise(256, 256), "PNG")
    w("truncated.png", full_png[: int(len(full_png) * 0.6)])
    full_jpg = encoded(noise(256, 256, 1), "JPEG", quality=95)
    w("truncated.jpg", full_jpg[: int(len(full_jpg) * 0.6)])
    w("notes-named.png", b"Meeting notes: bring the hard drive.\nNothing else.\n")
    w("document-named.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    w("bomb.png", bomb_png(20_000))
    w("bomb-header-only.png", png_bytes(100_000, 100_000, 8, 2, zlib.compress(b"\x00" * 10)))
    w("one-pixel.png", encoded(Image.new("RGB", (1, 1), (200, 100, 50)), "PNG"))
    grad = np.tile(np.arange(6000, dtype=np.uint32) % 256, (4000, 1)).astype(np.uint8)
    w("huge-but-legal.png", encoded(Image.fromarray(grad), "PNG", compress_level=1))
    grey16 = np.array([[0, 257, 32896], [65535, 1000, 65280]], dtype=np.uint16)
    w("grey-16bit.png", encoded(Image.fromarray(grey16), "PNG"))
    rgb16 = np.full((2, 2, 3), 0x1234, dtype=">u2")
    raw = b"".join(b"\x00" + rgb16[y].tobytes() for y in range(2))
    w("rgb-16bit.png", png_bytes(2, 2, 16, 2, zlib.compress(raw)))
    w("cmyk.jpg", encoded(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95))
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    w("animated.gif", buf.getvalue())
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "ExampleCam"
    w("rotated.jpg", encoded(Image.new("RGB", (40, 20), (0, 0, 0)), "JPEG", exif=exif.tobytes()))
    pal = Image.new("P", (4, 4), 1)
    pal.putpixel((0, 0), 0)  # the one transparent pixel
    pal.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    w("palette-transparent.png", encoded(pal, "PNG", transparency=0))
    w("grey-alpha.png", encoded(Image.new("LA", (4, 4), (90, 255)), "PNG"))
    w("png-named.jpg", encoded(Image.new("RGB", (4, 4)), "PNG"))
    pages = [Image.new("L", (6, 6), v) for v in (10, 20)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    w("two-pages.tif", buf.getvalue())
    w("float.tif", encoded(Image.fromarray(np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)), "TIFF"))
    w("small.webp", encoded(Image.new("RGB", (8, 8), (1, 2, 3)), "WEBP", lossless=True))
    w("small.bmp", encoded(Image.new("RGB", (8, 8), (4, 5, 6)), "BMP"))
    (folder / os.fsdecode(NON_UTF8)).write_bytes(encoded(Image.new("RGB", (3, 3)), "PNG"))
    os.symlink("self-loop", folder / "self-loop")
    os.symlink(".", folder / "loop-to-parent")
    os.mkfifo(folder / "a-pipe.png")


# name -> ("error", what the message must say) or ("ok", a conversion/note it must record)
EXPECTED = {
    "zero-bytes.png": ("error", "is empty (0 bytes)"),
    "truncated.png": ("error", "damaged or truncated"),
    "truncated.jpg": ("error", "damaged or truncated"),
    "notes-named.png": ("error", "it holds text (it starts with 'Meeting notes: bring the hard drive."),
    "document-named.png": ("error", "it is a PDF document"),
    "bomb.png": ("error", "claims 400.0 megapixels, over the limit of 67.1: refused as a decompression bomb"),
    "bomb-header-only.png": ("error", "megapixels, over the limit of 67.1: refused as a decompression bomb"),
    "a-pipe.png": ("error", "not a regular file"),
    "self-loop": ("error", "symbolic link loop"),
    "one-pixel.png": ("ok", ""),
    "huge-but-legal.png": ("ok", "greyscale copied to R, G and B"),
    "grey-16bit.png": ("ok", "16-bit greyscale scaled to 8 bits"),
    "rgb-16bit.png": ("ok", "16-bit-per-channel RGB reduced to 8 bits"),
    "cmyk.jpg": ("ok", "CMYK converted to RGB"),
    "animated.gif": ("ok", "animated GIF with 3 frames: the first was used"),
    "rotated.jpg": ("ok", "EXIF orientation 6 applied: rotated 90° clockwise"),
    "palette-transparent.png": ("ok", "alpha channel dropped: 6.2% of pixels are not fully opaque"),
    "grey-alpha.png": ("ok", "alpha channel dropped (fully opaque)"),
    "png-named.jpg": ("ok", "the file name ends in .jpg but the content is PNG"),
    "two-pages.tif": ("ok", "multi-page TIFF with 2 pages: the first was used"),
    "float.tif": ("ok", "32-bit float greyscale: 0–1 scaled to 0–255"),
    "small.webp": ("ok", ""),
    "small.bmp": ("ok", ""),
    os.fsdecode(NON_UTF8): ("ok", ""),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("evidence") / "corpus"
    build_corpus(folder)
    return folder


def fingerprints(folder: Path) -> dict[str, tuple[str, int, int]]:
    """sha256, size and mtime of every regular file (what must never change)."""
    out = {}
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            out[entry.name] = (hashlib.sha256(Path(entry.path).read_bytes()).hexdigest(), st.st_size,
                               st.st_mtime_ns)
    return out


def everything(image) -> str:
    return " | ".join(list(image.conversions) + [image.frames_note] + list(image.warnings))


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"huge-but-legal.png"}))
def test_each_file_gets_a_specific_error_or_a_documented_conversion(corpus: Path, name: str) -> None:
    kind, text = EXPECTED[name]
    path = corpus / name
    if kind == "error":
        with pytest.raises(EvidenceError) as err:
            read_evidence(path)
        assert text in str(err.value)
        return
    image = read_evidence(path)
    assert text in everything(image)
    assert image.rgb.dtype == np.uint8 and image.rgb.ndim == 3 and image.rgb.shape[2] == 3
    assert image.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_conversions_produce_the_documented_values(corpus: Path) -> None:
    grey = read_evidence(corpus / "grey-16bit.png").rgb
    assert grey[..., 0].tolist() == [[0, 1, 128], [255, 4, 254]] and (grey[..., 0] == grey[..., 2]).all()
    assert read_evidence(corpus / "rgb-16bit.png").rgb[0, 0].tolist() == [0x12, 0x12, 0x12]
    assert read_evidence(corpus / "animated.gif").rgb[0, 0].tolist() == [255, 0, 0]
    rotated = read_evidence(corpus / "rotated.jpg")
    assert (rotated.width, rotated.height) == (40, 20) and rotated.rgb.shape == (40, 20, 3)
    assert rotated.exif_summary["Make"] == "ExampleCam"
    assert read_evidence(corpus / "float.tif").rgb[..., 0].tolist() == [[0, 128], [255, 64]]
    assert read_evidence(corpus / "one-pixel.png").rgb.tolist() == [[[200, 100, 50]]]


def test_a_jpeg_keeps_its_quantisation_grid_only_while_its_pixels_are_unchanged(tmp_path: Path) -> None:
    from lfp_desktop.casework import fit_to_resolution

    path = tmp_path / "plain.jpg"
    path.write_bytes(encoded(noise(64, 48), "JPEG", quality=60))
    ev = read_evidence(path)
    assert ev.jpeg_grid is not None and ev.jpeg_grid.subsampling == (2, 2) and ev.jpeg_grid.luma[0] > 1
    assert ev.grid_for(ev.rgb) == ev.jpeg_grid
    resized, _ = fit_to_resolution(ev.rgb, 32)
    assert ev.grid_for(resized) is None  # resampled pixels no longer sit on the file's grid
    square = tmp_path / "square.jpg"
    square.write_bytes(encoded(noise(32, 32), "JPEG", quality=60))
    sq = read_evidence(square)
    assert sq.grid_for(fit_to_resolution(sq.rgb, 32)[0]) == sq.jpeg_grid
    png = tmp_path / "plain.png"
    png.write_bytes(encoded(noise(32, 32), "PNG"))
    assert read_evidence(png).jpeg_grid is None


def test_a_rotated_jpeg_has_no_grid(corpus: Path) -> None:
    assert read_evidence(corpus / "rotated.jpg").jpeg_grid is None  # EXIF rotation moved the blocks


def test_huge_but_legal_image_decodes_and_fits(corpus: Path) -> None:
    image = read_evidence(corpus / "huge-but-legal.png")
    assert (image.width, image.height) == (6000, 4000) and image.rgb.shape == (4000, 6000, 3)
    assert "greyscale copied to R, G and B" in image.conversions
    small, how = fit_to_resolution(image.rgb, 64)
    assert small.shape == (64, 64, 3) and "downscaled, area averaging" in how


def test_pixel_limit_is_adjustable(corpus: Path) -> None:
    with pytest.raises(EvidenceError, match="over the limit of 0.0"):
        read_evidence(corpus / "one-pixel.png", max_pixels=0)
    # above Pillow's own limit our limit still decides: the header-only "bomb" now gets as far
    # as decoding, where its missing pixel data is found
    with pytest.raises(EvidenceError, match="damaged or truncated"):
        read_evidence(corpus / "bomb-header-only.png", max_pixels=10**10)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: file permissions do not stop root from reading, so an "
                           "unreadable file cannot be made here")
def test_unreadable_file_says_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "locked.png"
    path.write_bytes(encoded(Image.new("RGB", (2, 2)), "PNG"))
    path.chmod(0)
    try:
        with pytest.raises(EvidenceError, match="permission denied"):
            read_evidence(path)
    finally:
        path.chmod(0o600)


def test_inspect_handles_the_whole_corpus_and_changes_nothing(corpus: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    before = fingerprints(corpus)
    code = main(["inspect", str(corpus), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    by_name = {Path(r["path"]).name: r for r in records}
    shown_non_utf8 = NON_UTF8.decode("utf-8", "backslashreplace")
    assert set(by_name) == (set(EXPECTED) - {os.fsdecode(NON_UTF8)}) | {"loop-to-parent", shown_non_utf8}
    for name, (kind, text) in EXPECTED.items():
        record = by_name[shown_non_utf8 if name == os.fsdecode(NON_UTF8) else name]
        if kind == "error":
            assert text in record["error"] and "sha256" not in record
        else:
            assert {"sha256", "format", "width", "height", "conversions"} <= set(record)
    assert "symbolic link loop" in by_name["loop-to-parent"]["error"]
    assert "not valid UTF-8" in by_name[shown_non_utf8]["path_note"]
    assert fingerprints(corpus) == before
