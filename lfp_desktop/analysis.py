"""One analysis call shared by the CLI, the desktop app and the scans:
fitted image(s) → attribution (engine) → decision against registered keys.

No Qt, no SQLite here: keys come as any object with ``packed``, ``names``, ``user_ids``
and ``key_len`` (the registry's KeySet has them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lfp_desktop.engine.attribution import (AttributionResult, AttributionSettings, CancelFlag, Callback,
                                            attribute)
from lfp_desktop.engine.jpeg_grid import JpegGrid
from lfp_desktop.engine.matching import Decision, DecisionPolicy, decide, pack_bits
from lfp_desktop.errors import LFPError


class KeySource(Protocol):
    packed: np.ndarray  # uint8 (N, ceil(K/8))
    names: list[str]
    user_ids: np.ndarray  # int64 (N,)
    key_len: int


@dataclass(frozen=True)
class PlainKeys:
    """Keys that do not come from a registry (a keys file, or a test)."""

    packed: np.ndarray
    names: list[str]
    user_ids: np.ndarray
    key_len: int

    @classmethod
    def from_bits(cls, bits: np.ndarray, names: Sequence[str] | None = None) -> "PlainKeys":
        bits = np.asarray(bits, dtype=np.uint8)
        n = bits.shape[0]
        return cls(packed=pack_bits(bits), names=list(names) if names is not None else [f"user{i}" for i in range(n)],
                   user_ids=np.arange(1, n + 1, dtype=np.int64), key_len=int(bits.shape[1]))


@dataclass(frozen=True)
class ModelContext:
    """A loaded (generator, scheme) pair and the keys it is matched against.

    generator: a StyleGAN2 Generator or an LDMGenerator (see engine.checkpoint.load_model).
    """

    generator: Any
    scheme: Any
    keys: KeySource | None = None
    name: str = "model"
    registry_digest: str = ""

    @property
    def model_kind(self) -> str:
        """'stylegan2' or 'ldm', as recorded in the scheme."""
        return str(getattr(self.scheme, "model_kind", "stylegan2"))

    def check(self) -> None:
        if self.scheme.checkpoint_sha256 != self.generator.sha256:
            raise LFPError(f"model '{self.name}': the scheme belongs to checkpoint "
                           f"{self.scheme.checkpoint_sha256[:16]}…, not {str(self.generator.sha256)[:16]}…")
        if self.keys is not None and self.keys.key_len != self.scheme.key_len:
            raise LFPError(f"model '{self.name}': the registry holds {self.keys.key_len}-bit keys but the "
                           f"scheme uses {self.scheme.key_len}-bit keys")


@dataclass(frozen=True)
class Analysis:
    """Attribution plus the decision (None when no keys were given)."""

    attribution: AttributionResult
    decision: Decision | None
    model_name: str
    checkpoint_sha256: str
    scheme_sha256: str
    registry_digest: str
    user_id: int | None
    user_name: str | None
    runner_up_name: str | None
    policy: DecisionPolicy
    model_kind: str = "stylegan2"

    @property
    def verdict(self) -> str:
        return self.decision.verdict.value if self.decision else "NOT MATCHED"

    def to_dict(self, *, arrays: bool = True) -> dict[str, Any]:
        """JSON-ready record: the attribution fields, the decision and every hash."""
        d = self.attribution.to_dict(arrays=arrays)
        d.update({"model": self.model_name, "model_kind": self.model_kind, "checkpoint_sha256": self.checkpoint_sha256,
                  "scheme_sha256": self.scheme_sha256, "registry_digest": self.registry_digest,
                  "verdict": self.verdict, "user_id": self.user_id, "user_name": self.user_name,
                  "target_fpr": self.policy.target_fpr, "min_margin": self.policy.min_margin})
        if self.decision is not None:
            m = self.decision.match
            d.update({"hamming_distance": m.distance, "runner_up_distance": m.runner_up_distance if m.runner_up_index >= 0 else None,
                      "runner_up_name": self.runner_up_name, "margin": m.margin if m.runner_up_index >= 0 else None,
                      "p_value": self.decision.p_value, "registry_size": m.n_keys, "key_len": self.attribution.bits.size,
                      "reasons": list(self.decision.reasons)})
            if self.policy.statistic != "hamming":
                d.update({"statistic": self.policy.statistic, "weighted_distance": m.score,
                          "runner_up_weighted_distance": m.runner_up_score,
                          "weight_total": int(round(m.mean_weight * self.attribution.bits.size)),
                          "margin_bits": round(m.score_margin_bits, 3) if m.runner_up_index >= 0 else None})
        return d


def analyse(ctx: ModelContext, images: Sequence[np.ndarray], *, settings: AttributionSettings = AttributionSettings(),
            policy: DecisionPolicy = DecisionPolicy(), callback: Callback = None,
            cancel: CancelFlag = None, jpeg: Sequence[JpegGrid | None] | None = None) -> list[Analysis]:
    """Attribute images (uint8 size×size×3, already fitted to the model) and decide each;
    ``jpeg``: each image's JPEG grid where its evidence file has one (EvidenceImage.grid_for)."""
    ctx.check()
    results = attribute(ctx.generator, ctx.scheme, images, settings=settings, callback=callback, cancel=cancel,
                        jpeg=jpeg)
    return [_decide(ctx, r, policy) for r in results]


def _decide(ctx: ModelContext, result: AttributionResult, policy: DecisionPolicy) -> Analysis:
    decision = user_id = user_name = runner = None
    if ctx.keys is not None:
        decision = decide(result.bits, ctx.keys.packed, ctx.keys.key_len, policy, confidence=result.confidence)
        m = decision.match
        if m.index >= 0:
            user_id, user_name = int(ctx.keys.user_ids[m.index]), ctx.keys.names[m.index]
        if m.runner_up_index >= 0:
            runner = ctx.keys.names[m.runner_up_index]
    return Analysis(attribution=result, decision=decision, model_name=ctx.name,
                    checkpoint_sha256=str(ctx.generator.sha256), scheme_sha256=ctx.scheme.sha256,
                    registry_digest=ctx.registry_digest, user_id=user_id, user_name=user_name,
                    runner_up_name=runner, policy=policy, model_kind=ctx.model_kind)
