"""Levenberg–Marquardt polishing of a start that Adam has brought near a minimum.

Adam at the schedule's learning rates jitters around a minimum and reaches the 8-bit
quantisation floor only after thousands of steps; a bit whose image effect is small can sit
on the wrong side of ½ until then. With the pixel loss the problem is least squares, so a
few Gauss–Newton steps with Marquardt damping from Adam's state converge to the floor in
2–3 iterations. Jacobians come from forward-mode AD (one Jacobian–vector product per
coordinate, batched in chunks), so no extra code is needed per generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# Jacobian entries computed per vmapped chunk: bounds the memory of forward-mode AD.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Polished:
    theta: torch.Tensor  # the coordinates after the last accepted step
    objective: float  # objective(theta)
    iterations: int  # accepted steps


def jacobian(residual: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    """(N, P) Jacobian of a residual function R^P → R^N at theta, by forward-mode AD."""
    n = residual(theta).numel()
    chunk = max(1, min(theta.numel(), _CHUNK_ELEMENTS // max(n, 1)))

    def column(tangent: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(residual, (theta,), (tangent,))[1]

    eye = torch.eye(theta.numel(), dtype=theta.dtype, device=theta.device)
    return torch.func.vmap(column, chunk_size=chunk)(eye).T


def levenberg_marquardt(residual: Callable[[torch.Tensor], torch.Tensor],
                        objective: Callable[[torch.Tensor], float],
                        theta: torch.Tensor, *, iterations: int,
                        project: Callable[[torch.Tensor], torch.Tensor] = lambda t: t,
                        rel_tol: float = 1e-3, damping: float = 1e-3) -> Polished:
    """Minimise ``objective`` (the mean square of ``residual`` plus any penalty) from theta.

    Each iteration solves (JᵀJ + λ diag(JᵀJ)) δ = −Jᵀr in float64, projects θ + δ onto the
    feasible set and accepts it only if the objective falls; λ shrinks after a success and
    grows after a failure. Stops after ``iterations`` Jacobians, when the objective improved
    by less than ``rel_tol`` of itself, or when no damping gives an improvement.
    """
    theta = project(theta.detach())
    best = objective(theta)
    accepted = 0
    lam = damping
    for _ in range(iterations):
        with torch.no_grad():
            r = residual(theta).double()
        jac = jacobian(residual, theta).double()
        a = jac.T @ jac
        g = jac.T @ r
        diag = torch.diag(torch.diag(a)) + 1e-9 * torch.eye(len(a), dtype=a.dtype, device=a.device)
        improved = False
        while lam <= 1e6:
            step = torch.linalg.solve(a + lam * diag, -g).to(theta.dtype)
            trial = project(theta + step)
            value = objective(trial)
            if value < best:
                gain = best - value
                theta, best, improved = trial, value, True
                lam = max(lam / 3.0, 1e-7)
                break
            lam *= 4.0
        if not improved:
            break
        accepted += 1
        if gain <= rel_tol * best:
            break
    return Polished(theta=theta, objective=best, iterations=accepted)
