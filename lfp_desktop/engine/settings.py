"""Settings of an attribution run (kept free of torch so the CLI and GUI can read them cheaply)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lfp_desktop.errors import LFPError

# How decoded keys are compared with registered ones (engine/matching.py): differing bits, or
# differing bits weighted by the confidence with which each was read.
STATISTICS = ("hamming", "weighted")


@dataclass(frozen=True)
class AttributionSettings:
    """Keyword settings of :func:`attribute`. ``reference()`` reproduces the published
    procedure (20 starts, 2000 steps, no pruning, no early stop)."""

    starts: int = 20
    steps: int = 2000
    lr: float = 0.2
    lr_decay: float = 0.001  # lr_i = lr · exp(−lr_decay · (i + 1))
    penalty: float = 0.1  # λ
    # Free coordinates beyond ±penalty_bound stds are penalised. The published code uses 3, but
    # a real mapping-network sample has some coordinate beyond 3 stds in about one image of
    # five, and there the penalty outweighs the image loss and pulls the search off the truth.
    penalty_bound: float = 5.0  # in stds of each U coordinate
    init_range: float = 1.0  # Latin hypercube over ± init_range stds
    # Optimise α in units of each coordinate's std (same loss, better-conditioned steps:
    # an Adam step then moves every coordinate by a similar fraction of its spread).
    normalise_coordinates: bool = True
    # Fit a symmetric blur kernel of this radius per start in front of the loss (0 = off),
    # for evidence that was blurred after generation.
    blur_radius: int = 0
    # Compare JPEG evidence through its file's quantisation grid (engine/jpeg.py) rather than
    # pixel by pixel; applies to images whose grid is passed to attribute().
    jpeg_model: bool = True
    clip_output: bool = True  # compare g(ŵ) clipped to the 8-bit range, as evidence is
    loss: str = "pixel"
    lpips_backbone: str = ""
    early_stopping: bool = True
    min_steps: int = 200  # never stop an image before this many steps
    patience: int = 40  # the best start's bits must stay unchanged this many steps, and then
    # either every bit is this far from ½ and the best loss improved by less than
    # settle_loss_tol of itself meanwhile (polishing then settles the remaining error) ...
    settle_confidence: float = 0.02
    # With the blur model on, the fit stays above the quantisation floor and polishing settles
    # weak bits less surely, so they must be clearer first.
    settle_confidence_blurred: float = 0.15
    settle_loss_tol: float = 1.0
    rel_tol: float = 5e-3  # ... or the best loss improved by less than this fraction meanwhile
    halving_steps: tuple[int, ...] = (10, 20, 40)  # keep the better half of starts at these steps
    min_survivors: int = 2
    # Levenberg–Marquardt steps on the best start(s) of an image once Adam is done (pixel loss
    # only; 0 = off): converges to the quantisation floor where Adam would need ~2000 steps.
    polish_iterations: int = 5
    polish_starts: int = 1
    seed: int = 0

    @classmethod
    def reference(cls, **kw: Any) -> "AttributionSettings":
        base = dict(early_stopping=False, halving_steps=(), normalise_coordinates=False, blur_radius=0,
                    clip_output=False, polish_iterations=0, penalty_bound=3.0, jpeg_model=False)
        base.update(kw)
        return cls(**base)

    def validate(self) -> None:
        if self.starts < 1 or self.steps < 1:
            raise LFPError("starts and steps must be at least 1")
        if not 0 <= self.blur_radius <= 12:
            raise LFPError("blur_radius must be between 0 (off) and 12 pixels")
        if self.polish_iterations < 0 or self.polish_starts < 1:
            raise LFPError("polish_iterations must be 0 (off) or more, and polish_starts at least 1")
        if self.lr <= 0 or self.penalty < 0 or self.penalty_bound <= 0 or self.init_range < 0:
            raise LFPError("lr and penalty_bound must be positive; penalty and init_range non-negative")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["halving_steps"] = list(self.halving_steps)
        return d
