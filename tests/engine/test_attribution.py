import threading

import numpy as np
import pytest

from lfp_desktop.engine.attribution import AttributionCancelled, AttributionSettings, attribute
from lfp_desktop.engine.fingerprint import generate
from lfp_desktop.engine.reference import sequential_attribution
from tests.engine.tiny import KEY




def test_batched_starts_equal_sequential_runs(model):
    gen, scheme = model
    images = generate(gen, scheme, KEY, [3, 4]).images
    settings = AttributionSettings.reference(starts=3, steps=12, seed=5)
    batched = attribute(gen, scheme, list(images), settings=settings)
    for i, res in enumerate(batched):
        seq = sequential_attribution(gen, scheme, images[i], settings=settings, image_index=i)
        for j, start in enumerate(seq):
            np.testing.assert_allclose(res.loss_curves[:, j], start.losses, rtol=2e-4, atol=1e-6)
            np.testing.assert_allclose(res.final_losses[j], start.losses[-1], rtol=2e-4)
        best = int(np.argmin([s.losses[-1] for s in seq]))
        assert res.winning_start == best
        np.testing.assert_allclose(np.log(res.bit_probs / (1 - res.bit_probs)), seq[best].kappa, atol=1e-3)


def test_progress_reports_and_pruning(model):
    gen, scheme = model
    images = list(generate(gen, scheme, KEY, [1, 2]).images)
    reports = []
    settings = AttributionSettings(starts=8, steps=60, halving_steps=(10, 20), min_survivors=2,
                                   early_stopping=False)
    res = attribute(gen, scheme, images, settings=settings, callback=reports.append)
    per_image = {0: [], 1: []}
    for r in reports:
        per_image[r.image_index].append(r)
    for i, reps in per_image.items():
        steps = [r.step for r in reps if not r.done]
        assert steps == list(range(1, 61))
        assert reps[-1].done
        assert [r.active_starts for r in reps if r.step == 5][0] == 8
        assert [r.active_starts for r in reps if r.step == 15][0] == 4
        assert [r.active_starts for r in reps if r.step == 30 and not r.done][0] == 2
        # pruned starts have NaN after they were dropped
        assert np.isnan(res[i].loss_curves[-1]).sum() == 6
        assert np.isfinite(res[i].loss_curves[:10]).all()


def test_early_stopping_stops_settled_images(model):
    gen, scheme = model
    image = generate(gen, scheme, KEY, [7]).images[0]
    s = AttributionSettings(starts=4, steps=3000, min_steps=50, patience=30, rel_tol=1e-2, halving_steps=())
    res = attribute(gen, scheme, [image], settings=s)[0]
    assert 50 <= res.steps_run < 3000
    assert res.loss_curves.shape == (res.steps_run, 4)


def test_cancel_between_steps(model):
    gen, scheme = model
    image = generate(gen, scheme, KEY, [7]).images[0]
    flag = threading.Event()
    seen = []

    def on_step(r):
        seen.append(r.step)
        if r.step == 3:
            flag.set()

    with pytest.raises(AttributionCancelled):
        attribute(gen, scheme, [image], settings=AttributionSettings(starts=2, steps=100), callback=on_step, cancel=flag)
    assert max(seen) == 3


def test_rejects_wrong_image_size(model):
    gen, scheme = model
    from lfp_desktop.errors import LFPError

    with pytest.raises(LFPError, match="16×16×3"):
        attribute(gen, scheme, [np.zeros((32, 32, 3), np.uint8)])


def test_result_does_not_depend_on_batch_position(model):
    gen, scheme = model
    images = list(generate(gen, scheme, KEY, [21, 22]).images)
    s = AttributionSettings(starts=3, steps=15, early_stopping=False, halving_steps=())
    alone = attribute(gen, scheme, [images[1]], settings=s)[0]
    second = attribute(gen, scheme, images, settings=s)[1]
    np.testing.assert_allclose(alone.final_losses, second.final_losses, rtol=1e-4)
    assert alone.bits.tolist() == second.bits.tolist()
