import cv2
import numpy as np
import torch

from lfp_desktop.engine.attribution import AttributionSettings, attribute
from lfp_desktop.engine.degradation import blur_rows, initial_logits, symmetric_kernels
from lfp_desktop.engine.fingerprint import generate
from lfp_desktop.engine.images import from_uint8
from tests.engine.tiny import KEY


def test_kernels_are_symmetric_normalised_and_start_near_identity():
    logits = torch.randn(5, 4)
    k = symmetric_kernels(logits)
    assert k.shape == (5, 7)
    torch.testing.assert_close(k, k.flip(1))
    torch.testing.assert_close(k.sum(1), torch.ones(5))
    assert (k >= 0).all()
    start = symmetric_kernels(initial_logits(2, 3, "cpu"))
    assert (start[:, 3] > 0.98).all()


def test_blur_matches_opencv_gaussian_blur(model):
    gen, scheme = model
    img = generate(gen, scheme, KEY, [11]).images[0]
    sigma, radius = 1.5, 4
    taps = cv2.getGaussianKernel(2 * radius + 1, sigma).ravel()
    ours = blur_rows(from_uint8(img[None], "cpu"), torch.tensor(taps[None], dtype=torch.float32))
    ref = cv2.GaussianBlur(img.astype(np.float32), (2 * radius + 1, 2 * radius + 1), sigma,
                           borderType=cv2.BORDER_REFLECT_101)
    ref_t = torch.as_tensor(ref / 127.5 - 1.0).permute(2, 0, 1)[None].float()
    torch.testing.assert_close(ours, ref_t, atol=1e-4, rtol=1e-4)


def test_learnt_blur_explains_blurred_evidence(model):
    gen, scheme = model
    img = generate(gen, scheme, KEY, [5]).images[0]
    blurred = cv2.GaussianBlur(img, (7, 7), 1.5, borderType=cv2.BORDER_REFLECT_101)
    base = AttributionSettings(starts=4, steps=150, early_stopping=False, halving_steps=())
    plain = attribute(gen, scheme, [blurred], settings=base)[0]
    fitted = attribute(gen, scheme, [blurred], settings=AttributionSettings(
        starts=4, steps=150, early_stopping=False, halving_steps=(), blur_radius=4))[0]
    assert plain.blur_kernel.shape == (1,) and fitted.blur_kernel.shape == (9,)
    assert abs(fitted.blur_kernel.sum() - 1.0) < 1e-6
    assert fitted.blur_kernel[4] < 0.6  # it learnt a real blur, not the identity
    assert fitted.reconstruction_distance < 0.5 * plain.reconstruction_distance
    assert (fitted.bits == KEY).all()


def test_reference_settings_model_no_evidence_processing():
    ref = AttributionSettings.reference()
    assert ref.blur_radius == 0 and not ref.clip_output and not ref.normalise_coordinates


def test_with_the_blur_model_the_stricter_settle_threshold_governs_the_stop(model):
    gen, scheme = model
    img = generate(gen, scheme, KEY, [5]).images[0]
    blurred = cv2.GaussianBlur(img, (7, 7), 1.5, borderType=cv2.BORDER_REFLECT_101)
    # Only the confidence clause can stop an image here (rel_tol 0 disables the loss clause).
    base = dict(starts=2, steps=160, min_steps=40, patience=10, rel_tol=0.0, polish_iterations=0, blur_radius=3)
    lenient = attribute(gen, scheme, [blurred], settings=AttributionSettings(
        **base, settle_confidence=0.6, settle_confidence_blurred=0.02))[0]
    never = attribute(gen, scheme, [blurred], settings=AttributionSettings(
        **base, settle_confidence=0.02, settle_confidence_blurred=0.6))[0]  # |p − ½| never reaches 0.6
    assert never.steps_run == 160
    assert lenient.steps_run < 160
