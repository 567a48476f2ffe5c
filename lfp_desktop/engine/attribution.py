"""The fingerprint estimator: batched multi-start inversion of the generator.

For each image x the unknowns are α (coordinates in U) and key logits κ:

    ŵ(α, κ) = μ + Uᵀα + σ · Vᵀ enc(sigmoid(κ))
    L(α, κ) = D(x, g(ŵ)) + λ Σ_j [relu(α_j − 3 s_j) + relu(−3 s_j − α_j)]

All starts of all images run as one batch. The total loss is the *sum* of the per-start
losses and Adam is element-wise, so every start follows exactly the path it would follow
alone. Losing starts may be dropped (successive halving) and settled images stopped early;
both decisions use only losses and the stability of the decoded bits. With the pixel loss the
best starts of a finished image are then polished by Levenberg–Marquardt (engine/polish.py).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from lfp_desktop import __version__
from lfp_desktop.engine.degradation import blur_rows, initial_logits, symmetric_kernels
from lfp_desktop.engine.images import from_uint8, to_uint8
from lfp_desktop.engine.jpeg import JpegAwareLoss
from lfp_desktop.engine.jpeg_grid import JpegGrid
from lfp_desktop.engine.losses import ImageLoss, make_loss
from lfp_desktop.engine.polish import levenberg_marquardt
from lfp_desktop.engine.scheme import Scheme
from lfp_desktop.engine.settings import AttributionSettings
from lfp_desktop.errors import LFPError


class AttributionCancelled(LFPError):
    """Raised when the cancel flag is set between optimisation steps."""


@dataclass(frozen=True)
class StepReport:
    """Progress after one optimisation step for one image (plain data, no tensors)."""

    image_index: int
    step: int
    losses: np.ndarray  # float64 (starts,), NaN where a start was dropped or stopped
    best_start: int
    best_loss: float
    bit_probs: np.ndarray  # float64 (K,), sigmoid(κ) of the best start
    active_starts: int
    done: bool


@dataclass(frozen=True)
class AttributionResult:
    """Outcome of inverting one image; arrays are numpy, never live tensors."""

    bits: np.ndarray  # uint8 (K,) decoded key 1[sigmoid(κ) > ½] of the winning start
    bit_probs: np.ndarray  # float64 (K,)
    confidence: np.ndarray  # float64 (K,) |sigmoid(κ) − ½| in [0, ½]
    agreement: np.ndarray  # float64 (K,) fraction of finishing starts agreeing with the winner
    winning_start: int
    final_losses: np.ndarray  # float64 (starts,) last loss of each start
    loss_curves: np.ndarray  # float32 (steps_run, starts), NaN after a start stopped
    reconstruction: np.ndarray  # uint8 (H, W, 3)
    reconstruction_distance: float  # D(x, blur(g(ŵ))) without the penalty
    latent: np.ndarray  # float32 (d,) the winning ŵ
    blur_kernel: np.ndarray  # float64 (2r + 1,) the winning start's learnt blur ([1.] when off)
    steps_run: int  # Adam steps
    polish_iterations: int  # accepted Levenberg–Marquardt steps of the winning start (0: not polished)
    seconds: float
    loss_name: str
    device: str
    settings: dict[str, Any] = field(default_factory=dict)
    engine_version: str = __version__

    def to_dict(self, *, arrays: bool = True) -> dict[str, Any]:
        """JSON-ready dict; ``arrays=False`` leaves out the curves, image and latent."""
        d: dict[str, Any] = {
            "bits": "".join(map(str, self.bits.tolist())), "bit_probs": self.bit_probs.round(6).tolist(),
            "confidence": self.confidence.round(6).tolist(), "agreement": self.agreement.round(4).tolist(),
            "winning_start": self.winning_start, "final_losses": self.final_losses.tolist(),
            "reconstruction_distance": self.reconstruction_distance,
            "blur_kernel": self.blur_kernel.round(6).tolist(), "steps_run": self.steps_run,
            "polish_iterations": self.polish_iterations,
            "seconds": round(self.seconds, 4), "loss": self.loss_name, "device": self.device,
            "settings": self.settings, "engine_version": self.engine_version,
        }
        if arrays:
            d["loss_curves"] = [[None if math.isnan(v) else float(v) for v in row] for row in self.loss_curves]
            d["latent"] = self.latent.tolist()
        return d


CancelFlag = threading.Event | Callable[[], bool] | None
Callback = Callable[[StepReport], None] | None


def latin_hypercube(n: int, dim: int, seed: int) -> np.ndarray:
    """n points in [−1, 1]^dim from a seeded Latin hypercube; float64 (n, dim)."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=dim, seed=np.random.default_rng(seed)).random(n) * 2.0 - 1.0


