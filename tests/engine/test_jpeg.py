"""The JPEG evidence model: grids read from real files, coefficients as the codec computes
them, and a likelihood under which the true latent of a compressed demo image stays put."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from lfp_desktop.engine.attribution import AttributionSettings, attribute
from lfp_desktop.engine.fingerprint import generate
from lfp_desktop.engine.images import from_uint8
from lfp_desktop.engine.jpeg import JpegAwareLoss, _dct_matrix, coefficients
from lfp_desktop.engine.jpeg_grid import jpeg_grid
from lfp_desktop.engine.losses import PixelLoss
from tests.engine.tiny import KEY

STANDARD_LUMA_ROW = [16, 11, 10, 16, 24, 40, 51, 61]  # the first row of the quality-50 luma table


def jpeg_bytes(img: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


def jpeg_file(img: np.ndarray, quality: int, subsampling: int = 2) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_bytes(img, quality, subsampling)))


def smooth_picture(size: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    chans = [np.sin(2 * np.pi * (rng.uniform(0.5, 2) * x + rng.uniform(0.5, 2) * y) + rng.uniform(0, 6))
             for _ in range(3)]
    return np.clip(np.stack(chans, -1) * 90 + 128 + rng.normal(0, 8, (size, size, 3)), 0, 255).astype(np.uint8)


def test_the_grid_is_read_from_the_file():
    img = smooth_picture()
    grid = jpeg_grid(jpeg_file(img, 50))
    assert list(grid.luma[:8]) == STANDARD_LUMA_ROW and len(grid.chroma) == 64
    assert grid.subsampling == (2, 2) and grid.fits(32, 32) and not grid.fits(32, 40)
    assert jpeg_grid(jpeg_file(img, 50, subsampling=0)).subsampling == (1, 1)
    assert max(jpeg_grid(jpeg_file(img, 80)).luma) < max(grid.luma)  # higher quality, finer steps
    png = io.BytesIO()
    Image.fromarray(img).save(png, format="PNG")
    assert jpeg_grid(Image.open(io.BytesIO(png.getvalue()))) is None
    grey = io.BytesIO()
    Image.fromarray(img[..., 0]).save(grey, format="JPEG", quality=50)
    assert jpeg_grid(Image.open(io.BytesIO(grey.getvalue()))) is None
    hostile = bytearray(jpeg_bytes(img, 50))
    hostile[hostile.find(b"\xff\xdb") + 5] = 0  # a quantisation step of 0 (invalid; Pillow decodes it)
    assert jpeg_grid(Image.open(io.BytesIO(bytes(hostile)))) is None


@pytest.mark.parametrize("subsampling", [0, 2])
def test_stored_coefficients_come_back_from_the_decoded_pixels(subsampling):
    """Quantising our DCT of the original gives what the codec stored: the same integers as
    quantising our DCT of the decoded pixels (JFIF colours, 8×8 orthonormal DCT, box chroma)."""
    dct = _dct_matrix("cpu")
    for seed in range(3):
        img = smooth_picture(seed=seed)
        f = jpeg_file(img, 60, subsampling)
        grid, decoded = jpeg_grid(f), np.asarray(f.convert("RGB"))
        (lo, co), (ld, cd) = (coefficients(from_uint8(x), grid, dct) for x in (img, decoded))
        qy = torch.tensor(grid.luma, dtype=torch.float32).reshape(8, 8)
        qc = torch.tensor(grid.chroma, dtype=torch.float32).reshape(8, 8)
        assert (torch.round(lo / qy) == torch.round(ld / qy)).float().mean() > 0.98
        assert (torch.round(co / qc) == torch.round(cd / qc)).float().mean() > 0.95  # decoders interpolate chroma
        assert (torch.round(lo / qy) == 0).float().mean() > 0.5  # most detail was dropped


def test_the_original_fits_where_the_pixel_loss_sees_a_difference():
    img = smooth_picture(seed=4)
    f = jpeg_file(img, 50)
    decoded = np.asarray(f.convert("RGB"))
    loss = JpegAwareLoss([jpeg_grid(f)], PixelLoss())
    loss.prepare(from_uint8(decoded))
    rows = torch.zeros(2, dtype=torch.long)
    other = np.clip(img.astype(int) + 40 * (np.indices(img.shape[:2]).sum(0) % 16 < 8)[..., None], 0, 255)
    jpeg_aware = loss(from_uint8(np.stack([img, other.astype(np.uint8)])), rows)
    pixel = PixelLoss()
    pixel.prepare(from_uint8(decoded))
    assert pixel(from_uint8(img), rows[:1]) > 1e-3  # compression changed the pixels ...
    assert jpeg_aware[0] < 0.1  # ... but the original lies inside (nearly) every stored interval
    assert jpeg_aware[1] > 10 * jpeg_aware[0]  # a real change does not
    assert loss.image_loss_name(0) == "pixel+jpeg"


def _fit_from_truth(gen, scheme, latents, bits, targets, loss, steps=250):
    """Adam on (α, κ) from the true latent and key, as attribution would optimise them."""
    b = scheme.torch_basis("cpu")
    alpha = (((torch.as_tensor(latents) - b["mean"]) @ b["U"].T) / b["free_stds"]).requires_grad_(True)
    kappa = torch.as_tensor(np.where(bits, 4.0, -4.0), dtype=torch.float32).requires_grad_(True)
    opt = torch.optim.Adam([alpha, kappa], lr=0.02)
    loss.prepare(targets)
    rows = torch.arange(len(bits))
    for _ in range(steps):
        w = b["mean"] + (alpha * b["free_stds"]) @ b["U"] + scheme.sigma * (scheme.encode_soft(torch.sigmoid(kappa)) @ b["V"])
        value = loss(gen.synthesis(w).clamp(-1, 1), rows)
        opt.zero_grad()
        value.sum().backward()
        opt.step()
    return ((kappa > 0).numpy() != bits).sum(1)


def test_on_compressed_demo_images_the_true_key_holds_only_under_the_jpeg_model(demo_model):
    """At quality 30 the pixel loss prefers a wrong key near the true latent of every image (it
    fits block artefacts and dropped detail); the JPEG model keeps every bit."""
    gen, scheme = demo_model
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2, (2, scheme.key_len), dtype=np.uint8)
    batch = generate(gen, scheme, bits, [101, 202])
    files = [jpeg_file(im, 30) for im in batch.images]
    targets = from_uint8(np.stack([np.asarray(f.convert("RGB")) for f in files]))
    pixel_wrong = _fit_from_truth(gen, scheme, batch.latents, bits, targets, PixelLoss())
    jpeg_wrong = _fit_from_truth(gen, scheme, batch.latents, bits, targets,
                                 JpegAwareLoss([jpeg_grid(f) for f in files], PixelLoss()))
    assert jpeg_wrong.tolist() == [0, 0]
    assert (pixel_wrong > 0).all()


def test_attribution_uses_the_grid_per_image(model):
    gen, scheme = model
    img = generate(gen, scheme, KEY, [7]).images[0]
    f = jpeg_file(img, 70)
    decoded = np.asarray(f.convert("RGB"))
    settings = AttributionSettings(starts=2, steps=30, early_stopping=False, halving_steps=())
    with_grid, plain = attribute(gen, scheme, [decoded, img], settings=settings, jpeg=[jpeg_grid(f), None])
    assert (with_grid.loss_name, plain.loss_name) == ("pixel+jpeg", "pixel")
    assert with_grid.polish_iterations == 0  # polishing is for the pixel loss only
    off = attribute(gen, scheme, [decoded], settings=AttributionSettings(
        starts=2, steps=30, early_stopping=False, halving_steps=(), jpeg_model=False), jpeg=[jpeg_grid(f)])[0]
    assert off.loss_name == "pixel"
    assert AttributionSettings.reference().jpeg_model is False
    # Each image keeps its own loss wherever it stands in the batch.
    plain_first, grid_second = attribute(gen, scheme, [img, decoded], settings=settings, jpeg=[None, jpeg_grid(f)])
    np.testing.assert_allclose(grid_second.final_losses, with_grid.final_losses, rtol=1e-4)
    np.testing.assert_allclose(plain_first.final_losses, plain.final_losses, rtol=1e-4)
