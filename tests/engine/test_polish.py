"""Levenberg–Marquardt polishing: the solver on small known problems and in the engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lfp_desktop.engine.attribution import AttributionSettings, attribute
from lfp_desktop.engine.fingerprint import base_latents, fingerprint_latents, generate
from lfp_desktop.engine.images import to_uint8
from lfp_desktop.engine.polish import jacobian, levenberg_marquardt
from tests.engine.tiny import KEY

T = torch.linspace(0.0, 2.0, 40)
TRUE = torch.tensor([1.5, -0.8, 0.3])


def _curve(theta: torch.Tensor) -> torch.Tensor:
    return theta[0] * torch.exp(theta[1] * T) + theta[2]


def _residual(theta: torch.Tensor) -> torch.Tensor:
    return _curve(theta) - _curve(TRUE)


def _objective(theta: torch.Tensor) -> float:
    return float(_residual(theta).square().mean())


def test_jacobian_matches_reverse_mode():
    theta = torch.tensor([0.7, 0.2, -1.0])
    expected = torch.autograd.functional.jacobian(_residual, theta)
    torch.testing.assert_close(jacobian(_residual, theta), expected)


def test_fits_a_nonlinear_curve_from_a_rough_start():
    out = levenberg_marquardt(_residual, _objective, torch.tensor([1.0, -0.3, 0.0]), iterations=50, rel_tol=0.0)
    assert out.objective < 1e-8
    torch.testing.assert_close(out.theta, TRUE, atol=1e-3, rtol=0)
    assert out.iterations >= 3


def test_projection_and_no_worse_than_the_start():
    # The optimum (third parameter 0.3) is outside the feasible set [-1, 0]: the answer sits on the bound.
    out = levenberg_marquardt(_residual, _objective, torch.tensor([1.0, -0.5, -0.5]), iterations=30,
                              project=lambda t: torch.cat([t[:2], t[2:].clamp(-1.0, 0.0)]))
    assert float(out.theta[2]) <= 0.0
    assert out.objective < _objective(torch.tensor([1.0, -0.5, -0.5]))
    start = TRUE.clone()  # already optimal: nothing to accept, theta unchanged
    same = levenberg_marquardt(_residual, _objective, start, iterations=5)
    assert same.iterations == 0 and torch.equal(same.theta, start)



def test_polish_finishes_what_few_adam_steps_started(model):
    gen, scheme = model
    images = list(generate(gen, scheme, KEY, [1, 2, 3, 4, 5, 6]).images)
    base = dict(starts=4, steps=20, early_stopping=False)
    adam = attribute(gen, scheme, images, settings=AttributionSettings(**base, polish_iterations=0))
    polished = attribute(gen, scheme, images, settings=AttributionSettings(**base, polish_iterations=5))
    for a, p in zip(adam, polished):
        assert a.polish_iterations == 0
        # Only improvements are accepted, start by start; the Adam history itself is untouched.
        assert (p.final_losses <= a.final_losses).all()
        np.testing.assert_array_equal(p.loss_curves, a.loss_curves)
        assert p.to_dict(arrays=False)["polish_iterations"] == p.polish_iterations
    assert sum(int((a.bits != KEY).sum()) for a in adam) > 0  # 20 steps of Adam alone are not enough
    assert all((p.bits == KEY).all() for p in polished)
    assert np.median([p.final_losses.min() for p in polished]) < 1e-4 < np.median([a.final_losses.min() for a in adam])
    assert max(p.polish_iterations for p in polished) >= 2


def test_reference_settings_do_not_polish(model):
    gen, scheme = model
    image = generate(gen, scheme, KEY, [1]).images[0]
    res = attribute(gen, scheme, [image], settings=AttributionSettings.reference(starts=2, steps=10))[0]
    assert res.polish_iterations == 0 and res.settings["polish_iterations"] == 0


def test_a_latent_beyond_three_stds_is_reached(model):
    """About one real latent in five has a free coordinate beyond ±3 stds; the default penalty
    bound lets the search reach it, the published ±3 holds it back."""
    gen, scheme = model
    u, s, mu = scheme.U[0], scheme.free_stds[0], scheme.mean  # the free coordinate with the largest spread
    with torch.no_grad():
        w = base_latents(gen, scheme, [7]).double()
        w += torch.as_tensor((4.5 * s - (w[0].numpy() - mu) @ u) * u)
        image = to_uint8(gen.synthesis(fingerprint_latents(w, scheme, KEY)))[0]
    found = {bound: attribute(gen, scheme, [image], settings=AttributionSettings(starts=4, steps=300,
                                                                                 penalty_bound=bound))[0]
             for bound in (3.0, 5.0)}

    def reached(r):  # noqa: ANN001, ANN202
        return float((r.latent - mu) @ u / s)

    assert (found[5.0].bits == KEY).all() and reached(found[5.0]) == pytest.approx(4.5, abs=0.25)
    assert reached(found[3.0]) < 4.0
    assert AttributionSettings().penalty_bound == 5.0 and AttributionSettings.reference().penalty_bound == 3.0
