"""The published procedure as a plain loop: each start alone at batch 1 with torch's Adam.

It is the baseline the batched engine is benchmarked and tested against; both use the
same Latin-hypercube starts, schedule and penalty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lfp_desktop.engine.attribution import AttributionSettings, latin_hypercube
from lfp_desktop.engine.images import from_uint8
from lfp_desktop.engine.losses import make_loss
from lfp_desktop.engine.scheme import Scheme


@dataclass(frozen=True)
class SequentialStart:
    losses: np.ndarray  # float64 (steps,) loss before each update
    kappa: np.ndarray  # float64 (K,) logits behind the last recorded loss
    alpha: np.ndarray  # float64 (d − K,)


def sequential_attribution(generator: torch.nn.Module, scheme: Scheme, image: np.ndarray, *,
                           settings: AttributionSettings, image_index: int = 0) -> list[SequentialStart]:
    """Run every start of one image one after another (no pruning, no early stop).

    ``image_index`` is kept for callers that number images; the starts do not depend on it.
    """
    dev = generator.device
    basis = scheme.torch_basis(dev)
    loss_fn = make_loss(settings.loss, settings.lpips_backbone, device=dev)
    loss_fn.prepare(from_uint8(image, dev))
    free = scheme.latent_dim - scheme.key_len
    starts = latin_hypercube(settings.starts, free, settings.seed)
    starts = starts * settings.init_range * scheme.free_stds[None, :]
    bound = settings.penalty_bound * basis["free_stds"]
    row = torch.zeros(1, dtype=torch.long, device=dev)
    out = []
    for j in range(settings.starts):
        alpha = torch.tensor(starts[j:j + 1], dtype=torch.float32, device=dev, requires_grad=True)
        kappa = torch.zeros(1, scheme.key_len, device=dev, requires_grad=True)
        opt = torch.optim.Adam([alpha, kappa], lr=settings.lr)
        losses = []
        for step in range(settings.steps):
            w = basis["mean"] + alpha @ basis["U"] + scheme.sigma * (scheme.encode_soft(torch.sigmoid(kappa)) @ basis["V"])
            dist = loss_fn(generator.synthesis(w), row)
            pen = (torch.relu(alpha - bound) + torch.relu(-bound - alpha)).sum(1)
            loss = (dist + settings.penalty * pen).sum()
            last_kappa, last_alpha = kappa.detach().clone(), alpha.detach().clone()
            opt.zero_grad()
            loss.backward()
            for group in opt.param_groups:
                group["lr"] = settings.lr * math.exp(-settings.lr_decay * (step + 1))
            opt.step()
            losses.append(loss.item())
        out.append(SequentialStart(np.array(losses), last_kappa[0].double().cpu().numpy(),
                                   last_alpha[0].double().cpu().numpy()))
    return out
