"""Settings of a scan, built from the user's Settings exactly as the desktop app builds them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class ScanOptions:
    """``attribution``: engine AttributionSettings; ``policy``: DecisionPolicy; ``batch_size``:
    images per batch sent to one worker (1–1024)."""

    attribution: Any
    policy: Any
    batch_size: int = 4


def scan_options(settings: Any, *, batch_size: int | None = None, **attribution_changes: Any) -> ScanOptions:
    """Options from a :class:`lfp_desktop.config.Settings`, as the app runs its analyses
    (starts, steps, loss, early stopping, blur and JPEG models, key comparison, target false-attribution rate,
    images per job);
    ``attribution_changes`` override AttributionSettings fields (e.g. ``seed``)."""
    from lfp_desktop.engine.matching import DecisionPolicy
    from lfp_desktop.engine.settings import AttributionSettings
    from lfp_desktop.errors import LFPError

    kw = dict(starts=settings.starts, steps=settings.steps, loss=settings.loss,
              lpips_backbone=settings.lpips_backbone, blur_radius=settings.blur_radius)
    # The JPEG model belongs to the engine's evidence models; the reference procedure has none.
    attribution = (AttributionSettings(**kw, jpeg_model=settings.jpeg_model) if settings.early_stopping
                   else AttributionSettings.reference(**kw))
    if attribution_changes:
        attribution = replace(attribution, **attribution_changes)
    attribution.validate()
    size = settings.images_per_job if batch_size is None else batch_size
    if not 1 <= size <= 1024:
        raise LFPError(f"the batch size must be between 1 and 1024 images, not {size}")
    policy = DecisionPolicy(target_fpr=settings.target_fpr, statistic=settings.statistic)
    return ScanOptions(attribution=attribution, policy=policy, batch_size=int(size))