class _Adam:
    """Element-wise Adam (same update as torch.optim.Adam) whose state rows can be dropped."""

    def __init__(self, params: list[torch.Tensor], betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params, self.betas, self.eps, self.t = params, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def step(self, lr: float) -> None:
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                g = p.grad
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v.sqrt() / math.sqrt(bc2)).add_(self.eps)
                p.addcdiv_(m, denom, value=-lr / bc1)

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only these rows (dim 0) of every parameter and its state."""
        for lst in (self.params, self.m, self.v):
            for i, t in enumerate(lst):
                lst[i] = t.detach()[rows].clone()
        for p in self.params:
            p.requires_grad_(True)


def _is_cancelled(cancel: CancelFlag) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def attribute(generator: torch.nn.Module, scheme: Scheme, images: Sequence[np.ndarray] | np.ndarray, *,
              settings: AttributionSettings = AttributionSettings(), device: torch.device | str | None = None,
              callback: Callback = None, cancel: CancelFlag = None,
              loss: ImageLoss | None = None,
              jpeg: Sequence[JpegGrid | None] | None = None) -> list[AttributionResult]:
    """Invert the generator for each image and decode its key.

    images: uint8 (H, W, 3) each, at the generator's resolution (casework resizes evidence).
    callback receives a StepReport per image per step; cancel (Event or callable) is checked
    between steps and raises AttributionCancelled. jpeg: the JPEG grid of each image's evidence
    file (None where there is none); with ``settings.jpeg_model`` and the pixel loss, those
    images are compared through their grid (engine/jpeg.py). Returns one result per image, in order.
    """
    settings.validate()
    dev = torch.device(device) if device is not None else generator.device
    if generator.device != dev:
        raise LFPError(f"the generator is on {generator.device}, not on the requested device {dev}")
    size = generator.config.size
    arr = np.stack([np.asarray(im) for im in images]) if len(images) else np.zeros((0, size, size, 3), np.uint8)
    if arr.ndim != 4 or arr.shape[1:] != (size, size, 3) or arr.dtype != np.uint8:
        raise LFPError(f"images must be uint8 {size}×{size}×3 for this generator, got {arr.dtype} {arr.shape[1:]}")
    if scheme.latent_dim != generator.config.style_dim:
        raise LFPError(f"the scheme's latent dimension {scheme.latent_dim} does not match the "
                       f"generator's {generator.config.style_dim}")
    if len(arr) == 0:
        return []
    loss_fn = loss or make_loss(settings.loss, settings.lpips_backbone, device=dev)
    if jpeg is not None and len(jpeg) != len(arr):
        raise LFPError(f"{len(jpeg)} JPEG grids for {len(arr)} images")
    grids = [g if g is not None and g.fits(size, size) else None for g in (jpeg or [])]
    if settings.jpeg_model and loss_fn.name == "pixel" and any(g is not None for g in grids):
        loss_fn = JpegAwareLoss(grids, loss_fn)
    return _Inversion(generator, scheme, arr, settings, dev, loss_fn, callback, cancel).run()


_MAX_POLISH_COORDINATES = 2048  # larger latents (an LDM's) keep Adam's result


class _Inversion:
    """State of one batched run: rows are (image, start) pairs still being optimised."""

    def __init__(self, generator: Any, scheme: Scheme, images: np.ndarray, settings: AttributionSettings,
                 device: torch.device, loss_fn: ImageLoss, callback: Callback, cancel: CancelFlag):
        self.g, self.scheme, self.s, self.dev = generator, scheme, settings, device
        self.loss_fn, self.callback, self.cancel = loss_fn, callback, cancel
        self.m, self.n = len(images), settings.starts
        basis = scheme.torch_basis(device)
        self.mean, self.V, self.U, self.free_std = basis["mean"], basis["V"], basis["U"], basis["free_stds"]
        self.targets = from_uint8(images, device)
        self.loss_fn.prepare(self.targets)
        k, free = scheme.key_len, self.U.shape[0]
        # Same starts for every image, whatever its place in the batch: a verdict never depends
        # on which other images were attributed with it.
        alpha0 = np.tile(latin_hypercube(self.n, free, settings.seed), (self.m, 1))
        self.alpha_scale = self.free_std if settings.normalise_coordinates else torch.ones_like(self.free_std)
        alpha0 = alpha0 * settings.init_range * (1.0 if settings.normalise_coordinates else scheme.free_stds[None, :])
        self.alpha = torch.as_tensor(alpha0, dtype=torch.float32, device=device).requires_grad_(True)
        self.kappa = torch.zeros(self.m * self.n, k, device=device, requires_grad=True)
        params = [self.alpha, self.kappa]
        if settings.blur_radius > 0:
            params.append(initial_logits(self.m * self.n, settings.blur_radius, device).requires_grad_(True))
        self.row_image = torch.arange(self.m, device=device).repeat_interleave(self.n)
        self.row_start = torch.arange(self.n, device=device).repeat(self.m)
        self.opt = _Adam(params)
        self.curves = np.full((settings.steps, self.m, self.n), np.nan, dtype=np.float32)
        self.final_loss = np.full((self.m, self.n), np.inf)
        self.final_kappa = np.zeros((self.m, self.n, k), dtype=np.float64)
        self.final_alpha = np.zeros((self.m, self.n, free), dtype=np.float64)
        self.final_blur = np.zeros((self.m, self.n, settings.blur_radius + 1), dtype=np.float64)
        self.finished = np.zeros((self.m, self.n), dtype=bool)  # ran to the end (not pruned)
        self.steps_run = np.zeros(self.m, dtype=np.int64)
        self.polish_iterations = np.zeros((self.m, self.n), dtype=np.int64)
        self._can_polish = True
        self.best_hist: list[list[tuple[float, bytes, float]]] = [[] for _ in range(self.m)]
        self.t0 = time.perf_counter()
        self.seconds = np.zeros(self.m)

    def w_hat(self, alpha: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
        """ŵ from the optimised coordinates (α possibly in std units) and key logits."""
        return self.w_from_probs(alpha, torch.sigmoid(kappa))

    def w_from_probs(self, alpha: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        coef = self.scheme.encode_soft(probs)
        return self.mean + (alpha * self.alpha_scale) @ self.U + self.scheme.sigma * (coef @ self.V)

    def penalty(self, alpha: torch.Tensor) -> torch.Tensor:
        """λ Σ relu(|α_j| − 3 s_j) per row (α as optimised)."""
        bound = self.s.penalty_bound * self.free_std
        alpha = alpha * self.alpha_scale
        return self.s.penalty * (torch.relu(alpha - bound) + torch.relu(-bound - alpha)).sum(-1)

    def degrade(self, images: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
        """The evidence model in front of the loss: the 8-bit range clip every evidence file went
        through (a saturated pixel says only "at least white"), then each start's learnt blur."""
        if self.s.clip_output:
            images = images.clamp(-1.0, 1.0)
        if len(params) < 3:
            return images
        return blur_rows(images, symmetric_kernels(params[2]))

    def row_losses(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(total per row incl. penalty, distance per row) for the current parameters."""
        images = self.degrade(self.g.synthesis(self.w_hat(self.alpha, self.kappa)), self.opt.params)
        dist = self.loss_fn(images, self.row_image)
        return dist + self.penalty(self.alpha), dist

    def run(self) -> list[AttributionResult]:
        for step in range(self.s.steps):
            if _is_cancelled(self.cancel):
                raise AttributionCancelled("attribution was cancelled")
            total, _ = self.row_losses()
            for p in self.opt.params:
                p.grad = None
            total.sum().backward()
            # Losses are those of the parameters before this update (as a sequential loop reports).
            self._record(step, total.detach())
            self.opt.step(self.s.lr * math.exp(-self.s.lr_decay * (step + 1)))
            self.alpha, self.kappa = self.opt.params[:2]
            last = step == self.s.steps - 1
            keep = self._prune(step, last)
            if keep is not None:
                if keep.numel() == 0:
                    break
                self._keep(keep)
        return [self._result(i) for i in range(self.m)]

    def _record(self, step: int, total: torch.Tensor) -> None:
        vals = total.cpu().numpy().astype(np.float64)
        img = self.row_image.cpu().numpy()
        st = self.row_start.cpu().numpy()
        self.curves[step, img, st] = vals
        self.final_loss[img, st] = vals
        # κ/α of the parameters that produced these losses (before the update).
        self.final_kappa[img, st] = self.kappa.detach().double().cpu().numpy()
        self.final_alpha[img, st] = self.alpha.detach().double().cpu().numpy()
        if len(self.opt.params) > 2:
            self.final_blur[img, st] = self.opt.params[2].detach().double().cpu().numpy()
        for i in np.unique(img):
            self.steps_run[i] = step + 1
            rows = img == i
            best_local = int(np.argmin(np.where(rows, vals, np.inf)))
            b = int(st[best_local])
            probs = 1.0 / (1.0 + np.exp(-self.final_kappa[i, b]))
            self.best_hist[i].append((vals[best_local], np.packbits(probs > 0.5).tobytes(),
                                      float(np.abs(probs - 0.5).min())))
            self.seconds[i] = time.perf_counter() - self.t0
            if self.callback is not None:
                losses = self.curves[step, i].astype(np.float64)
                self.callback(StepReport(image_index=int(i), step=step + 1, losses=losses, best_start=b,
                                         best_loss=float(vals[best_local]), bit_probs=probs,
                                         active_starts=int(rows.sum()), done=False))

    def _settled(self, i: int, step: int) -> bool:
        s = self.s
        hist = self.best_hist[i]
        if not s.early_stopping or step + 1 < max(s.min_steps, s.patience + 1):
            return False
        window = hist[-(s.patience + 1):]
        if any(h[1] != window[-1][1] for h in window):
            return False
        old, new, conf = window[0][0], window[-1][0], window[-1][2]
        gain = old - new
        settle = s.settle_confidence_blurred if s.blur_radius > 0 else s.settle_confidence
        return ((conf >= settle and gain <= s.settle_loss_tol * abs(old))
                or gain <= s.rel_tol * abs(old))

    def _prune(self, step: int, last: bool) -> torch.Tensor | None:
        """Rows to keep after this step, or None to keep all."""
        img = self.row_image.cpu().numpy()
        st = self.row_start.cpu().numpy()
        keep = np.ones(len(img), dtype=bool)
        done_images = []
        for i in np.unique(img):
            rows = np.flatnonzero(img == i)
            if last or self._settled(i, step):
                keep[rows] = False
                self.finished[i, st[rows]] = True
                done_images.append(i)
                continue
            if step + 1 in self.s.halving_steps and len(rows) > self.s.min_survivors:
                n_keep = max(self.s.min_survivors, math.ceil(len(rows) / 2))
                order = rows[np.argsort(self.final_loss[i, st[rows]], kind="stable")]
                keep[order[n_keep:]] = False
        for i in done_images:
            self._polish(i, st[img == i])
            self.seconds[i] = time.perf_counter() - self.t0
        if self.callback is not None:
            for i in done_images:
                b = int(np.argmin(self.final_loss[i]))
                probs = 1.0 / (1.0 + np.exp(-self.final_kappa[i, b]))
                self.callback(StepReport(image_index=int(i), step=step + 1, losses=self.curves[step, i].astype(np.float64),
                                         best_start=b, best_loss=float(self.final_loss[i, b]), bit_probs=probs,
                                         active_starts=0, done=True))
        if keep.all():
            return None
        return torch.as_tensor(np.flatnonzero(keep), device=self.dev)

    def _polish(self, i: int, starts: np.ndarray) -> None:
        """Levenberg–Marquardt on the best ``polish_starts`` of image i's finishing starts;
        their stored state and final loss become the polished ones."""
        s = self.s
        free = self.U.shape[0]
        if (s.polish_iterations == 0 or self.loss_fn.name != "pixel" or self.loss_fn.uses_grid(i)
                or not self._can_polish or free + self.scheme.key_len > _MAX_POLISH_COORDINATES):
            return
        target = self.targets[i]
        eps = 1e-4
        for b in starts[np.argsort(self.final_loss[i, starts], kind="stable")][:s.polish_starts]:
            kernel = None
            if s.blur_radius > 0:
                kernel = symmetric_kernels(torch.as_tensor(self.final_blur[i, b][None], dtype=torch.float32,
                                                           device=self.dev))

            def seen(theta: torch.Tensor, kernel: torch.Tensor | None = kernel) -> torch.Tensor:
                img = self.g.synthesis(self.w_from_probs(theta[:free], theta[free:])[None])
                img = img.clamp(-1.0, 1.0) if s.clip_output else img
                return img if kernel is None else blur_rows(img, kernel)

            def residual(theta: torch.Tensor) -> torch.Tensor:
                return (seen(theta) - target).flatten()

            def objective(theta: torch.Tensor) -> float:
                with torch.no_grad():
                    return float(residual(theta).square().mean() + self.penalty(theta[:free]))

            def project(theta: torch.Tensor) -> torch.Tensor:
                return torch.cat([theta[:free], theta[free:].clamp(eps, 1.0 - eps)])

            probs = 1.0 / (1.0 + np.exp(-self.final_kappa[i, b]))
            theta0 = torch.as_tensor(np.concatenate([self.final_alpha[i, b], probs]), dtype=torch.float32,
                                     device=self.dev)
            try:
                out = levenberg_marquardt(residual, objective, theta0, iterations=s.polish_iterations,
                                          project=project)
            except (NotImplementedError, RuntimeError):
                # A generator whose ops lack forward-mode AD keeps Adam's result.
                self._can_polish = False
                return
            if out.iterations == 0 or not out.objective < self.final_loss[i, b]:
                continue
            theta = out.theta.double().cpu().numpy()
            p = theta[free:]
            self.final_alpha[i, b] = theta[:free]
            self.final_kappa[i, b] = np.log(p) - np.log1p(-p)
            self.final_loss[i, b] = out.objective
            self.polish_iterations[i, b] = out.iterations

    def _keep(self, rows: torch.Tensor) -> None:
        self.opt.keep(rows)
        self.alpha, self.kappa = self.opt.params[:2]
        self.row_image = self.row_image[rows]
        self.row_start = self.row_start[rows]

    def _result(self, i: int) -> AttributionResult:
        b = int(np.argmin(self.final_loss[i]))
        kappa = self.final_kappa[i, b]
        probs = 1.0 / (1.0 + np.exp(-kappa))
        bits = (probs > 0.5).astype(np.uint8)
        finishers = np.flatnonzero(self.finished[i]) if self.finished[i].any() else np.arange(self.n)
        all_bits = (self.final_kappa[i, finishers] > 0).astype(np.uint8)
        agreement = (all_bits == bits[None, :]).mean(axis=0)
        with torch.no_grad():
            alpha = torch.as_tensor(self.final_alpha[i, b][None], dtype=torch.float32, device=self.dev)
            kap = torch.as_tensor(kappa[None], dtype=torch.float32, device=self.dev)
            w = self.w_hat(alpha, kap)
            recon = self.g.synthesis(w)
            blur = [torch.as_tensor(self.final_blur[i, b][None], dtype=torch.float32, device=self.dev)]
            extra = [alpha, kap] + blur if self.s.blur_radius > 0 else []
            seen = self.degrade(recon, extra)
            dist = float(self.loss_fn(seen, torch.tensor([i], device=self.dev)).item())
            kernel = symmetric_kernels(blur[0])[0].double().cpu().numpy() if extra else np.ones(1)
        steps = int(self.steps_run[i])
        return AttributionResult(
            bits=bits, bit_probs=probs, confidence=np.abs(probs - 0.5), agreement=agreement,
            winning_start=b, final_losses=self.final_loss[i].copy(), loss_curves=self.curves[:steps, i].copy(),
            reconstruction=to_uint8(recon)[0], reconstruction_distance=dist, latent=w[0].float().cpu().numpy(),
            blur_kernel=kernel, steps_run=steps, polish_iterations=int(self.polish_iterations[i, b]),
            seconds=float(self.seconds[i]), loss_name=self.loss_fn.image_loss_name(i), device=str(self.dev),
            settings=self.s.to_dict())


def with_settings(settings: AttributionSettings, **changes: Any) -> AttributionSettings:
    """A copy of settings with some fields changed (validated)."""
    new = replace(settings, **changes)
    new.validate()
    return new
